"""dbt profiles as blocks, and the private profiles.yml written for a run."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from headwater.redaction import remember
from pydantic import Field

from headwater_dbt._validation import DbtBlock
from headwater_dbt.errors import DbtProfileError
from headwater_dbt.targets import TargetConfigs

__all__ = ["DbtCliProfile", "GlobalConfigs", "private_profiles_dir"]


class GlobalConfigs(DbtBlock):
    """dbt's global flags (``send_anonymous_usage_stats``, ``partial_parse``, ...).

    Headwater passes them to dbt as flags of each invocation rather than as the ``config:``
    section of profiles.yml, which dbt deprecates.
    """

    _block_type_slug: ClassVar[str] = "dbt-cli-global-configs"

    send_anonymous_usage_stats: bool | None = Field(default=None,
                                                    description="Send anonymous usage statistics to dbt Labs.")
    use_colors: bool | None = Field(default=None, description="Colorize dbt's console output.")
    partial_parse: bool | None = Field(default=None, description="Re-parse only the files that changed.")
    printer_width: int | None = Field(default=None, description="Width of dbt's console output.")
    write_json: bool | None = Field(default=None, description="Write manifest.json and run_results.json.")
    warn_error: bool | None = Field(default=None, description="Treat warnings as errors.")
    log_format: str | None = Field(default=None, description="dbt's log format: text, json or default.")
    debug: bool | None = Field(default=None, description="Log debug messages.")
    version_check: bool | None = Field(default=None,
                                       description="Check that the project's require-dbt-version matches.")
    fail_fast: bool | None = Field(default=None, description="Stop at the first failing node.")
    use_experimental_parser: bool | None = Field(default=None, description="Use dbt's experimental parser.")
    static_parser: bool | None = Field(default=None, description="Use dbt's static parser.")
    extras: dict[str, Any] | None = Field(default=None, description="Other global flags, by dbt's parameter name.")

    def get_configs(self) -> dict[str, Any]:
        """The flags that are set, by dbt parameter name."""
        configs = {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name != "extras" and getattr(self, name) is not None
        }
        configs.update(self.extras or {})
        return configs


class DbtCliProfile(DbtBlock):
    """A dbt profile: a name, the target to use, and its settings.

    Example:
        >>> profile = DbtCliProfile(
        ...     name="jaffle_shop", target="dev",
        ...     target_configs=DuckDBTargetConfigs(path="dev.duckdb", schema="main"),
        ... )
        >>> profile.save("my-dbt-profile")  # doctest: +SKIP
    """

    _block_type_slug: ClassVar[str] = "dbt-cli-profile"

    name: str = Field(description="The profile name; must match `profile:` in dbt_project.yml.")
    target: str = Field(description="The target to run against (a key under `outputs:`).")
    target_configs: TargetConfigs = Field(description="The target's settings.")
    global_configs: GlobalConfigs | None = Field(default=None, description="dbt's global flags.")

    def check(self) -> None:
        """Check the profile: a name and a target, the target's settings, its adapter and,
        for PostgreSQL, a connection with its credentials. dbt itself is not run.

        Raises:
            DbtProfileError: the profile or its target is incomplete.
            DbtAdapterNotInstalledError: the target's adapter is not installed.
            ConnectionFailedError: (PostgreSQL) the server cannot be reached or refuses the credentials.
        """
        from headwater_dbt._invocation import check_adapter

        check_target(self)
        check_adapter(self.target_configs.type, self.target)
        self.target_configs.check()

    def get_profile(self) -> dict[str, Any]:
        """The content of profiles.yml for this profile, as a dict (secret values in plaintext)."""
        profile: dict[str, Any] = {
            self.name: {"target": self.target, "outputs": {self.target: self.target_configs.get_configs()}}
        }
        if self.global_configs is not None:
            profile["config"] = self.global_configs.get_configs()
        return profile

    @classmethod
    def from_profiles_yml(
        cls, profile_name: str | None = None, target_name: str | None = None,
        profiles_dir: str | os.PathLike[str] | None = None
    ) -> DbtCliProfile:
        """Import a whole profile (its chosen target) from an existing profiles.yml.

        Raises:
            DbtProfileError: the file, profile or target does not exist.
        """
        from headwater_dbt.targets import DuckDBTargetConfigs, PostgresTargetConfigs, read_profiles_yml

        profiles = read_profiles_yml(profiles_dir)
        generic = TargetConfigs.from_profiles_yml(profile_name, target_name, profiles_dir)
        names = [k for k in profiles if k != "config"]
        profile_name = profile_name or names[0]
        target_name = target_name or profiles[profile_name].get("target")
        specific = {"duckdb": DuckDBTargetConfigs, "postgres": PostgresTargetConfigs}.get(generic.type)
        target = specific.from_profiles_yml(profile_name, target_name, profiles_dir) if specific else generic
        return cls(name=profile_name, target=target_name, target_configs=target)


@contextlib.contextmanager
def private_profiles_dir(profile: DbtCliProfile) -> Iterator[Path]:
    """Write ``profile`` to a profiles.yml in a fresh private directory; remove it afterwards.

    The directory is mode 0700 and the file 0600, outside any project directory, so the
    credentials in it are readable by this user only and only while dbt runs.
    """
    import yaml

    content = profile.get_profile()
    content.pop("config", None)  # passed to dbt as flags instead
    for target in content[profile.name]["outputs"].values():
        remember(target.get("password"))
    folder = Path(tempfile.mkdtemp(prefix="headwater-dbt-"))
    try:
        os.chmod(folder, 0o700)
        fd = os.open(folder / "profiles.yml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(content, fh, sort_keys=False)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_target(profile: DbtCliProfile) -> None:
    """Raise a clear error when the profile cannot work, before dbt is involved."""
    if not profile.name.strip() or not profile.target.strip():
        raise DbtProfileError("a dbt profile needs a name and a target")
