"""Prefect's ``prefect.filesystems``: ``LocalFileSystem`` (object stores are in the plugins)."""

from typing import Any

from headwater.blocks.system import LocalFileSystem

__all__ = ["LocalFileSystem"]

_ELSEWHERE = {
    "RemoteFileSystem": "use headwater_aws.S3Bucket or headwater_gcs.GcsBucket for a remote store",
    "SMB": "SMB shares are not supported: mount the share and use LocalFileSystem(basepath=...)",
    "GitHubRepository": "not supported: clone the repository and use LocalFileSystem",
}


def __getattr__(name: str) -> Any:
    from headwater._compat import unsupported

    return unsupported(__name__, name, _ELSEWHERE)
