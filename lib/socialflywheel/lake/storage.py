"""Where files live: local folders and S3-compatible object stores behind one small interface.

Every engine spells object-store locations its own way (Spark's hadoop-aws wants ``s3a://``, delta-rs and
Sail take ``s3://`` and ``s3a://``, pyarrow wants ``bucket/key``); the lake and the landing folder are
configured once as a URI and translated here. Credentials and the endpoint come from the environment only
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``), never from config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    import pyarrow.fs as pa_fs

OBJECT_STORE_SCHEMES = ("s3", "s3a")


class StorageError(OSError):
    """A location that cannot be reached: one line naming the URI and the cause."""


def is_remote(uri: str) -> bool:
    """True for an object-store URI (``s3://``, ``s3a://``), False for a local path or ``file://``."""
    return urlparse(uri).scheme in OBJECT_STORE_SCHEMES


def join(uri: str, *parts: str) -> str:
    """``uri/part/part`` for both local paths and URIs (no normalisation of the parts)."""
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts if p)])


def endpoint() -> str | None:
    """The S3 endpoint from the environment (an S3-compatible server), or None for AWS itself."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def endpoint_settings() -> dict[str, str]:
    """What the S3 clients of delta-rs and Sail need beyond credentials for the environment's endpoint.

    A plain-HTTP endpoint (a test or on-premises server) must be allowed explicitly, or both refuse it.
    """
    url = endpoint()
    return {"AWS_ALLOW_HTTP": "true"} if url and url.startswith("http://") else {}


def delta_options(uri: str, configured: dict[str, str] | None = None) -> dict[str, str] | None:
    """delta-rs storage options for ``uri``: the configured ones plus what the environment's endpoint needs.

    delta-rs reads credentials from the environment itself. None when there are no options.
    """
    options = dict(configured or {})
    if is_remote(uri):
        options = {**endpoint_settings(), **options}
    return options or None


@dataclass(frozen=True)
class Location:
    """A pyarrow filesystem and the path of a URI inside it."""

    fs: pa_fs.FileSystem
    path: str
    uri: str

    def child_uri(self, path: str) -> str:
        """The URI of ``path`` (a path inside ``fs``, as ``get_file_info`` returns it)."""
        if is_remote(self.uri):
            scheme = urlparse(self.uri).scheme
            return f"{scheme}://{path}"
        return Path(path).as_uri()


def locate(uri: str) -> Location:
    """The pyarrow filesystem serving ``uri`` (S3 with the environment's endpoint, or the local disk)."""
    import pyarrow.fs as pa_fs

    parsed = urlparse(uri)
    if parsed.scheme in OBJECT_STORE_SCHEMES:
        url = endpoint()
        kwargs: dict[str, object] = {}
        if url:
            ep = urlparse(url)
            kwargs |= {"endpoint_override": ep.netloc, "scheme": ep.scheme or "https"}
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            kwargs["region"] = region
        fs = pa_fs.S3FileSystem(**kwargs)
        return Location(fs, f"{parsed.netloc}{parsed.path}".rstrip("/"), uri)
    if parsed.scheme == "file":
        return Location(pa_fs.LocalFileSystem(), parsed.path, uri)
    if parsed.scheme:
        raise StorageError(f"{uri}: unsupported scheme {parsed.scheme!r}; use a local path, file://, s3:// or s3a://")
    return Location(pa_fs.LocalFileSystem(), str(Path(uri).expanduser().resolve()), uri)


def probe(uri: str, *, what: str, must_exist: bool) -> bool:
    """Check that ``uri`` can be reached (and exists when ``must_exist``); raise one clear line if not.

    Returns:
        Whether the location exists.
    """
    import pyarrow.fs as pa_fs

    loc = locate(uri)
    try:
        info = loc.fs.get_file_info(loc.path)
        if is_remote(uri) and info.type == pa_fs.FileType.NotFound:
            # An S3 "folder" is only a key prefix: look for any key under it, and for the bucket itself.
            bucket = loc.path.split("/", 1)[0]
            if loc.fs.get_file_info(bucket).type == pa_fs.FileType.NotFound:
                raise StorageError(
                    f"{what} {uri}: bucket {bucket!r} does not exist (or these credentials cannot see it)"
                )
    except StorageError:
        raise
    except OSError as exc:
        cause = " ".join(str(exc).split())
        raise StorageError(f"{what} {uri} cannot be reached: {cause}") from None
    exists: bool = info.type != pa_fs.FileType.NotFound
    if must_exist and not exists:
        raise StorageError(f"{what} {uri} does not exist; check the URI (or create it) and run again")
    return exists


def remove_tree(uri: str) -> None:
    """Delete a folder or key prefix and everything under it; a missing one is not an error."""
    import pyarrow.fs as pa_fs

    loc = locate(uri)
    try:
        if loc.fs.get_file_info(loc.path).type != pa_fs.FileType.NotFound:
            loc.fs.delete_dir(loc.path)
    except FileNotFoundError:
        pass
