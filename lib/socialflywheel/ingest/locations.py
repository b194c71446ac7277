"""Where a landing file is, as each engine names it: to hand it to ``load`` and to know it again in a parse task."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.ingest.landing import LandingFile


def engine_key(uri: str) -> str:
    """The path alone of a file's location as an engine spells it, without scheme or bucket.

    Engines spell a location differently (file:///x, file:/x, /x, s3a://bucket/k, k): Sail's binaryFile gives a
    local path or an object's key without the bucket, Spark the whole URI, both without percent-encoding, so
    nothing is decoded here and ``#`` or ``?`` in a name stay part of it.
    """
    scheme, sep, rest = uri.partition("://")
    if sep and "/" not in scheme:
        path = rest.partition("/")[2]
    elif uri.startswith("file:"):
        path = uri[len("file:") :]
    else:
        path = uri
    return path.lstrip("/")


_GLOB = re.compile(r"([\\{}\[\]*?])")
_PERCENT_ESCAPE = re.compile(r"%(?=[0-9A-Fa-f]{2})")


def is_jvm_session(spark: SparkSession) -> bool:
    """Whether the session is classic JVM Spark (a Spark Connect client, Sail's included, is not)."""
    return not type(spark).__module__.startswith("pyspark.sql.connect")


def engine_location(uri: str, *, jvm: bool) -> str:
    r"""How to name one landing file to the engine's ``load``.

    Spark Connect engines (Sail) take our URIs as they are. JVM Spark builds a Hadoop ``Path`` from the string,
    which percent-encodes what it needs itself but never decodes our escapes (``date%3D2026-10-01`` is a folder it
    does not find), and expands glob characters: it gets the decoded path with ``\ { } [ ] * ?`` escaped and the
    ``%`` of a ``%XX`` as the glob class ``[%]``.
    """
    if not jvm:
        return uri
    if uri.startswith("file:"):
        scheme, path = "file://", unquote(urlparse(uri).path)
    else:
        scheme, sep, rest = uri.partition("://")
        scheme, path = scheme + sep, rest
    # A "%XX" would be decoded by Hadoop's path (a%41b -> aAb): as the glob class "[%]" it names the '%' itself.
    return scheme + _PERCENT_ESCAPE.sub("[%]", _GLOB.sub(r"\\\1", path))


def file_key(f: LandingFile) -> str:
    """The key :func:`engine_key` gives for one of our files (our local URIs are percent-encoded)."""
    if f.uri.startswith("file:"):
        return unquote(urlparse(f.uri).path).lstrip("/")
    return engine_key(f.uri)
