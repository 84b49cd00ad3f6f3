"""LocalFileSystem implements the object-storage interface the cloud blocks share."""

from __future__ import annotations

import asyncio
import io

import pytest
from headwater import Block, LocalFileSystem
from headwater.errors import ObjectNotFoundError, StorageError


@pytest.fixture
def fs(tmp_path):
    return LocalFileSystem(basepath=str(tmp_path / "store"))


def test_write_read_list(fs, tmp_path):
    fs.write_path("a/b.txt", b"hello")
    assert fs.read_path("a/b.txt") == b"hello"
    assert (tmp_path / "store/a/b.txt").read_bytes() == b"hello"
    listed = fs.list_objects()
    assert [o["key"] for o in listed] == ["a/b.txt"] and listed[0]["size"] == 5


def test_missing_object_and_escape_are_errors(fs):
    with pytest.raises(ObjectNotFoundError):
        fs.read_path("nope")
    with pytest.raises(StorageError, match="outside"):
        fs.write_path("../escape.txt", b"x")


def test_folder_round_trip_with_skip_unchanged_and_ignore(fs, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "one.csv").write_text("1")
    (src / "sub" / "two.csv").write_text("22")
    (src / "skip.tmp").write_text("x")
    ignore = tmp_path / ".hwignore"
    ignore.write_text("*.tmp\n")
    assert fs.put_directory(str(src), "up", ignore_file=str(ignore)) == 2
    assert sorted(o["key"] for o in fs.list_objects("up")) == ["up/one.csv", "up/sub/two.csv"]
    assert fs.upload_from_folder(src, "again", skip_unchanged=True) == "again"
    out = fs.download_folder_to_path("up", tmp_path / "down")
    assert (out / "sub" / "two.csv").read_text() == "22"


def test_file_objects_and_paths(fs, tmp_path):
    fs.upload_from_file_object(io.BytesIO(b"abc"), "f/obj.bin")
    sink = io.BytesIO()
    fs.download_object_to_file_object("f/obj.bin", sink)
    assert sink.getvalue() == b"abc"
    local = tmp_path / "local.bin"
    local.write_bytes(b"xyz")
    assert fs.upload_from_path(local, "f/local.bin") == "f/local.bin"
    assert fs.download_object_to_path("f/local.bin", tmp_path / "back.bin").read_bytes() == b"xyz"


def test_async_twins_and_swap_by_block_name(fs):
    fs.save("raw")
    storage = Block.load("raw")
    asyncio.run(storage.awrite_path("x.txt", b"async"))
    assert asyncio.run(storage.aread_path("x.txt")) == b"async"


def test_ignore_file_follows_gitignore_rules(fs, tmp_path):
    src = tmp_path / "proj"
    files = ["top.txt", "keep.log", "app.log", "deep/sub/e.py", "deep/__pycache__/x.pyc", "deep/main.py",
             "docs/a.md", "docs/nested/b.md", "notes/top.txt", "sub"]
    for rel in files:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rel)
    ignore = tmp_path / ".hwignore"
    ignore.write_text("# comment\n\nsub/\n__pycache__\n/top.txt\n*.log\n!keep.log\ndocs/*.md\n")
    fs.put_directory(str(src), "up", ignore_file=str(ignore))
    uploaded = sorted(o["key"].removeprefix("up/") for o in fs.list_objects("up"))
    # sub/ is a folder pattern (the file named "sub" stays); /top.txt only at the root;
    # docs/*.md does not reach docs/nested/b.md, as in git.
    assert uploaded == ["deep/main.py", "docs/nested/b.md", "keep.log", "notes/top.txt", "sub"]
