"""One writing job at a time on an object-store lake: a lease object created with a conditional PUT.

Delta's optimistic concurrency needs the store to refuse a second writer of the same log entry. A local disk
does (atomic rename); S3 does not for delta-spark, whose default S3 log store assumes a single driver: two
drivers committing at once can both write version N, and one commit is lost. Delta's DynamoDB log store is
the usual fix, but its jar is not on Maven Central for Delta 4.0. So this project takes the single-writer
rule: a writing job holds ``<lake>/_locks/writer.json``, created with ``If-None-Match: *`` (S3 refuses the
second creator), renewed while the job runs, and deleted at the end. A second job waits for it; a lease
whose holder died is taken over when it expires, or at once when the holder was a process on this host
that no longer exists.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from socialflywheel.lake.storage import endpoint

log = logging.getLogger(__name__)

LEASE_KEY = "_locks/writer.json"


class LeaseTimeout(RuntimeError):
    """Another job held the lake's writer lease for longer than this one would wait."""


@dataclass(frozen=True)
class Holder:
    """The lease's holder as ``writer.json`` records it: its token, job, host and pid, and when the lease expires."""

    token: str
    job: str
    host: str
    pid: int
    expires: float

    def dead_here(self) -> bool:
        """The holder ran on this host and its process is gone (killed): its lease can go now."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def _client() -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint())


def _split(lake_root: str) -> tuple[str, str]:
    parsed = urlparse(lake_root)
    prefix = parsed.path.strip("/")
    return parsed.netloc, f"{prefix}/{LEASE_KEY}" if prefix else LEASE_KEY


def _status(exc: Exception) -> int:
    return int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class _Lease:
    def __init__(self, lake_root: str, *, job: str, ttl_s: float) -> None:
        self.bucket, self.key = _split(lake_root)
        self.client = _client()
        self.ttl_s = ttl_s
        self.job = job
        self.token = uuid.uuid4().hex
        self.etag: str | None = None

    def _body(self) -> bytes:
        holder = {"token": self.token, "job": self.job, "host": socket.gethostname(), "pid": os.getpid()}
        return json.dumps({**holder, "expires": time.time() + self.ttl_s}).encode()

    def _put(self, **condition: str) -> bool:
        """PUT the lease under a condition; False when the store refused it (someone else got there first)."""
        try:
            out = self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(), **condition)
        except Exception as exc:
            if _status(exc) in (409, 412):  # PreconditionFailed / ConditionalRequestConflict
                return False
            raise
        self.etag = out["ETag"]
        return True

    def current(self) -> tuple[Holder, str] | None:
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise
        return Holder(**json.loads(got["Body"].read())), got["ETag"]

    def try_acquire(self) -> Holder | None:
        """Take the lease; return None when taken, else the holder that has it."""
        if self._put(IfNoneMatch="*"):
            return None
        found = self.current()
        if found is None:
            return self.try_acquire()
        holder, etag = found
        if holder.expires < time.time() or holder.dead_here():
            log.warning("writer lease of %s (pid %d on %s) is stale: taken over", holder.job, holder.pid, holder.host)
            if self._put(IfMatch=etag):
                return None
        return holder

    def renew(self) -> bool:
        return self.etag is not None and self._put(IfMatch=self.etag)

    def release(self) -> None:
        found = self.current()
        if found is not None and found[0].token == self.token:
            self.client.delete_object(Bucket=self.bucket, Key=self.key)


@contextmanager
def writer_lease(lake_root: str, *, job: str, ttl_s: float = 120.0, wait_s: float = 3600.0) -> Iterator[None]:
    """Hold the lake's writer lease for the duration of a job (renewed every ``ttl_s / 3`` seconds).

    Raises:
        LeaseTimeout: another job held it for more than ``wait_s`` seconds.
    """
    lease = _Lease(lake_root, job=job, ttl_s=ttl_s)
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while (holder := lease.try_acquire()) is not None:
        if time.monotonic() > deadline:
            raise LeaseTimeout(
                f"lake {lake_root}: the writer lease is held by {holder.job} (pid {holder.pid} on {holder.host}) "
                f"for more than {wait_s:.0f} s; wait for it to finish, or delete {LEASE_KEY} if it is gone"
            )
        log.info("lake %s: %s waits for %s (pid %d on %s)", lake_root, job, holder.job, holder.pid, holder.host)
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 5.0)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(ttl_s / 3):
            if not lease.renew():
                log.error("lake %s: the writer lease of %s was lost", lake_root, job)
                return

    beat = threading.Thread(target=heartbeat, name="lake-writer-lease", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(5)
        lease.release()


LOCK_FILE = "_locks/writer.lock"


@contextmanager
def local_writer_lock(lake_root: str, *, job: str, wait_s: float = 3600.0) -> Iterator[None]:
    """One writing job at a time on a local lake: an exclusive ``flock`` on ``<lake>/_locks/writer.lock``.

    Delta's atomic rename keeps each commit whole, but not a job's sequence of them: two ingests that both
    found bronze missing each wrote the batch (#16). The kernel drops the lock when its holder exits, killed
    or not, so a dead holder never blocks the next job. Not re-entrant: jobs run one after another, never nested.

    Raises:
        LeaseTimeout: another job held the lock for more than ``wait_s`` seconds.
    """
    import fcntl
    from pathlib import Path

    path = Path(lake_root) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        deadline = time.monotonic() + wait_s
        announced = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another job"
                if time.monotonic() > deadline:
                    raise LeaseTimeout(
                        f"lake {lake_root}: {holder} has held the writer lock ({LOCK_FILE}) for more than "
                        f"{wait_s:.0f} s; wait for it to finish (the lock goes with its process)"
                    ) from None
                if not announced:
                    log.info("lake %s: %s waits for %s", lake_root, job, holder)
                    announced = True
                time.sleep(0.1 + 0.2 * random.random())
        fh.seek(0)
        fh.truncate()
        fh.write(f"{job} (pid {os.getpid()} on {socket.gethostname()})")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
