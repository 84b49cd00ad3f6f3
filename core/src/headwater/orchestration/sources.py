"""Where a deployment's code comes from: a local folder, a git repository, or a storage block.

A source is saved with the deployment as a small JSON document; :func:`pull` makes the code
available on the host that runs it (the "pull step") and returns the folder to run it from.
Git checkouts and block downloads are cached under ``HEADWATER_HOME/sources`` and refreshed
on every pull, under a file lock so concurrent runs on one host do not trample each other.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from headwater.orchestration.errors import SourceError

__all__ = ["GitRepository", "describe_source", "pull", "to_source"]

_GIT_TIMEOUT = 120


class GitRepository:
    """A git repository as a deployment's source (Prefect's ``GitRepository``).

    Args:
        url: Anything ``git clone`` accepts (``https://...``, ``git@...``, ``file:///...``).
        branch: Branch or tag to check out (the remote's default branch when omitted).
    """

    def __init__(self, url: str, branch: str | None = None) -> None:
        self.url = str(url)
        self.branch = branch

    def to_dict(self) -> dict[str, Any]:
        return {"type": "git", "url": self.url, **({"branch": self.branch} if self.branch else {})}


def _looks_like_git(text: str) -> bool:
    return (
        text.endswith(".git")
        or text.startswith(("git@", "git://", "ssh://"))
        or (
            text.startswith(("https://", "http://"))
            and any(h in text for h in ("github.com", "gitlab.com", "bitbucket.org"))
        )
    )


def to_source(source: Any) -> dict[str, Any]:
    """A source document from a folder path, a git URL, a :class:`GitRepository`, a saved storage
    block, or an already-built document.

    Raises:
        SourceError: The source is of no known kind, a folder that does not exist, or an unsaved block.
    """
    if isinstance(source, dict):
        if source.get("type") not in ("local", "git", "block"):
            raise SourceError(f"source {source!r} has no type local, git or block")
        return dict(source)
    if isinstance(source, GitRepository):
        return source.to_dict()
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, str):
        if _looks_like_git(source) or source.startswith("file://"):
            return {"type": "git", "url": source}
        path = Path(source).expanduser()
        if not path.is_dir():
            raise SourceError(
                f"source folder {source!r} does not exist: give an existing folder, a git URL or a storage block"
            )
        return {"type": "local", "path": str(path.resolve())}
    from headwater.blocks.object_storage import ObjectStorage

    if isinstance(source, ObjectStorage):
        name = source.block_document_name
        if name is None:
            raise SourceError(
                f"the {type(source).__name__} source is not saved: save it first (block.save('name')) so that "
                f"workers on other hosts can load it by name"
            )
        return {"type": "block", "block": f"{source.get_block_type_slug()}/{name}"}
    raise SourceError(f"{type(source).__name__} is not a source: use a folder, a git URL or a storage block")


def describe_source(source: dict[str, Any] | None) -> str:
    if not source:
        return ""
    if source["type"] == "local":
        return source["path"]
    if source["type"] == "git":
        return source["url"] + (f"@{source['branch']}" if source.get("branch") else "")
    return f"block {source['block']}"


def _cache_dir(source: dict[str, Any]) -> Path:
    from headwater.settings import get_settings

    key = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(get_settings().home) / "sources" / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def _locked(folder: Path) -> Any:
    import fcntl

    with open(str(folder) + ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _git(args: list[str], what: str) -> str:
    from headwater.redaction import redact

    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=_GIT_TIMEOUT, env=env)
    except FileNotFoundError:
        raise SourceError(
            "git is not installed on this host: install git (apt-get install git) to pull git sources"
        ) from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"{what} timed out after {_GIT_TIMEOUT} s: check the URL and the network") from None
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or done.stdout).strip().splitlines() if ln.strip()]
        reason = redact(lines[-1] if lines else f"exit code {done.returncode}")
        raise SourceError(f"{what} failed: {reason}")
    return done.stdout


def _pull_git(source: dict[str, Any]) -> Path:
    folder = _cache_dir(source)
    url, branch = source["url"], source.get("branch")
    with _locked(folder):
        if (folder / ".git").is_dir():
            ref = branch or "HEAD"
            _git(["-C", str(folder), "fetch", "--quiet", "--depth", "1", "origin", ref], f"git fetch of {url}")
            _git(["-C", str(folder), "reset", "--quiet", "--hard", "FETCH_HEAD"], f"git checkout of {url}")
        else:
            if folder.exists():
                shutil.rmtree(folder)
            args = ["clone", "--quiet", "--depth", "1", *(["--branch", branch] if branch else []), url, str(folder)]
            _git(args, f"git clone of {url}")
    return folder


def _pull_block(source: dict[str, Any]) -> Path:
    from headwater.blocks import Block

    try:
        block = Block.load(source["block"])
    except Exception as exc:
        raise SourceError(f"source block {source['block']!r} cannot be loaded: {exc}") from None
    folder = _cache_dir(source)
    with _locked(folder):
        staging = folder.with_name(folder.name + ".new")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        try:
            block.get_directory(from_path=source.get("path"), local_path=str(staging))  # type: ignore[attr-defined]
        except Exception as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise SourceError(f"downloading the code from block {source['block']!r} failed: {exc}") from None
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    return folder


def pull(source: dict[str, Any] | None) -> Path:
    """Make the source's code available on this host; returns its folder.

    Raises:
        SourceError: The folder is missing, the repository or block cannot be reached.
    """
    if not source:
        return Path.cwd()
    kind = source.get("type")
    if kind == "local":
        path = Path(source["path"])
        if not path.is_dir():
            raise SourceError(f"source folder {source['path']!r} does not exist on this host")
        return path
    if kind == "git":
        return _pull_git(source)
    if kind == "block":
        return _pull_block(source)
    raise SourceError(f"unknown source type {kind!r}")
