"""LocalFileSystem keeps the object-storage contract the cloud blocks keep (core's ObjectStorageSuite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from headwater import LocalFileSystem
from headwater.testing import ObjectStorageSuite


class TestLocalFileSystemStorage(ObjectStorageSuite):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> LocalFileSystem:
        return LocalFileSystem(basepath=str(tmp_path / "store"))

    def stored(self, storage: LocalFileSystem, key: str) -> bytes | None:
        path = Path(storage.basepath or ".") / key
        return path.read_bytes() if path.is_file() else None
