"""S3Bucket against real S3 servers (moto and SeaweedFS): every interface method, checked on the server."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Any

import pytest
from headwater.blocks import Block
from headwater.errors import ObjectNotFoundError
from headwater_aws import S3Bucket

from .conftest import credentials_for, make_tree, read_tree

MiB = 1024 * 1024


def _with_folder(bucket: S3Bucket, folder: str) -> S3Bucket:
    return bucket.model_copy(update={"bucket_folder": folder})


def test_bucket_folder_is_applied_exactly_once_on_every_path(
    s3_bucket: S3Bucket, s3_endpoint: Any, tmp_path: Path
) -> None:
    bucket = S3Bucket(
        bucket_name=s3_bucket.bucket_name, credentials=s3_bucket.credentials, bucket_folder="/base/inner/"
    )
    assert bucket.bucket_folder == "base/inner"
    src = tmp_path / "src"
    tree = make_tree(src, files=5)
    (tmp_path / "one.txt").write_bytes(b"one")
    assert bucket.write_path("w.txt", b"w") == "base/inner/w.txt"
    assert bucket.upload_from_path(tmp_path / "one.txt", "p/one.txt") == "base/inner/p/one.txt"
    assert bucket.upload_from_file_object(io.BytesIO(b"fo"), "fo.txt") == "base/inner/fo.txt"
    assert bucket.upload_from_folder(src, "tree") == "base/inner/tree"
    assert bucket.copy_object("w.txt", "copied/w.txt") == "base/inner/copied/w.txt"
    assert bucket.move_object("fo.txt", "moved/fo.txt") == "base/inner/moved/fo.txt"
    assert bucket.stream_from(bucket, "w.txt", "streamed.txt") == "base/inner/streamed.txt"
    assert bucket.put_directory(src, "put") == len(tree)
    expected = {"base/inner/w.txt", "base/inner/p/one.txt", "base/inner/copied/w.txt", "base/inner/moved/fo.txt",
                "base/inner/streamed.txt", *(f"base/inner/tree/{k}" for k in tree),
                *(f"base/inner/put/{k}" for k in tree)}
    assert set(s3_endpoint.object_keys(bucket.bucket_name)) == expected
    listed = bucket.list_objects("tree")
    assert sorted(o["key"] for o in listed) == sorted(f"tree/{k}" for k in tree)
    assert all(o["name"] == "base/inner/" + o["key"] for o in listed)
    for obj in listed:  # a listed key reads back through the same block
        assert bucket.read_path(obj["key"]) == tree[obj["key"][len("tree/"):]]
    assert bucket.download_object_to_path("p/one.txt", tmp_path / "got.txt").read_bytes() == b"one"
    assert bucket.download_object_to_file_object("w.txt", io.BytesIO()).getvalue() == b"w"
    bucket.download_folder_to_path("tree", tmp_path / "dl")
    assert read_tree(tmp_path / "dl") == tree
    bucket.get_directory("put", tmp_path / "gd")
    assert read_tree(tmp_path / "gd") == tree


def test_list_objects_options(s3_bucket: S3Bucket) -> None:
    for key in ("l/a.txt", "l/b.txt", "l/sub/c.txt", "other.txt"):
        s3_bucket.write_path(key, key.encode())
    assert [o["key"] for o in s3_bucket.list_objects("l")] == ["l/a.txt", "l/b.txt", "l/sub/c.txt"]
    assert [o["key"] for o in s3_bucket.list_objects("l", delimiter="/")] == ["l/a.txt", "l/b.txt"]
    assert len(s3_bucket.list_objects("", page_size=1, max_items=2)) == 2
    assert s3_bucket.list_objects("l", jmespath_query="Contents[?Size > `7`].Key") == ["l/sub/c.txt"]
    obj = s3_bucket.list_objects("l")[0]
    assert obj["size"] == obj["Size"] == 7 and obj["last_modified"] is not None and obj["etag"]
    assert s3_bucket.list_objects("nothing-here") == []


def test_upload_and_download_files(
    s3_bucket: S3Bucket, s3_endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "report.csv"
    src.write_bytes(b"a,b\n1,2\n")
    assert s3_bucket.upload_from_path(src) == "report.csv"
    assert s3_bucket.upload_from_path(src, "x/r.csv", ContentType="text/csv") == "x/r.csv"
    head = s3_endpoint.client().head_object(Bucket=s3_bucket.bucket_name, Key="x/r.csv")
    assert head["ContentType"] == "text/csv"
    monkeypatch.chdir(tmp_path)
    target = s3_bucket.download_object_to_path("x/r.csv")
    assert target == tmp_path / "r.csv" and (tmp_path / "r.csv").read_bytes() == b"a,b\n1,2\n"
    # Absolute, as prefect-aws returns it: still right after the working directory changes.
    (tmp_path / "sub").mkdir()
    folder = s3_bucket.download_folder_to_path("x", "sub/got")
    monkeypatch.chdir(tmp_path / "sub")
    assert target.read_bytes() == b"a,b\n1,2\n" and (folder / "r.csv").read_bytes() == b"a,b\n1,2\n"
    assert folder == tmp_path / "sub" / "got"
    (tmp_path / "into").mkdir()
    assert s3_bucket.download_object_to_path("report.csv", tmp_path / "into").read_bytes() == b"a,b\n1,2\n"


def test_multipart_upload_and_download_with_progress(s3_bucket: S3Bucket, s3_endpoint: Any, tmp_path: Path) -> None:
    bucket = s3_bucket.model_copy(update={"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB})
    data = os.urandom(11 * MiB + 123)
    (tmp_path / "big.bin").write_bytes(data)
    sent: list[int] = []
    bucket.upload_from_path(tmp_path / "big.bin", "big.bin", progress=sent.append)
    assert sum(sent) == len(data) and len(sent) > 1
    etag = s3_endpoint.client().head_object(Bucket=bucket.bucket_name, Key="big.bin")["ETag"]
    assert etag.strip('"').endswith("-3")  # three parts: really multipart
    got: list[int] = []
    assert bucket.download_object_to_path("big.bin", tmp_path / "back.bin", progress=got.append).read_bytes() == data
    assert sum(got) == len(data)
    buf = io.BytesIO()
    bucket.download_object_to_file_object("big.bin", buf)
    assert buf.getvalue() == data
    assert bucket.upload_from_file_object(io.BytesIO(data), "big2.bin") == "big2.bin"
    assert s3_endpoint.read_object(bucket.bucket_name, "big2.bin") == data
    assert s3_endpoint.multipart_uploads(bucket.bucket_name) == []


def test_folder_round_trip_with_progress_and_ignore_file(s3_bucket: S3Bucket, s3_endpoint: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    tree = make_tree(src, files=40)
    (src / "skip.log").write_bytes(b"ignored")
    (tmp_path / ".ignore").write_text("# logs\n*.log\n")
    sent: list[int] = []
    assert s3_bucket.upload_from_folder(src, "out", progress=sent.append, ignore_file=tmp_path / ".ignore") == "out"
    assert sum(sent) == sum(len(v) for v in tree.values())
    assert s3_endpoint.object_keys(s3_bucket.bucket_name, "out/") == sorted(f"out/{k}" for k in tree)
    got: list[int] = []
    assert s3_bucket.download_folder_to_path("out", tmp_path / "dst", progress=got.append) == tmp_path / "dst"
    assert read_tree(tmp_path / "dst") == tree
    assert sum(got) == sum(sent)
    assert not list((tmp_path / "dst").rglob("*.hw-partial"))


def test_skip_unchanged_skips_only_identical_objects(s3_bucket: S3Bucket, s3_endpoint: Any, tmp_path: Path) -> None:
    bucket = s3_bucket.model_copy(update={"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB})
    src = tmp_path / "src"
    make_tree(src, files=4)
    (src / "big.bin").write_bytes(os.urandom(6 * MiB))  # multipart: its ETag is md5-of-part-md5s
    bucket.upload_from_folder(src, "s", Metadata={"run": "1"})
    client = s3_endpoint.client()
    changed = "s/top0.bin"
    original = (src / "top0.bin").read_bytes()
    client.put_object(Bucket=bucket.bucket_name, Key=changed, Body=bytes(len(original)))  # same size, other bytes
    (src / "d1" / "sub1" / "f1.bin").write_bytes(b"grown" * 100)
    bucket.upload_from_folder(src, "s", skip_unchanged=True, Metadata={"run": "2"})
    runs = {key: client.head_object(Bucket=bucket.bucket_name, Key=key)["Metadata"].get("run")
            for key in s3_endpoint.object_keys(bucket.bucket_name, "s/")}
    assert runs.pop(changed) == "2" and s3_endpoint.read_object(bucket.bucket_name, changed) == original
    assert runs.pop("s/d1/sub1/f1.bin") == "2"
    assert runs == {"s/big.bin": "1", "s/d2/sub0/f2.bin": "1", "s/d0/sub1/f3.bin": "1"}
    # A different part size on the next upload still recognises the multipart object as unchanged.
    other = bucket.model_copy(update={"multipart_chunksize": 6 * MiB})
    other.upload_from_folder(src, "s", skip_unchanged=True, Metadata={"run": "3"})
    assert client.head_object(Bucket=bucket.bucket_name, Key="s/big.bin")["Metadata"].get("run") == "1"


def test_copy_move_and_stream_between_buckets(s3_bucket: S3Bucket, s3_endpoint: Any) -> None:
    other = S3Bucket(bucket_name=s3_endpoint.create_bucket(), credentials=s3_bucket.credentials, bucket_folder="in")
    s3_bucket.write_path("src.txt", b"payload")
    assert s3_bucket.copy_object("src.txt", "c.txt", to_bucket=other) == "in/c.txt"
    assert s3_bucket.copy_object("src.txt", "raw/c.txt", to_bucket=other.bucket_name) == "raw/c.txt"
    assert s3_bucket.move_object("src.txt", "m.txt", to_bucket=other) == "in/m.txt"
    assert s3_endpoint.read_object(s3_bucket.bucket_name, "src.txt") is None
    assert other.stream_from(other, "m.txt") == "in/m.txt"
    assert s3_bucket.stream_from(other, "c.txt", "back/c.txt") == "back/c.txt"
    assert s3_endpoint.object_keys(other.bucket_name) == ["in/c.txt", "in/m.txt", "raw/c.txt"]
    assert s3_endpoint.read_object(s3_bucket.bucket_name, "back/c.txt") == b"payload"


def test_async_twins(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    async def run() -> None:
        await s3_bucket.awrite_path("a.txt", b"async")
        assert await s3_bucket.aread_path("a.txt") == b"async"
        assert [o["key"] for o in await s3_bucket.alist_objects("", delimiter="/")] == ["a.txt"]
        await s3_bucket.acopy_object("a.txt", "b.txt")
        await s3_bucket.amove_object("b.txt", "c.txt")
        await s3_bucket.astream_from(s3_bucket, "c.txt", "d.txt")
        make_tree(tmp_path / "src", files=3)
        await s3_bucket.aupload_from_folder(tmp_path / "src", "f")
        await s3_bucket.adownload_folder_to_path("f", tmp_path / "dst")
        assert read_tree(tmp_path / "dst") == read_tree(tmp_path / "src")
        await s3_bucket.acheck()

    asyncio.run(run())
    assert s3_bucket.read_path("d.txt") == b"async"


def test_check_and_create_bucket(s3_endpoint: Any) -> None:
    bucket = S3Bucket(
        bucket_name=f"hw-new-{os.getpid()}-{id(s3_endpoint) % 9999}", credentials=credentials_for(s3_endpoint)
    )
    with pytest.raises(ObjectNotFoundError, match="does not exist"):
        bucket.check()
    assert bucket.create_bucket() == bucket.bucket_name
    assert bucket.create_bucket(exist_ok=True) == bucket.bucket_name
    bucket.check()


def test_saved_bucket_loads_by_name_and_works(s3_bucket: S3Bucket) -> None:
    s3_bucket.model_copy(update={"bucket_folder": "saved"}).save("raw")
    loaded = Block.load("raw")
    assert isinstance(loaded, S3Bucket) and loaded.bucket_folder == "saved"
    loaded.write_path("x", b"1")
    assert s3_bucket.read_path("saved/x") == b"1"


def test_folder_transfers_without_lean_requests(s3_server: Any, s3_bucket_name: str, tmp_path: Path) -> None:
    bucket = S3Bucket(bucket_name=s3_bucket_name, credentials=credentials_for(s3_server), lean_requests=False,
                      bucket_folder="plain")
    tree = make_tree(tmp_path / "src", files=6)
    bucket.upload_from_folder(tmp_path / "src")
    assert s3_server.object_keys(s3_bucket_name) == sorted(f"plain/{k}" for k in tree)
    bucket.download_folder_to_path("", tmp_path / "dst")
    assert read_tree(tmp_path / "dst") == tree


def test_lean_path_handles_awkward_keys(s3_bucket: S3Bucket, s3_endpoint: Any, tmp_path: Path) -> None:
    names = ["with space.txt", "plus+sign.txt", "percent%20.txt", "ünï/cödé.txt", "a&b=c.txt", "tilde~.txt"]
    for i, name in enumerate(names):
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_bytes(f"{i}".encode() * 50)
    s3_bucket.upload_from_folder(tmp_path / "src", "odd")
    assert s3_endpoint.object_keys(s3_bucket.bucket_name) == sorted(f"odd/{n}" for n in names)
    assert s3_endpoint.read_object(s3_bucket.bucket_name, "odd/plus+sign.txt") == b"1" * 50
    s3_bucket.download_folder_to_path("odd", tmp_path / "dst")
    assert read_tree(tmp_path / "dst") == read_tree(tmp_path / "src")


def test_boto3_transfer_keywords_pass_through_as_in_prefect_aws(
    s3_bucket: S3Bucket, s3_endpoint: Any, tmp_path: Path
) -> None:
    """prefect-aws hands **upload_kwargs / **download_kwargs to boto3's upload_file / download_file,
    so migrated code passes Callback= and Config=; they must not be taken for S3 arguments."""
    from boto3.s3.transfer import TransferConfig

    src = tmp_path / "f.bin"
    src.write_bytes(b"0123456789")
    seen: list[int] = []
    progress: list[int] = []
    s3_bucket.upload_from_path(src, "k/f.bin", progress=progress.append, Callback=seen.append,
                               Config=TransferConfig(multipart_threshold=5 * 1024 * 1024), ContentType="text/plain")
    assert sum(seen) == sum(progress) == 10
    assert s3_endpoint.read_object(s3_bucket.bucket_name, "k/f.bin") == b"0123456789"
    assert s3_endpoint.client().head_object(Bucket=s3_bucket.bucket_name, Key="k/f.bin")["ContentType"] == "text/plain"
    seen.clear()
    out = s3_bucket.download_object_to_path(
        "k/f.bin", tmp_path / "out.bin", Callback=seen.append, Config=TransferConfig()
    )
    assert out.read_bytes() == b"0123456789" and sum(seen) == 10
    sink = io.BytesIO()
    s3_bucket.download_object_to_file_object("k/f.bin", sink, Callback=seen.append)
    assert sink.getvalue() == b"0123456789"
    s3_bucket.upload_from_file_object(io.BytesIO(b"abc"), "k/fo.bin", Callback=seen.append)
    assert s3_endpoint.read_object(s3_bucket.bucket_name, "k/fo.bin") == b"abc"
    seen.clear()
    assert s3_bucket.upload_from_folder(tmp_path, "tree", Callback=seen.append) == "tree"
    assert sum(seen) == 20
    got = s3_bucket.download_folder_to_path("tree", tmp_path / "back", Config=TransferConfig())
    assert (got / "f.bin").read_bytes() == b"0123456789" and (got / "out.bin").read_bytes() == b"0123456789"


def test_basepath_is_bucket_folder(s3_bucket: S3Bucket, s3_endpoint: Any) -> None:
    """Prefect storage blocks call the folder ``basepath``; it reads and sets ``bucket_folder``."""
    assert s3_bucket.basepath == ""
    s3_bucket.basepath = "/runs/"
    assert s3_bucket.bucket_folder == "runs"
    assert s3_bucket.write_path("a.txt", b"A") == "runs/a.txt"
    assert s3_endpoint.read_object(s3_bucket.bucket_name, "runs/a.txt") == b"A"
