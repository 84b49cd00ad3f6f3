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

        return _digest_b64(path, google_crc32c.Checksum()) == remote["crc32c"]
    if remote.get("md5Hash"):
        return _digest_b64(path, hashlib.md5()) == remote["md5Hash"]
    return False


def _digest_b64(path: Path, digest: Any) -> str:
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()
