"""``headwater s3|gcs upload|download|ls``: the folder-transfer commands of a bucket block type.

A plugin builds its command group with :func:`bucket_commands` and registers it through the
``register_commands`` hook; only the block class and the group's name differ between plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from headwater.cli._output import emit, output_option

__all__ = ["bucket_commands"]


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


def _listing_row(obj: dict[str, Any]) -> dict[str, Any]:
    modified = obj.get("last_modified")
    return {"key": obj["key"], "size": int(obj.get("size") or 0),
            "last_modified": modified.isoformat() if modified is not None else None}


def bucket_commands(name: str, type_name: str, load: Callable[[str], Any]) -> click.Group:
    """The ``upload``, ``download`` and ``ls`` commands for one bucket block type.

    Args:
        name: The group's name (``s3``, ``gcs``).
        type_name: The block class's name, for help texts (``S3Bucket``).
        load: Loads a saved block of that type by name (imports the plugin lazily).
    """

    @click.group(name, help=f"Copy folders to and from a saved {type_name} block.")
    def group() -> None:
        pass

    @group.command("upload", help=f"Upload LOCAL_FOLDER into the {type_name} block BLOCK_NAME.")
    @click.argument("block_name")
    @click.argument("local_folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--to", "to_folder", default=None, help="Destination folder inside the block's bucket_folder.")
    @click.option("--skip-unchanged", is_flag=True, help="Skip files whose object has the same size and checksum.")
    @click.option("--ignore-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                  help="A .gitignore-style file of patterns to leave out.")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    def upload(block_name: str, local_folder: Path, to_folder: str | None, skip_unchanged: bool,
               ignore_file: Path | None, quiet: bool) -> None:
        from headwater.blocks.object_storage import iter_local_files

        bucket = load(block_name)
        files = list(iter_local_files(local_folder, ignore_file))
        total = sum(path.stat().st_size for path, _rel in files)
        with _progress(total, f"upload {len(files)} files", quiet) as report:
            done = bucket.upload_folder_counted(local_folder, to_folder, skip_unchanged=skip_unchanged,
                                                progress=report, ignore_file=ignore_file)
        skipped = f", skipped {done.skipped} unchanged" if skip_unchanged else ""
        click.echo(f"uploaded {done.uploaded} file(s){skipped} to {bucket.object_url(done.destination)}")

    @group.command("download", help=f"Download FOLDER (default: everything) of the {type_name} block BLOCK_NAME.")
    @click.argument("block_name")
    @click.argument("folder", default="")
    @click.option("--to", "local_folder", default=".", type=click.Path(file_okay=False, path_type=Path),
                  help="Local folder to download into (default: here).")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    def download(block_name: str, folder: str, local_folder: Path, quiet: bool) -> None:
        bucket = load(block_name)
        objects = bucket.list_objects(folder)
        total = sum(int(obj["size"] or 0) for obj in objects)
        with _progress(total, f"download {len(objects)} files", quiet) as report:
            target = bucket.download_folder_to_path(folder, local_folder, progress=report)
        click.echo(f"downloaded {len(objects)} file(s) to {target}")

    @group.command("ls", help=f"List the objects under FOLDER of the {type_name} block BLOCK_NAME.")
    @click.argument("block_name")
    @click.argument("folder", default="")
    @output_option
    def ls(block_name: str, folder: str, output: str) -> None:
        rows = [_listing_row(obj) for obj in load(block_name).list_objects(folder)]
        if output == "json":
            emit(rows, ["key", "size", "last_modified"], output)
            return
        for row in rows:
            click.echo(f"{row['size']:>12}  {row['key']}")

    return group
