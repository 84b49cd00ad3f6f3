"""S3 ETags of local files, to tell an unchanged file from a changed one without downloading it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["etag_matches", "multipart_etag"]


def _md5s(path: Path, part_size: int) -> list[bytes]:
    digests = []
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(part_size)
            if not chunk:
                break
            digests.append(hashlib.md5(chunk).digest())
    return digests or [hashlib.md5(b"").digest()]


def multipart_etag(path: Path, part_size: int) -> str:
    """The ETag S3 gives ``path`` uploaded in parts of ``part_size`` bytes: md5(part md5s)-N."""
    digests = _md5s(path, part_size)
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def etag_matches(path: Path, etag: str, part_sizes: Iterable[int]) -> bool:
    """Whether the local file has this ETag.

    A single-part ETag is the content's MD5. A multipart ETag (``"<md5>-<parts>"``) depends on
    the part size used by whoever uploaded it: each candidate in ``part_sizes`` with the right
    number of parts is tried. Anything else (e.g. SSE-KMS ETags) never matches, so the file is
    uploaded again rather than wrongly skipped.
    """
    etag = etag.strip('"')
    if "-" not in etag:
        digest = hashlib.md5()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
        return digest.hexdigest() == etag
    _, _, count = etag.rpartition("-")
    if not count.isdigit():
        return False
    size = path.stat().st_size
    tried: set[int] = set()
    for part_size in part_sizes:  # lazily: a later candidate may cost a request
        if part_size in tried or part_size <= 0:
            continue
        tried.add(part_size)
        if -(-size // part_size) == int(count) and multipart_etag(path, part_size) == etag:
            return True
    return False
