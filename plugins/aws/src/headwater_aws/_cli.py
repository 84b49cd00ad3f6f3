"""``headwater s3 upload|download|ls``: folder transfers with a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

__all__ = ["s3"]


@click.group("s3")
def s3() -> None:
    """Copy folders to and from a saved S3Bucket block."""


@contextmanager
def _progress(total: int, label: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    if quiet:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        yield lambda nbytes: bar.advance(task, nbytes)


def _load(block_name: str) -> Any:
    from headwater_aws._bucket import S3Bucket

    return S3Bucket.load(block_name)


@s3.command("upload")
@click.argument("block_name")
@click.argument("local_folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--to", "to_folder", default=None, help="Destination folder inside the block's bucket_folder.")
@click.option("--skip-unchanged", is_flag=True, help="Skip files whose object has the same size and checksum.")
@click.option("--ignore-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A .gitignore-style file of patterns to leave out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def upload(block_name: str, local_folder: Path, to_folder: str | None, skip_unchanged: bool,
           ignore_file: Path | None, quiet: bool) -> None:
    """Upload LOCAL_FOLDER into the S3Bucket block BLOCK_NAME."""
    from headwater.blocks.object_storage import iter_local_files

    bucket = _load(block_name)
    files = list(iter_local_files(local_folder, ignore_file))
    total = sum(path.stat().st_size for path, _rel in files)
    with _progress(total, f"upload {len(files)} files", quiet) as report:
        dest = bucket.upload_from_folder(local_folder, to_folder, skip_unchanged=skip_unchanged, progress=report,
                                         ignore_file=ignore_file)
    click.echo(f"uploaded {len(files)} file(s) to s3://{bucket.bucket_name}/{dest or ''}")


@s3.command("download")
@click.argument("block_name")
@click.argument("folder", default="")
@click.option("--to", "local_folder", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="Local folder to download into (default: here).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def download(block_name: str, folder: str, local_folder: Path, quiet: bool) -> None:
    """Download FOLDER (default: everything) of the S3Bucket block BLOCK_NAME."""
    bucket = _load(block_name)
    objects = bucket.list_objects(folder)
    total = sum(int(obj["size"] or 0) for obj in objects)
    with _progress(total, f"download {len(objects)} files", quiet) as report:
        target = bucket.download_folder_to_path(folder, local_folder, progress=report)
    click.echo(f"downloaded {len(objects)} file(s) to {target}")


@s3.command("ls")
@click.argument("block_name")
@click.argument("folder", default="")
def ls(block_name: str, folder: str) -> None:
    """List the objects under FOLDER of the S3Bucket block BLOCK_NAME (size and key)."""
    for obj in _load(block_name).list_objects(folder):
        click.echo(f"{obj['size']:>12}  {obj['key']}")
