"""S3Bucket transfers vs raw boto3 (sequential loop, hand-tuned threads, transfer manager) and prefect-aws.

Starts its own S3 server on 127.0.0.1 (moto by default; ``--server seaweedfs`` for SeaweedFS),
output to a log file under a temporary directory. Workloads:

- upload_from_folder / download_folder_to_path of N small files (1,000; 200 with --quick)
  against a sequential boto3 loop (what prefect-aws's sync upload_from_folder does; target:
  Headwater >= 4x faster) and against hand-tuned concurrent boto3 (16 threads sharing one
  client: the floor; target: within 1.25x);
- a 50 MB upload and download against boto3's transfer manager used directly (target: within 1.1x),
  with 3x the samples of the folder rows (each is short), and under each a row with this
  process's CPU time (user+sys, all threads; the server's work is left out), steadier than
  wall time on a shared machine;
- with bench/.venv-prefect, prefect-aws's S3Bucket on the same folder workloads (peer column).

Run: ``.venv/bin/python bench/s3.py [--quick] [--repeat N] [--no-peer] [--server moto|seaweedfs] [--only big]``
(``--only big``: just the 50 MB rows).
This file is also imported by the Prefect peer worker, so its top level imports only the stdlib.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import harness

MiB = 1024 * 1024
SMALL = 1024
THREADS = 16


# -- run inside the Prefect peer venv ----------------------------------------------------------

_peer_buckets: dict[tuple[str, str], Any] = {}


def _peer_bucket(endpoint: str, bucket: str) -> Any:
    key = (endpoint, bucket)
    if key not in _peer_buckets:
        from prefect_aws import AwsClientParameters, AwsCredentials, S3Bucket

        creds = AwsCredentials(aws_access_key_id="bench", aws_secret_access_key="bench-secret", region_name="us-east-1",
                               aws_client_parameters=AwsClientParameters(endpoint_url=endpoint))
        _peer_buckets[key] = S3Bucket(bucket_name=bucket, credentials=creds)
    return _peer_buckets[key]


def peer_upload_folder(endpoint: str, bucket: str, folder: str, to_folder: str) -> None:
    _peer_bucket(endpoint, bucket).upload_from_folder(folder, to_folder)


def peer_download_folder(endpoint: str, bucket: str, from_folder: str, to_folder: str) -> None:
    import shutil

    shutil.rmtree(to_folder, ignore_errors=True)
    _peer_bucket(endpoint, bucket).download_folder_to_path(from_folder, to_folder)


# -- the benchmark -------------------------------------------------------------------------------


class WithCpu:
    """An impl for ``harness.compare`` that also keeps this process's CPU time per sample."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.cpu_samples: list[float] = []

    def sample(self, number: int) -> float:
        import time

        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(number):
            self.fn()
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        self.cpu_samples.append(cpu / number)
        return wall / number


def _make_files(root: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = root / f"d{i % 10}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(SMALL))
        paths.append(path)
    return paths


def _start_server(kind: str, work: Path) -> Any:
    from headwater.testing.s3 import MotoServer, SeaweedFsServer

    server = SeaweedFsServer(work / "seaweedfs") if kind == "seaweedfs" else MotoServer(work / "moto.log")
    return server.start()


def main() -> int:
    server_kind = harness.take_option("--server", os.environ.get("HW_BENCH_S3_SERVER", "moto"))
    only = harness.take_option("--only", "")
    if server_kind not in ("moto", "seaweedfs"):
        print("--server takes moto or seaweedfs", file=sys.stderr)
        return 2
    if only not in ("", "big"):
        print("--only takes big (the 50 MB rows)", file=sys.stderr)
        return 2
    args = harness.bench_args("S3Bucket transfers vs raw boto3 and prefect-aws", repeat=5)
    harness.unshadow()

    import shutil
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from headwater_aws import AwsClientParameters, AwsCredentials, S3Bucket

    work = harness.fresh_dir("hwbench-s3-")
    server = _start_server(server_kind, work)
    try:
        count = 200 if args.quick else 1000
        src = work / "src"
        files = _make_files(src, 0 if only else count)
        rels = [p.relative_to(src).as_posix() for p in files]
        big = work / "big.bin"
        big.write_bytes(os.urandom(50 * MiB))
        name = server.create_bucket("hw-bench")
        creds = AwsCredentials(aws_access_key_id=server.access_key_id, aws_secret_access_key=server.secret_access_key,
                               region_name=server.region,
                               aws_client_parameters=AwsClientParameters(endpoint_url=server.endpoint))
        hw = S3Bucket(bucket_name=name, credentials=creds, max_concurrency=THREADS)
        client = boto3.session.Session().client(
            "s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key_id,
            aws_secret_access_key=server.secret_access_key, region_name=server.region,
            config=Config(max_pool_connections=2 * THREADS),
        )
        pool = ThreadPoolExecutor(THREADS)

        def put(rel: str, prefix: str) -> None:
            with open(src / rel, "rb") as fh:
                client.put_object(Bucket=name, Key=f"{prefix}/{rel}", Body=fh)

        def up_sequential() -> None:
            for rel in rels:
                client.upload_file(str(src / rel), name, f"seq/{rel}")

        def up_threads() -> None:
            list(pool.map(lambda rel: put(rel, "thr"), rels))

        def up_hw() -> None:
            hw.upload_from_folder(src, "hw")

        if not only:
            hw.upload_from_folder(src, "dl")  # the download workload

        def fresh(tag: str) -> Path:
            target = work / f"dst-{tag}"
            shutil.rmtree(target, ignore_errors=True)
            return target

        def get(rel: str, target: Path) -> None:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(client.get_object(Bucket=name, Key=f"dl/{rel}")["Body"].read())

        def down_sequential() -> None:
            target = fresh("seq")
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix="dl/")
            for obj in (o for page in pages for o in page.get("Contents", [])):
                dest = target / obj["Key"][3:]
                dest.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(name, obj["Key"], str(dest))

        def down_threads() -> None:
            target = fresh("thr")
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix="dl/")
            keys = [o["Key"][3:] for page in pages for o in page.get("Contents", [])]
            list(pool.map(lambda rel: get(rel, target), keys))

        def down_hw() -> None:
            hw.download_folder_to_path("dl", fresh("hw"))

        transfer = TransferConfig()

        def big_up_floor() -> None:
            client.upload_file(str(big), name, "big/floor.bin", Config=transfer)

        def big_up_hw() -> None:
            hw.upload_from_path(big, "big/hw.bin")

        client.upload_file(str(big), name, "big/src.bin", Config=transfer)

        def big_down_floor() -> None:
            client.download_file(name, "big/src.bin", str(work / "big-floor.bin"), Config=transfer)

        def big_down_hw() -> None:
            hw.download_object_to_path("big/src.bin", work / "big-hw.bin")

        peer_up = peer_down = None
        worker = None
        if harness.peer_enabled(args) and not only:
            worker = harness.PeerWorker(Path(__file__))
            peer_up = worker.timed("peer_upload_folder", server.endpoint, name, str(src), "prefect")
            peer_down = worker.timed("peer_download_folder", server.endpoint, name, "dl", str(work / "dst-prefect"))

        rows = []
        repeat = args.repeat
        seq_repeat = max(2, repeat // 2)  # the sequential loop is slow and steady: fewer samples
        if not only:
            up = harness.compare({"hw": up_hw, "floor": up_threads, "prefect": peer_up}, repeat=repeat, warmup=1)
            up_seq = harness.compare({"seq": up_sequential}, repeat=seq_repeat, warmup=0)["seq"]
            down = harness.compare({"hw": down_hw, "floor": down_threads, "prefect": peer_down}, repeat=repeat,
                                   warmup=1)
            down_seq = harness.compare({"seq": down_sequential}, repeat=seq_repeat, warmup=0)["seq"]
        # A 50 MB sample is short and its wall time swings with the machine's load: more samples.
        big_impls = {"hw_up": WithCpu(big_up_hw), "floor_up": WithCpu(big_up_floor),
                     "hw_down": WithCpu(big_down_hw), "floor_down": WithCpu(big_down_floor)}
        bup = harness.compare({"hw": big_impls["hw_up"], "floor": big_impls["floor_up"]}, repeat=3 * repeat, warmup=1)
        bdown = harness.compare({"hw": big_impls["hw_down"], "floor": big_impls["floor_down"]}, repeat=3 * repeat,
                                warmup=1)
        cpu = {k: harness.Stats.of(impl.cpu_samples) for k, impl in big_impls.items()}
        if worker is not None:
            worker.close()

        if not only:
            rows += _folder_rows(count, up, up_seq, down, down_seq)
        rows.append(harness.Row("upload 50 MB vs boto3 transfer manager", bup["hw"], bup["floor"],
                                target=1.1 * bup["floor"].median, note="target: <= 1.1x floor"))
        rows.append(harness.Row("  same, CPU time of this process (user+sys)", cpu["hw_up"], cpu["floor_up"],
                                note="steadier than wall time on a shared machine"))
        rows.append(harness.Row("download 50 MB vs boto3 transfer manager", bdown["hw"], bdown["floor"],
                                target=1.1 * bdown["floor"].median, note="target: <= 1.1x floor"))
        rows.append(harness.Row("  same, CPU time of this process (user+sys)", cpu["hw_down"], cpu["floor_down"],
                                note="steadier than wall time on a shared machine"))
        extra = {"server": server_kind, "files": count, "file_size": SMALL, "threads": THREADS,
                 "server_log": str(server.log_path), "only": only or None}
        print(f"S3 server: {server_kind} at {server.endpoint} (log {server.log_path})")
        area = "s3" if server_kind == "moto" else f"s3-{server_kind}"
        missed = harness.report(area + ("-big" if only else ""), rows, extra, json_out=not args.no_json)
        pool.shutdown()
        return harness.exit_code(missed)
    finally:
        server.stop()


def _folder_rows(count: int, up: Any, up_seq: Any, down: Any, down_seq: Any) -> list[Any]:
    return [
        harness.Row(f"upload_from_folder {count}x1KiB vs 16-thread boto3", up["hw"], up["floor"], up.get("prefect"),
                    target=1.25 * up["floor"].median, note="target: <= 1.25x floor"),
        harness.Row(f"upload_from_folder {count}x1KiB vs sequential boto3", up["hw"], up_seq, up.get("prefect"),
                    target=up_seq.median / 4, note="target: >= 4x faster than floor (sequential)"),
        harness.Row(f"download_folder {count}x1KiB vs 16-thread boto3", down["hw"], down["floor"], down.get("prefect"),
                    target=1.25 * down["floor"].median, note="target: <= 1.25x floor"),
        harness.Row(f"download_folder {count}x1KiB vs sequential boto3", down["hw"], down_seq, down.get("prefect"),
                    target=down_seq.median / 4, note="target: >= 4x faster than floor (sequential)"),
    ]


if __name__ == "__main__":
    sys.exit(main())
