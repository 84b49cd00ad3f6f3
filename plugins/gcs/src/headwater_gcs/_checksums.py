"""GCS checksums of local files, to tell an unchanged file from a changed one without downloading it."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

__all__ = ["local_matches"]


def local_matches(path: Path, size: int, remote: dict[str, Any]) -> bool:
    """Whether the local file has the remote object's size and checksum (CRC32C, else MD5)."""
    if int(remote.get("size", -1)) != size:
        return False
    if remote.get("crc32c"):
        import google_crc32c

        checksum = google_crc32c.Checksum()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                checksum.update(chunk)
        return base64.b64encode(checksum.digest()).decode() == remote["crc32c"]
    if remote.get("md5Hash"):
        digest = hashlib.md5()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
        return base64.b64encode(digest.digest()).decode() == remote["md5Hash"]
    return False
