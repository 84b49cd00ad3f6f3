"""GcsBucket against a real fake-gcs-server: every interface method, checked on the server."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Any

import pytest
from headwater.errors import ConfigError, ObjectNotFoundError, StorageError
from headwater_gcs import GcpCredentials, GcsBucket

from .conftest import make_tree, read_tree


def test_bucket_folder_is_applied_exactly_once(gcs_bucket_name: str, gcp_credentials: GcpCredentials,
                                               gcs_server: Any, tmp_path: Path) -> None:
    block = GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials, bucket_folder="/base/")
    assert block.write_path("w.txt", b"w") == "base/w.txt"
    (tmp_path / "f.txt").write_bytes(b"f")
    assert block.upload_from_path(tmp_path / "f.txt", "p/f.txt") == "base/p/f.txt"
    assert block.upload_from_file_object(io.BytesIO(b"o"), "o.txt") == "base/o.txt"
    src = tmp_path / "src"
    make_tree(src, files=4)
    assert block.upload_from_folder(src, "tree") == "base/tree"
    names = gcs_server.object_names(gcs_bucket_name)
    assert names and all(n.startswith("base/") and not n.startswith("base/base") for n in names)
    assert {"base/w.txt", "base/p/f.txt", "base/o.txt"} <= set(names)
    keys = {o["key"] for o in block.list_objects()}
    assert {"w.txt", "p/f.txt", "o.txt"} <= keys
    for key in keys:
        assert block.read_path(key)  # keys from list_objects work with read_path
    out = block.download_folder_to_path("tree", tmp_path / "out")
    assert read_tree(out) == read_tree(src)
    assert block.download_object_to_path("w.txt", tmp_path / "w.txt").read_bytes() == b"w"
    assert [b.name for b in block.list_blobs("p")] == ["base/p/f.txt"]


def test_list_objects_fields(gcs_bucket: GcsBucket) -> None:
    gcs_bucket.write_path("x/1.txt", b"12345")
    [obj] = gcs_bucket.list_objects("x")
    assert obj["key"] == "x/1.txt" and obj["name"] == "x/1.txt" and obj["size"] == 5
    assert obj["last_modified"].tzinfo is not None and obj["crc32c"]


def test_list_folders_and_blobs(gcs_bucket: GcsBucket) -> None:
    for key in ["a/1", "a/b/2", "a/b/c/3", "d/4", "top"]:
        gcs_bucket.write_path(key, b"x")
    assert gcs_bucket.list_folders() == ["a", "a/b", "a/b/c", "d"]
    assert gcs_bucket.list_folders("a") == ["a/b", "a/b/c"]
    assert sorted(b.name for b in gcs_bucket.list_blobs("a/b")) == ["a/b/2", "a/b/c/3"]
    assert len(gcs_bucket.list_blobs()) == 5


def test_upload_and_download_single_files(gcs_bucket: GcsBucket, tmp_path: Path, gcs_server: Any) -> None:
    source = tmp_path / "data.csv"
    source.write_bytes(b"a,b\n1,2\n")
    assert gcs_bucket.upload_from_path(source) == "data.csv"
    assert gcs_server.read_object(gcs_bucket.bucket, "data.csv") == b"a,b\n1,2\n"
    target = gcs_bucket.download_object_to_path("data.csv", tmp_path / "copy" / "d.csv")
    assert target.read_bytes() == b"a,b\n1,2\n"
    sink = io.BytesIO()
    assert gcs_bucket.download_object_to_file_object("data.csv", sink) is sink
    assert sink.getvalue() == b"a,b\n1,2\n"
    gcs_bucket.upload_from_path(source, "typed.csv", content_type="text/csv")
    assert gcs_bucket.get_bucket().get_blob("typed.csv").content_type == "text/csv"


def test_large_file_goes_up_resumably_in_chunks_with_progress(gcs_bucket_name: str, gcp_credentials: GcpCredentials,
                                                            tmp_path: Path, gcs_server: Any) -> None:
    block = GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials, chunk_size=1024 * 1024)
    data = os.urandom(9 * 1024 * 1024 + 123)
    (tmp_path / "big.bin").write_bytes(data)
    sent: list[int] = []
    block.upload_from_path(tmp_path / "big.bin", "big.bin", progress=sent.append)
    assert sum(sent) == len(data) and len(sent) >= 9  # one report per chunk read
    assert gcs_server.read_object(gcs_bucket_name, "big.bin") == data
    got: list[int] = []
    out = block.download_object_to_path("big.bin", tmp_path / "back.bin", progress=got.append)
    assert out.read_bytes() == data and sum(got) == len(data)


def test_folder_round_trip_with_progress(gcs_bucket: GcsBucket, tmp_path: Path, gcs_server: Any) -> None:
    contents = make_tree(tmp_path / "src", files=30)
    sent: list[int] = []
    assert gcs_bucket.upload_from_folder(tmp_path / "src", "run1", progress=sent.append) == "run1"
    assert sum(sent) == sum(len(v) for v in contents.values())
    assert gcs_server.object_names(gcs_bucket.bucket) == sorted(f"run1/{k}" for k in contents)
    got: list[int] = []
    out = gcs_bucket.download_folder_to_path("run1", tmp_path / "dst", progress=got.append)
    assert read_tree(out) == contents and sum(got) == sum(sent)


def test_folder_transfers_use_at_most_max_concurrency_threads(gcs_bucket_name: str, gcp_credentials: GcpCredentials,
                                                              tmp_path: Path) -> None:
    import threading

    contents = make_tree(tmp_path / "src", files=40, size=100)
    block = GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials, max_concurrency=3)
    threads: set[str] = set()

    def progress(nbytes: int) -> None:
        threads.add(threading.current_thread().name)

    block.upload_from_folder(tmp_path / "src", "c", progress=progress)
    assert 1 <= len(threads) <= 3 and threading.main_thread().name not in threads
    threads.clear()
    out = block.download_folder_to_path("c", tmp_path / "dst", progress=progress)
    assert 1 <= len(threads) <= 3 and threading.main_thread().name not in threads
    assert read_tree(out) == contents


def test_skip_unchanged_uploads_only_what_changed(gcs_bucket: GcsBucket, tmp_path: Path) -> None:
    contents = make_tree(tmp_path / "src", files=6)
    gcs_bucket.upload_from_folder(tmp_path / "src", "s")
    before = {o["key"]: o["generation"] for o in gcs_bucket.list_objects("s")}
    changed = next(iter(contents))
    data = bytearray(contents[changed])
    data[0] ^= 0xFF  # same size, different content: only the checksum tells
    (tmp_path / "src" / changed).write_bytes(bytes(data))
    (tmp_path / "src" / "new.txt").write_bytes(b"new")
    gcs_bucket.upload_from_folder(tmp_path / "src", "s", skip_unchanged=True)
    after = {o["key"]: o["generation"] for o in gcs_bucket.list_objects("s")}
    assert after.pop("s/new.txt")
    assert {k for k in before if after[k] != before[k]} == {f"s/{changed}"}
    assert gcs_bucket.read_path(f"s/{changed}") == bytes(data)


def test_async_twins(gcs_bucket: GcsBucket, tmp_path: Path) -> None:
    async def scenario() -> tuple[bytes, list[str], list[str]]:
        await gcs_bucket.awrite_path("f/a.txt", b"async")
        data = await gcs_bucket.aread_path("f/a.txt")
        folders = await gcs_bucket.alist_folders()
        blobs = [b.name for b in await gcs_bucket.alist_blobs("f")]
        await gcs_bucket.adownload_folder_to_path("f", tmp_path / "a")
        return data, folders, blobs

    assert asyncio.run(scenario()) == (b"async", ["f"], ["f/a.txt"])
    assert (tmp_path / "a" / "a.txt").read_bytes() == b"async"


def test_create_get_and_check_bucket(gcs_server: Any, gcp_credentials: GcpCredentials) -> None:
    name = f"created-{os.getpid()}-{id(gcp_credentials)}"
    block = GcsBucket(bucket=name, gcp_credentials=gcp_credentials)
    with pytest.raises(ObjectNotFoundError, match="does not exist"):
        block.check()
    assert block.create_bucket(location="EU").name == name
    assert block.get_bucket().name == name
    block.check()
    with pytest.raises(StorageError, match="already exists"):
        block.create_bucket()


def test_concurrent_large_files_share_one_client(gcs_bucket_name: str, gcp_credentials: GcpCredentials,
                                                 tmp_path: Path, gcs_server: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """Resumable uploads from several threads on the shared google-cloud-storage client."""
    block = GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials, max_concurrency=4,
                      chunk_size=4 * 1024 * 1024)
    src = tmp_path / "big"
    src.mkdir()
    contents = {f"{i}.bin": os.urandom(8 * 1024 * 1024 + 1 + i) for i in range(4)}
    for name, data in contents.items():
        (src / name).write_bytes(data)
    with caplog.at_level("WARNING"):
        block.upload_from_folder(src, "big")
        out = block.download_folder_to_path("big", tmp_path / "back")
    assert read_tree(out) == contents
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_downloads_return_absolute_paths(gcs_bucket: GcsBucket, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """As prefect-gcp: the returned paths stay right after the working directory changes."""
    gcs_bucket.write_path("f/a.txt", b"A")
    monkeypatch.chdir(tmp_path)
    target = gcs_bucket.download_object_to_path("f/a.txt")
    folder = gcs_bucket.download_folder_to_path("f", "got")
    assert target == tmp_path / "a.txt" and folder == tmp_path / "got"
    monkeypatch.chdir(tmp_path / "got")
    assert target.read_bytes() == b"A" and (folder / "a.txt").read_bytes() == b"A"
    assert gcs_bucket.get_directory("f", "again") == tmp_path / "got" / "again"


def test_google_keywords_pass_through_as_in_prefect_gcp(gcs_bucket: GcsBucket, tmp_path: Path, gcs_server: Any) -> None:
    """prefect-gcp hands **upload_kwargs / **download_kwargs to google-cloud-storage, so migrated
    code passes timeout=, start=/end=, if_generation_match=...; they must reach it."""
    src = tmp_path / "f.txt"
    src.write_bytes(b"0123456789")
    assert gcs_bucket.upload_from_path(src, "k/f.txt", timeout=30) == "k/f.txt"
    assert gcs_bucket.upload_from_file_object(io.BytesIO(b"abc"), "k/fo.txt", timeout=30) == "k/fo.txt"
    assert gcs_server.read_object(gcs_bucket.bucket, "k/f.txt") == b"0123456789"
    assert gcs_server.read_object(gcs_bucket.bucket, "k/fo.txt") == b"abc"
    part = gcs_bucket.download_object_to_path("k/f.txt", tmp_path / "part.txt", timeout=30, start=2, end=4)
    assert part.read_bytes() == b"234"
    assert gcs_bucket.upload_from_folder(tmp_path, "tree", timeout=30) == "tree"
    back = gcs_bucket.download_folder_to_path("tree", tmp_path / "back", timeout=30)
    assert (back / "f.txt").read_bytes() == b"0123456789"
    with pytest.raises(StorageError, match=r"gs://.*k/f.txt.*precondition did not hold \(412\)") as caught:
        gcs_bucket.upload_from_path(src, "k/f.txt", if_generation_match=0)
    assert "\n" not in str(caught.value)
    assert gcs_server.read_object(gcs_bucket.bucket, "k/f.txt") == b"0123456789"


def test_basepath_is_bucket_folder(gcs_bucket: GcsBucket, gcs_server: Any) -> None:
    """Prefect storage blocks call the folder ``basepath``; it reads and sets ``bucket_folder``."""
    assert gcs_bucket.basepath == ""
    gcs_bucket.basepath = "/runs/"
    assert gcs_bucket.bucket_folder == "runs"
    assert gcs_bucket.write_path("a.txt", b"A") == "runs/a.txt"
    assert gcs_server.read_object(gcs_bucket.bucket, "runs/a.txt") == b"A"


def test_upload_from_dataframe_as_in_prefect_gcp(gcs_bucket_name: str, gcp_credentials: GcpCredentials,
                                                 gcs_server: Any) -> None:
    import gzip

    pd = pytest.importorskip("pandas")
    from headwater_gcs.cloud_storage import DataFrameSerializationFormat

    block = GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials, bucket_folder="frames")
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "ü"]})
    assert block.upload_from_dataframe(df, "day.txt") == "frames/day.csv.gz"  # default: csv_gzip
    assert gzip.decompress(gcs_server.read_object(gcs_bucket_name, "frames/day.csv.gz")).decode() == "a,b\n1,x\n2,ü\n"
    assert block.upload_from_dataframe(df, "d/plain", DataFrameSerializationFormat.CSV) == "frames/d/plain.csv"
    assert gcs_server.read_object(gcs_bucket_name, "frames/d/plain.csv") == "a,b\n1,x\n2,ü\n".encode()
    assert block.get_bucket().get_blob("frames/d/plain.csv").content_type == "text/csv"
    with pytest.raises(ConfigError, match="unknown serialization_format 'xlsx'"):
        block.upload_from_dataframe(df, "bad", "xlsx")
