"""Bench: GcsBucket transfers vs google-cloud-storage used directly, on a local fake-gcs-server.

Run: ``.venv/bin/python bench/gcs.py [--quick] [--repeat N] [--no-peer] [--download-to DIR]``.

``--download-to DIR``: make each download sample's empty folder under DIR (default: the
bench's temporary folder). On the 2-core VMs this project is measured on, ext4 (mounted with
``discard``) makes creating and deleting 1,000 small files cost more system time sample after
sample; ``--download-to /dev/shm`` measures the same transfers into tmpfs, without that cost.

Workloads. Every sample starts from the same state, prepared outside the timed part: a fresh
empty bucket for each upload (fake-gcs-server's in-memory backend scans a bucket's objects
linearly, so it gets slower per request as a bucket fills) and a fresh empty local folder for
each download (removed after the sample, so no variant pays for another's disk writeback).
Downloads all read the same 1,000-object bucket, which nothing writes to. The Prefect peer,
when present, is placed right before the sequential loop in the rotating order, so whatever
it leaves running after a sample lands on the longest, least sensitive measurement:

* 1,000 small files (1 KiB) ``upload_from_folder`` / ``download_folder_to_path`` against
  - a sequential google-cloud-storage loop (what prefect-gcp's GcsBucket does), target >= 4x;
  - the best of several hand-written concurrent versions (google-cloud-storage on a thread
    pool with a shared client, ``transfer_manager``, and threads over google-auth's urllib3
    transport straight to the JSON API), target within 1.25x;
* for each folder workload, a CPU-bound limit (no target): Headwater's CPU seconds plus the
  server's over the machine's cores, against the sequential loop. Client and emulator share
  the cores, so no scheduling can beat that ratio here;
* a 50 MB file upload / download against ``Blob.upload_from_filename`` / ``download_to_filename``,
  target within 1.1x;
* prefect-gcp's GcsBucket on the same workloads when ``bench/.venv-prefect`` exists (its
  credentials patched to anonymous, since the emulator has no token endpoint).
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import harness
from harness import Row, compare

HERE = Path(__file__).resolve().parent
THREADS = 8


def _make_files(root: Path, count: int, size: int) -> list[tuple[Path, str]]:
    files = []
    for i in range(count):
        rel = f"d{i % 10}/f{i:05d}.bin"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        files.append((path, rel))
    return files


class Prepared:
    """An implementation for ``harness.compare`` whose every call gets untimed setup/cleanup.

    ``setup()`` makes the call's input (a fresh bucket, an empty folder), ``fn(input)`` is
    timed, ``cleanup(input)`` (optional) runs after the clock stops. The CPU seconds of this
    process (all threads) and of the server (``server_cpu()``) during each call are kept in
    ``cpu_samples`` (which ``compare`` empties after the warm-up) and ``server_cpu_samples``:
    on a loaded machine they say more than wall time.
    """

    def __init__(self, fn: Callable[[Any], Any], setup: Callable[[], Any],
                 cleanup: Callable[[Any], Any] | None = None,
                 server_cpu: Callable[[], float] = lambda: 0.0) -> None:
        self.fn, self.setup, self.cleanup, self.server_cpu = fn, setup, cleanup, server_cpu
        self.cpu_samples: list[float] = []
        self.server_cpu_samples: list[float] = []

    def sample(self, number: int = 1) -> float:
        total = 0.0
        for _ in range(number):
            arg = self.setup()
            cpu, server = time.process_time(), self.server_cpu()
            start = time.perf_counter()
            self.fn(arg)
            total += time.perf_counter() - start
            self.cpu_samples.append(time.process_time() - cpu)
            self.server_cpu_samples.append(self.server_cpu() - server)
            if self.cleanup is not None:
                self.cleanup(arg)
        return total / number


def main() -> int:
    download_to = harness.take_option("--download-to", "")
    args = harness.bench_args(__doc__.splitlines()[0], repeat=5)
    if download_to and not Path(download_to).is_dir():
        print(f"--download-to {download_to}: not a folder", file=sys.stderr)
        return 2
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage
    from google.cloud.storage import transfer_manager
    from headwater.testing.gcs import FakeGcsServer
    from headwater_gcs import GcpCredentials, GcsBucket

    count = 300 if args.quick else 1000
    big_mb = 20 if args.quick else 50
    work = harness.fresh_dir("hwbench-gcs-")
    server = FakeGcsServer(work / "fake-gcs-server.log").start()
    names = (f"bench-{i}" for i in itertools.count())
    try:
        endpoint = server.endpoint
        client = storage.Client(credentials=AnonymousCredentials(), project="bench",
                                client_options={"api_endpoint": endpoint})
        import requests

        client._http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=THREADS * 2))
        creds = GcpCredentials(endpoint=endpoint)

        def fresh() -> str:
            return server.create_bucket(next(names))

        def hw(bucket: str) -> GcsBucket:
            return GcsBucket(bucket=bucket, gcp_credentials=creds, max_concurrency=THREADS)

        src = work / "small"
        files = _make_files(src, count, 1024)
        dest_root = harness.fresh_dir("hwbench-gcs-dl-", parent=download_to or None)

        def new_dest() -> Path:
            return Path(tempfile.mkdtemp(dir=dest_root))

        # -- small files: upload --------------------------------------------------------------
        def up_hw(name: str) -> None:
            hw(name).upload_from_folder(src, "run")

        def up_seq(name: str) -> None:
            bucket = client.bucket(name)
            for path, rel in files:
                bucket.blob(f"run/{rel}").upload_from_filename(str(path))

        def up_threads(name: str) -> None:
            bucket = client.bucket(name)
            with cf.ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(lambda f: bucket.blob(f"run/{f[1]}").upload_from_filename(str(f[0])), files))

        def up_transfer_manager(name: str) -> None:
            bucket = client.bucket(name)
            transfer_manager.upload_many_from_filenames(
                bucket, [rel for _p, rel in files], source_directory=str(src), blob_name_prefix="run/",
                max_workers=THREADS, worker_type=transfer_manager.THREAD, raise_exception=True)

        import urllib3
        from google.auth.transport.urllib3 import AuthorizedHttp

        raw_http = AuthorizedHttp(AnonymousCredentials(), http=urllib3.PoolManager(maxsize=THREADS * 2))

        def up_raw(bucket: str) -> None:
            def one(f: tuple[Path, str]) -> None:
                name = quote(f"run/{f[1]}", safe="")
                r = raw_http.request("POST", f"{endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}",
                                     body=f[0].read_bytes())
                assert r.status == 200, r.status

            with cf.ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(one, files))

        # -- small files: download ------------------------------------------------------------
        dl_bucket = fresh()
        hw(dl_bucket).upload_from_folder(src, "run")
        dl_ref = client.bucket(dl_bucket)
        blob_names = [f"run/{rel}" for _p, rel in files]

        def down_hw(dest: Path) -> None:
            hw(dl_bucket).download_folder_to_path("run", dest)

        def down_seq(dest: Path) -> None:
            for blob in client.list_blobs(dl_bucket, prefix="run/"):
                target = dest / blob.name[4:]
                target.parent.mkdir(parents=True, exist_ok=True)
                blob.download_to_filename(str(target))

        def down_threads(dest: Path) -> None:
            def one(blob: storage.Blob) -> None:
                target = dest / blob.name[4:]
                target.parent.mkdir(parents=True, exist_ok=True)
                blob.download_to_filename(str(target))

            with cf.ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(one, client.list_blobs(dl_bucket, prefix="run/")))

        def down_transfer_manager(dest: Path) -> None:
            transfer_manager.download_many_to_path(
                dl_ref, blob_names, destination_directory=str(dest), max_workers=THREADS,
                worker_type=transfer_manager.THREAD, raise_exception=True, create_directories=True)

        def down_raw(dest: Path) -> None:
            def one(name: str) -> None:
                r = raw_http.request("GET",
                                     f"{endpoint}/download/storage/v1/b/{dl_bucket}/o/{quote(name, safe='')}?alt=media")
                assert r.status == 200
                target = dest / name[4:]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(r.data)

            with cf.ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(one, [b.name for b in client.list_blobs(dl_bucket, prefix="run/")]))

        # -- one big file ---------------------------------------------------------------------
        big = work / "big.bin"
        big.write_bytes(os.urandom(big_mb * 1000 * 1000))
        big_bucket = fresh()
        big_ref = client.bucket(big_bucket)

        def big_up_hw() -> None:
            hw(big_bucket).upload_from_path(big, "big.bin")

        def big_up_gcs() -> None:
            big_ref.blob("big-direct.bin").upload_from_filename(str(big))

        big_up_gcs()

        def big_down_hw() -> None:
            hw(big_bucket).download_object_to_path("big-direct.bin", work / "big-hw.bin")

        def big_down_gcs() -> None:
            big_ref.blob("big-direct.bin").download_to_filename(str(work / "big-gcs.bin"))

        # -- Prefect peer -----------------------------------------------------------------------
        peer = None
        if harness.peer_enabled(args):
            peer_file = work / "peer_gcs_workload.py"
            peer_file.write_text(PEER_WORKLOAD)
            env = harness.peer_env()
            env["STORAGE_EMULATOR_HOST"] = endpoint
            peer = harness.PeerWorker(peer_file, env=env)
            peer.call("setup", endpoint, str(src), str(big), dl_bucket, big_bucket, str(dest_root))

        rows = []
        if peer is not None:
            # Peer uploads need fresh buckets too: create them here, in the same server.
            def peer_up() -> object:
                class Impl:
                    def sample(self, number: int = 1) -> float:
                        return peer.timed("upload_folder", fresh()).sample(number)  # type: ignore[union-attr]
                return Impl()
        repeat = args.repeat
        def server_cpu() -> float:
            fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        def up(fn: Callable[[str], None]) -> Prepared:
            return Prepared(fn, fresh, server_cpu=server_cpu)

        def down(fn: Callable[[Path], None]) -> Prepared:
            return Prepared(fn, new_dest, lambda dest: shutil.rmtree(dest, ignore_errors=True), server_cpu)

        # Order: the peer right before the sequential loop (see the module docstring).
        impls = {"hw": up(up_hw), "raw": up(up_raw), "threads": up(up_threads), "tm": up(up_transfer_manager),
                 "prefect": peer_up() if peer else None, "seq": up(up_seq)}
        stats = compare(impls, repeat=repeat, warmup=1)
        rows += _small_rows("upload_from_folder", count, stats, impls)
        impls = {"hw": down(down_hw), "raw": down(down_raw), "threads": down(down_threads),
                 "tm": down(down_transfer_manager),
                 "prefect": peer.timed("download_folder") if peer else None, "seq": down(down_seq)}
        stats = compare(impls, repeat=repeat, warmup=1)
        rows += _small_rows("download_folder_to_path", count, stats, impls)
        stats = compare({"hw": big_up_hw, "gcs": big_up_gcs, "prefect": peer.timed("upload_big") if peer else None},
                        repeat=repeat, warmup=1)
        rows.append(Row(f"upload {big_mb} MB (floor: Blob.upload_from_filename)", stats["hw"], stats["gcs"],
                        stats.get("prefect"), target=1.1 * stats["gcs"].median))
        stats = compare({"hw": big_down_hw, "gcs": big_down_gcs,
                         "prefect": peer.timed("download_big") if peer else None}, repeat=repeat, warmup=1)
        rows.append(Row(f"download {big_mb} MB (floor: Blob.download_to_filename)", stats["hw"], stats["gcs"],
                        stats.get("prefect"), target=1.1 * stats["gcs"].median))
        if peer is not None:
            peer.close()
        area = "gcs" if not download_to else "gcs-download-to-" + "-".join(Path(download_to).resolve().parts[1:])
        missed = harness.report(area, rows, extra={"files": count, "file_size": 1024, "big_mb": big_mb,
                                                   "threads": THREADS, "server": "fake-gcs-server (memory)",
                                                   "downloads_to": str(dest_root)},
                                json_out=not args.no_json)
        return harness.exit_code(missed)
    finally:
        server.stop()


def _small_rows(label: str, count: int, stats: dict[str, harness.Stats], impls: dict[str, Any]) -> list[Row]:
    hand = {name: stats[name] for name in ("threads", "tm", "raw")}
    best_name = min(hand, key=lambda n: hand[n].median)
    described = {"threads": "gcs client on a thread pool", "tm": "transfer_manager threads",
                 "raw": "threads + urllib3 JSON API"}
    rows = [
        Row(f"{label} {count} files vs sequential gcs loop (target >= 4x)", stats["hw"], stats["seq"],
            stats.get("prefect"), target=stats["seq"].median / 4),
        Row(f"{label} {count} files vs best hand-written ({described[best_name]})", stats["hw"], hand[best_name],
            stats.get("prefect"), target=1.25 * hand[best_name].median),
    ]
    others = ", ".join(f"{described[n]} {hand[n].median:.3f}s" for n in hand)
    print(f"{label}: sequential {stats['seq'].median:.3f}s; {others}; headwater {stats['hw'].median:.3f}s "
          f"({stats['seq'].median / stats['hw'].median:.2f}x the sequential loop)")
    cpu = ", ".join(
        f"{name} {harness.Stats.of(impl.cpu_samples).median:.3f}"
        f"+{harness.Stats.of(impl.server_cpu_samples[-len(impl.cpu_samples):]).median:.3f}"
        for name, impl in impls.items() if isinstance(impl, Prepared) and impl.cpu_samples)
    print(f"{label} CPU seconds per call, this process + fake-gcs-server (medians): {cpu}")
    # Client and emulator share this machine's cores: their CPU seconds over the core count
    # is the shortest wall time any scheduling could give Headwater's call, so the
    # sequential loop's time over it is the largest ratio these cores allow.
    cores = os.cpu_count() or 1
    hw = impls["hw"]
    floor = harness.Stats.of([(client + server) / cores for client, server in
                              zip(hw.cpu_samples, hw.server_cpu_samples[-len(hw.cpu_samples):], strict=True)])
    rows.append(Row(f"  CPU-bound limit: (client + fake-gcs-server CPU) / {cores} cores; HW/floor is the best ratio "
                    f"possible here", floor, stats["seq"]))
    print(f"{label}: at most {stats['seq'].median / floor.median:.2f}x the sequential loop on {cores} cores "
          f"even with no core ever idle")
    return rows


PEER_WORKLOAD = textwrap.dedent('''
    """prefect-gcp's GcsBucket on the bench workloads (runs in bench/.venv-prefect)."""
    import tempfile
    from google.auth.credentials import AnonymousCredentials
    from prefect_gcp import GcpCredentials
    from prefect_gcp.cloud_storage import GcsBucket

    # The emulator has no token endpoint: measure prefect-gcp's transfer code, not its auth.
    GcpCredentials.get_credentials_from_service_account = lambda self: AnonymousCredentials()
    S = {}

    def setup(endpoint, src, big, dl_bucket, big_bucket, dest_root):
        S.update(endpoint=endpoint, src=src, big=big, dl=dl_bucket, bigb=big_bucket, dest_root=dest_root)
        S["creds"] = GcpCredentials(project="bench")
        return True

    def _bucket(name):
        return GcsBucket(bucket=name, gcp_credentials=S["creds"])

    def upload_folder(bucket):
        _bucket(bucket).upload_from_folder(S["src"], "run")

    def download_folder(_unused=""):
        _bucket(S["dl"]).download_folder_to_path("run", tempfile.mkdtemp(dir=S["dest_root"]))

    def upload_big(_unused=""):
        _bucket(S["bigb"]).upload_from_path(S["big"], "big-prefect.bin")

    def download_big(_unused=""):
        _bucket(S["bigb"]).download_object_to_path("big-direct.bin", S["dest_root"] + "/big-prefect.bin")
''')


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
