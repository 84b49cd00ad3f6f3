"""``ObjectStorageSuite``: the contract every object-storage block (LocalFileSystem, S3Bucket,
GcsBucket, ...) keeps, checked against the real backend.

Subclass it once per block and backend, with two things: a ``storage`` fixture returning a
block on a fresh, empty folder or bucket, and :meth:`ObjectStorageSuite.stored` reading an
object's bytes straight from the backend (not through the block), so that every test checks
what is really stored::

    class TestS3BucketStorage(ObjectStorageSuite):
        @pytest.fixture
        def storage(self, s3_server):
            return S3Bucket(bucket_name=s3_server.create_bucket(), credentials=...)

        def stored(self, storage, key):
            return s3_server.read_object(storage.bucket_name, key)
"""

from __future__ import annotations

import asyncio
import io
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from headwater.blocks.core import Block
from headwater.blocks.object_storage import ObjectStorage, join_key
from headwater.errors import ObjectNotFoundError, StorageError

__all__ = ["ObjectStorageSuite"]


def _tree(root: Path, files: int = 7) -> dict[str, bytes]:
    contents = {}
    for i in range(files):
        rel = f"d{i % 3}/sub{i % 2}/f{i}.bin" if i % 4 else f"top{i}.bin"
        data = os.urandom(200 + i)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        contents[rel] = data
    return contents


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class ObjectStorageSuite:
    """Base class of per-backend object-storage contract tests (see the module docstring)."""

    folder: str = ""
    """The block's base folder inside the bucket, which keys returned by upload methods include."""

    def full(self, key: str) -> str:
        """``key`` as upload methods return it (with :attr:`folder`)."""
        return join_key(self.folder, key)

    @pytest.fixture
    def storage(self) -> ObjectStorage:
        raise NotImplementedError("subclasses return a block on a fresh, empty folder or bucket")

    def stored(self, storage: ObjectStorage, key: str) -> bytes | None:
        """The bytes stored under ``key`` (relative to the block's base), read from the backend
        without the block; None if there is no such object."""
        raise NotImplementedError("subclasses read the backend directly")

    def test_write_read_and_list(self, storage: ObjectStorage) -> None:
        storage.write_path("a/b.txt", b"hello")
        assert self.stored(storage, "a/b.txt") == b"hello"
        assert storage.read_path("a/b.txt") == b"hello"
        [obj] = storage.list_objects()
        assert obj["key"] == "a/b.txt" and obj["size"] == 5
        assert isinstance(obj["last_modified"], datetime) and obj["last_modified"].utcoffset() is not None
        assert storage.list_objects("nothing-here") == []

    def test_missing_object_is_not_found_and_leaves_no_file(self, storage: ObjectStorage, tmp_path: Path) -> None:
        with pytest.raises(ObjectNotFoundError):
            storage.read_path("no/such.txt")
        with pytest.raises(ObjectNotFoundError):
            storage.download_object_to_path("no/such.txt", tmp_path / "out" / "x.txt")
        assert not (tmp_path / "out" / "x.txt").exists()

    def test_paths_above_the_base_are_refused(self, storage: ObjectStorage, tmp_path: Path) -> None:
        source = tmp_path / "f.txt"
        source.write_bytes(b"x")
        with pytest.raises(StorageError, match="outside"):
            storage.write_path("../escape.txt", b"x")
        with pytest.raises(StorageError, match="outside"):
            storage.upload_from_path(source, "a/../../f.txt")
        with pytest.raises(StorageError, match="outside"):
            storage.read_path("a/../../x")
        assert storage.list_objects() == []
        storage.write_path("a/../b.txt", b"ok")
        assert self.stored(storage, "b.txt") == b"ok"

    def test_files_and_file_objects(self, storage: ObjectStorage, tmp_path: Path) -> None:
        storage.upload_from_file_object(io.BytesIO(b"abc"), "f/obj.bin")
        assert self.stored(storage, "f/obj.bin") == b"abc"
        sink = io.BytesIO()
        assert storage.download_object_to_file_object("f/obj.bin", sink) is sink
        assert sink.getvalue() == b"abc"
        local = tmp_path / "local.bin"
        local.write_bytes(b"xyz")
        storage.upload_from_path(local, "f/local.bin")
        assert self.stored(storage, "f/local.bin") == b"xyz"
        assert Path(storage.download_object_to_path("f/local.bin", tmp_path / "back" / "b.bin")).read_bytes() == b"xyz"

    def test_folder_round_trip(self, storage: ObjectStorage, tmp_path: Path) -> None:
        contents = _tree(tmp_path / "src")
        assert storage.upload_from_folder(tmp_path / "src", "run") == self.full("run")
        assert sorted(o["key"] for o in storage.list_objects("run")) == sorted(f"run/{k}" for k in contents)
        assert all(self.stored(storage, f"run/{k}") == v for k, v in contents.items())
        out = storage.download_folder_to_path("run", tmp_path / "dst")
        assert _read_tree(Path(out)) == contents
        assert _read_tree(Path(storage.get_directory("run", tmp_path / "gd"))) == contents

    def test_upload_of_an_empty_folder_returns_none(self, storage: ObjectStorage, tmp_path: Path) -> None:
        (tmp_path / "empty").mkdir()
        assert storage.upload_from_folder(tmp_path / "empty", "e") is None
        assert storage.list_objects() == []

    def test_skip_unchanged_uploads_what_changed(self, storage: ObjectStorage, tmp_path: Path) -> None:
        contents = _tree(tmp_path / "src", files=4)
        storage.upload_from_folder(tmp_path / "src", "s")
        changed = next(iter(contents))
        data = bytearray(contents[changed])
        data[0] ^= 0xFF  # same size, other content: only the checksum tells
        (tmp_path / "src" / changed).write_bytes(bytes(data))
        assert storage.upload_from_folder(tmp_path / "src", "s", skip_unchanged=True) == self.full("s")
        assert self.stored(storage, f"s/{changed}") == bytes(data)
        assert all(self.stored(storage, f"s/{k}") == v for k, v in contents.items() if k != changed)

    def test_ignore_file_follows_gitignore_rules(self, storage: ObjectStorage, tmp_path: Path) -> None:
        src = tmp_path / "proj"
        files = ["top.txt", "keep.log", "app.log", "deep/sub/e.py", "deep/__pycache__/x.pyc", "deep/main.py",
                 "docs/a.md", "docs/nested/b.md", "notes/top.txt", "sub"]
        for rel in files:
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_text(rel)
        ignore = tmp_path / ".hwignore"
        ignore.write_text("# comment\n\nsub/\n__pycache__\n/top.txt\n*.log\n!keep.log\ndocs/*.md\n")
        assert storage.put_directory(str(src), "up", ignore_file=str(ignore)) == 5
        uploaded = sorted(o["key"].removeprefix("up/") for o in storage.list_objects("up"))
        # sub/ is a folder pattern (the file named "sub" stays); /top.txt only at the root;
        # docs/*.md does not reach docs/nested/b.md, as in git.
        assert uploaded == ["deep/main.py", "docs/nested/b.md", "keep.log", "notes/top.txt", "sub"]

    def test_async_twins(self, storage: ObjectStorage, tmp_path: Path) -> None:
        contents = _tree(tmp_path / "src", files=3)

        async def scenario() -> bytes:
            await storage.awrite_path("x/a.txt", b"async")
            await storage.aupload_from_folder(tmp_path / "src", "f")
            await storage.adownload_folder_to_path("f", tmp_path / "dst")
            assert [o["key"] for o in await storage.alist_objects("x")] == ["x/a.txt"]
            return await storage.aread_path("x/a.txt")

        assert asyncio.run(scenario()) == b"async"
        assert self.stored(storage, "x/a.txt") == b"async"
        assert _read_tree(tmp_path / "dst") == contents

    def test_saved_block_loads_by_name_and_works(self, storage: ObjectStorage, headwater_home: Any) -> None:
        storage.save("raw")
        loaded = Block.load("raw")
        assert type(loaded) is type(storage)
        loaded.write_path("saved.txt", b"ok")
        assert self.stored(storage, "saved.txt") == b"ok"

    def test_one_flow_body_runs_on_it(self, storage: ObjectStorage, tmp_path: Path) -> None:
        def publish(target: ObjectStorage) -> bytes:
            (tmp_path / "in").mkdir(exist_ok=True)
            (tmp_path / "in" / "1.csv").write_text("x\n1\n")
            target.upload_from_folder(tmp_path / "in", "raw")
            [key] = [o["key"] for o in target.list_objects("raw")]
            target.write_path("out/report.txt", target.read_path(key).upper())
            return target.read_path("out/report.txt")

        assert publish(storage) == b"X\n1\n"
