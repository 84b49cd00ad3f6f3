"""``DbtCoreOperation``: run dbt commands in this process, as a saveable block."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from headwater.blocks.core import to_thread
from headwater.errors import ConfigError
from pydantic import Field, field_validator

from headwater_dbt._invocation import DbtInvocation, check_adapter, check_project_dir, import_dbt, invoke, split_command
from headwater_dbt._validation import DbtBlock
from headwater_dbt.profiles import DbtCliProfile, private_profiles_dir

__all__ = ["DbtCoreOperation", "DbtOperationResult", "profile_context"]


class DbtOperationResult(list):
    """dbt's output lines (a ``list[str]``, as Prefect's operation returns), plus per-command detail.

    Attributes:
        invocations: One :class:`~headwater_dbt.DbtInvocation` per command, in order.
    """

    def __init__(self, invocations: list[DbtInvocation]) -> None:
        super().__init__(line for inv in invocations for line in inv.output)
        self.invocations = invocations


class DbtCoreOperation(DbtBlock):
    """Run dbt commands against a project, in-process, with a profile kept in a block.

    Commands run one after another through dbt's programmatic runner (no subprocess per
    command); the parsed project is reused between commands and later runs in the same
    process. dbt's log lines go to the run logger. A command that fails raises
    :class:`~headwater_dbt.DbtRunError` naming the failing nodes.

    Example:
        >>> DbtCoreOperation(
        ...     commands=["dbt deps", "dbt build --select tag:daily"],
        ...     project_dir="analytics",
        ...     dbt_cli_profile=DbtCliProfile.load("my-dbt-profile"),
        ... ).run()  # doctest: +SKIP
    """

    _block_type_slug: ClassVar[str] = "dbt-core-operation"

    commands: list[str] = Field(description="dbt commands to run in order, e.g. 'dbt build --select tag:daily'.")
    project_dir: Path | None = Field(default=None,
                                     description="The dbt project folder (default: the working directory).")
    profiles_dir: Path | None = Field(
        default=None, description="Folder with an existing profiles.yml, used when no dbt_cli_profile is given."
    )
    overwrite_profiles: bool = Field(
        default=False,
        description="Accepted for Prefect compatibility; a dbt_cli_profile is always written to a private "
        "temporary folder and never over an existing profiles.yml.",
    )
    working_dir: Path | None = Field(
        default=None,
        description="The folder the commands run in, as in prefect-dbt: a relative project_dir or profiles_dir "
        "is taken from it, and without project_dir it is the project (default: the working directory).",
    )
    dbt_cli_profile: DbtCliProfile | None = Field(default=None, description="The profile (and its target) to run with.")
    stream_output: bool = Field(default=True, description="Send dbt's log lines to the run logger.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables set while dbt runs.")

    @field_validator("commands")
    @classmethod
    def _dbt_commands(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one dbt command, e.g. ['dbt build']")
        for command in value:
            split_command(command)
        return value

    def run(self) -> DbtOperationResult:
        """Run every command; stop at the first that fails.

        Returns:
            dbt's output lines, with ``.invocations`` holding each command's node results.

        Raises:
            DbtRunError: a command failed (the message lists each failing node and dbt's message).
            DbtProjectError: ``project_dir`` is not a dbt project.
            DbtProfileError: the profile or its target is unusable.
            DbtAdapterNotInstalledError: the target's adapter is not installed.
        """
        project = check_project_dir(self._project())
        done: list[DbtInvocation] = []
        with profile_context(self.dbt_cli_profile, self._profiles_dir(), project, self.env) as (
            profiles_dir, digest, extra_args, flags,
        ):
            for command in self.commands:
                done.append(
                    invoke(
                        command,
                        project,
                        extra_args=_missing(extra_args, split_command(command)),
                        profiles_dir=profiles_dir,
                        profiles_digest=digest,
                        target=self.dbt_cli_profile.target if self.dbt_cli_profile else None,
                        env=self.env,
                        flags=flags,
                        stream_output=self.stream_output,
                    )
                )
        return DbtOperationResult(done)

    def check(self) -> None:
        """Check what :meth:`run` needs, without running dbt: the project folder, then the
        profile (see :meth:`DbtCliProfile.check`) or the profiles.yml in ``profiles_dir``.

        Raises:
            DbtProjectError: ``project_dir`` is not a dbt project.
            DbtProfileError / ConfigError: the profile is unusable or profiles.yml is missing.
            DbtAdapterNotInstalledError: the target's adapter is not installed.
            ConnectionFailedError: (PostgreSQL) the server cannot be reached or refuses the credentials.
        """
        check_project_dir(self._project())
        if self.dbt_cli_profile is not None:
            self.dbt_cli_profile.check()
        elif self.profiles_dir is not None:
            _profiles_folder(self._profiles_dir())

    def _project(self) -> Path:
        base = self.working_dir.expanduser() if self.working_dir else Path.cwd()
        return base / self.project_dir.expanduser() if self.project_dir else base

    def _profiles_dir(self) -> Path | None:
        if self.profiles_dir is None or self.working_dir is None:
            return self.profiles_dir
        return self.working_dir.expanduser() / self.profiles_dir.expanduser()

    async def arun(self) -> DbtOperationResult:
        """:meth:`run` in a worker thread."""
        return await to_thread(self.run)


def _profiles_folder(profiles_dir: str | os.PathLike[str]) -> Path:
    """``profiles_dir`` resolved; a ConfigError if it holds no profiles.yml."""
    folder = Path(profiles_dir).expanduser().resolve()
    if not (folder / "profiles.yml").is_file():
        raise ConfigError(f"no profiles.yml in profiles_dir {folder}: pass a dbt_cli_profile or fix profiles_dir")
    return folder


def _missing(extra: list[str], args: list[str]) -> list[str]:
    """The ``--flag value`` pairs of ``extra`` whose flag the command does not set itself."""
    out = []
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        aliases = {"--target": ("--target", "-t"), "--profile": ("--profile",)}.get(flag, (flag,))
        if not any(a.split("=")[0] in aliases for a in args):
            out += [flag, value]
    return out


@contextlib.contextmanager
def profile_context(
    profile: DbtCliProfile | None,
    profiles_dir: str | os.PathLike[str] | None,
    project: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[Path | None, str, list[str], dict[str, Any]]]:
    """Yield ``(profiles_dir, digest, extra_args, flags)`` for running dbt with ``profile``.

    With a profile block, it is written to a private temporary folder for the duration.
    ``--profile``/``--target`` are passed only where dbt would not pick the block's profile
    and target by itself: dbt keys its partial-parse state on them, so passing them when the
    CLI user does not would make every switch between the CLI and Headwater re-parse the
    whole project.
    """
    if profile is None:
        folder = _profiles_folder(profiles_dir) if profiles_dir else None
        digest = _file_digest(folder / "profiles.yml") if folder else _file_digest(None)
        yield folder, digest, [], {}
        return
    check_adapter(profile.target_configs.type, profile.target)
    flags = _flags(profile)
    import json

    digest = hashlib.sha256(json.dumps(profile.get_profile(), sort_keys=True, default=str).encode()).hexdigest()
    with private_profiles_dir(profile) as folder:
        yield folder, digest, _selection_args(profile, project, env or {}), flags


def _selection_args(profile: DbtCliProfile, project: Path | None, env: dict[str, str]) -> list[str]:
    """``--profile``/``--target`` where dbt's defaults would not select the block's profile and target.

    The written profiles.yml holds only this profile, with ``target:`` set to its target, so
    dbt picks the target by itself unless ``DBT_TARGET`` says otherwise; it picks the profile
    named by the project's ``profile:`` unless ``DBT_PROFILE`` says otherwise.
    """
    def env_var(name: str) -> str | None:
        return env.get(name, os.environ.get(name))

    args = []
    if project is None or env_var("DBT_PROFILE") is not None or _project_profile(project) != profile.name:
        args += ["--profile", profile.name]
    if env_var("DBT_TARGET") is not None:
        args += ["--target", profile.target]
    return args


def _project_profile(project: Path) -> str | None:
    """The ``profile:`` of the project's dbt_project.yml (None when absent or templated)."""
    import re

    try:
        text = (project / "dbt_project.yml").read_text()
    except OSError:
        return None
    m = re.search(r"^profile:[ \t]*[\"']?([^\"'\n#{}]+?)[\"']?[ \t]*(?:#.*)?$", text, re.M)
    return m.group(1).strip() if m else None


def _flags(profile: DbtCliProfile) -> dict[str, Any]:
    if profile.global_configs is None:
        return {}
    flags = profile.global_configs.get_configs()
    if flags:
        known = {p.name for p in import_dbt().cli.params}
        unknown = sorted(set(flags) - known)
        if unknown:
            raise ConfigError(f"unknown dbt global config(s) {', '.join(unknown)}: see `dbt --help` for the flag names")
    return flags


def _file_digest(path: Path | None) -> str:
    if path is None:
        from_env = os.environ.get("DBT_PROFILES_DIR")
        candidates = [Path(from_env) / "profiles.yml"] if from_env else []
        candidates += [Path.cwd() / "profiles.yml", Path.home() / ".dbt" / "profiles.yml"]
        path = next((p for p in candidates if p.is_file()), None)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path else ""
    except OSError:
        return ""
