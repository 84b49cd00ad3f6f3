"""Target configurations: one ``outputs.<target>`` entry of a dbt profile, as a block."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from headwater.blocks import Block, SecretDict
from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from headwater_dbt._validation import DbtBlock
from headwater_dbt.errors import DbtProfileError

__all__ = ["DuckDBTargetConfigs", "PostgresTargetConfigs", "TargetConfigs", "read_profiles_yml"]

# Keys of a dbt target that hold credentials; imported profiles keep them in ``secret_extras``.
_SECRET_KEY = re.compile(r"(pass|secret|token|private_key|keyfile|credential)", re.I)
_BASE_FIELDS = ("type", "schema_", "threads")


def default_profiles_dir() -> Path:
    """Where dbt looks for profiles.yml: ``$DBT_PROFILES_DIR``, else ``~/.dbt``."""
    return Path(os.environ.get("DBT_PROFILES_DIR") or Path.home() / ".dbt")


def read_profiles_yml(profiles_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read and parse ``profiles.yml`` from ``profiles_dir`` (default: dbt's own default).

    Raises:
        DbtProfileError: the file is missing or is not a YAML mapping.
    """
    import yaml

    path = Path(profiles_dir or default_profiles_dir()).expanduser() / "profiles.yml"
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise DbtProfileError(f"no profiles.yml at {path}: pass profiles_dir= or set DBT_PROFILES_DIR") from None
    except yaml.YAMLError as exc:
        raise DbtProfileError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DbtProfileError(f"{path} does not contain a mapping of profiles")
    return data


class TargetConfigs(DbtBlock):
    """The settings of one dbt target (an entry under ``outputs:`` in profiles.yml).

    Adapter-specific settings go in ``extras``; credentials among them go in
    ``secret_extras`` so that they are stored in the secret backend.

    Example:
        >>> TargetConfigs(type="duckdb", schema="main", extras={"path": "dev.duckdb"}).get_configs()
        {'type': 'duckdb', 'schema': 'main', 'threads': 4, 'path': 'dev.duckdb'}
    """

    model_config = ConfigDict(populate_by_name=True)
    _block_type_slug: ClassVar[str] = "dbt-cli-target-configs"

    type: str = Field(description="The dbt adapter type, for example 'duckdb' or 'postgres'.")
    schema_: str = Field(alias="schema", description="The schema dbt builds models in.")
    threads: int = Field(default=4, ge=1, description="How many nodes dbt runs at the same time.")
    extras: dict[str, Any] | None = Field(default=None,
                                          description="Other adapter settings, written into the target as they are.")
    secret_extras: SecretDict | None = Field(
        default=None, description="Adapter settings that are credentials (passwords, tokens, key files)."
    )
    allow_field_overrides: bool = Field(
        default=False,
        description=(
            "When a key of extras duplicates one of this block's own fields, use the field's value (with a "
            "warning) instead of raising an error, as prefect-dbt does."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _extra_keywords(cls, data: Any) -> Any:
        """Keyword arguments that are not fields go into the target, as with prefect-dbt.

        They are moved into ``extras`` (credential-looking ones into ``secret_extras``), so they
        are saved with the block and written into profiles.yml.
        """
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
        unknown = [k for k in data if isinstance(k, str) and k not in known and not k.startswith("_")]
        if not unknown:
            return data
        data = dict(data)
        moved = {k: data.pop(k) for k in unknown}
        plain = {k: v for k, v in moved.items() if not _is_secret_key(k, v)}
        secret = {k: v for k, v in moved.items() if k not in plain}
        if plain:
            data["extras"] = {**(data.get("extras") or {}), **plain}
        if secret:
            current = data.get("secret_extras")
            if hasattr(current, "get_secret_value"):
                current = current.get_secret_value()
            data["secret_extras"] = {**(current or {}), **secret}
        return data

    def check(self) -> None:
        """Check that the settings make a target and that dbt's adapter for ``type`` is installed.

        Raises:
            DbtProfileError: the settings are incomplete.
            DbtAdapterNotInstalledError: the adapter is not installed.
        """
        from headwater_dbt._invocation import check_adapter

        self.get_configs()
        check_adapter(self.type, None)

    def get_configs(self) -> dict[str, Any]:
        """The target as a dict, ready for profiles.yml (secrets included, in plaintext).

        A key of ``extras`` (or ``secret_extras``) that is also one of the block's own settings
        is an error, as in prefect-dbt; with ``allow_field_overrides`` the block's own value is
        used and a warning names the key.

        Raises:
            DbtProfileError: an extras key duplicates a field and ``allow_field_overrides`` is False
                (also a ``ValueError``).
        """
        fields: dict[str, Any] = {"type": self.type, "schema": self.schema_, "threads": self.threads}
        fields.update(self._adapter_configs())
        configs: dict[str, Any] = {}
        for extra in (self.extras or {}, self.secret_extras.get_secret_value() if self.secret_extras else {}):
            configs.update({k: str(v) if isinstance(v, Path) else v for k, v in extra.items() if v is not None})
        clash = sorted(k for k in configs if k in fields)
        if clash and not self.allow_field_overrides:
            raise DbtProfileError(
                f"The keyword, {clash[0]}, has already been provided in {type(self).__name__}: "
                f"remove {', '.join(clash)} from extras, or set allow_field_overrides=True to use the field value(s)"
            )
        if clash:
            warnings.warn(
                f"{type(self).__name__}: extras key(s) {', '.join(clash)} duplicate the block's own settings; "
                "the block's values are used (allow_field_overrides=True)",
                UserWarning,
                stacklevel=2,
            )
        return {**fields, **{k: v for k, v in configs.items() if k not in fields}}

    def _adapter_configs(self) -> dict[str, Any]:
        """Adapter-specific fields of subclasses, as profile keys (secrets in plaintext)."""
        return {}

    @classmethod
    def from_profiles_yml(
        cls,
        profile_name: str | None = None,
        target_name: str | None = None,
        profiles_dir: str | os.PathLike[str] | None = None,
        allow_field_overrides: bool = False,
    ) -> TargetConfigs:
        """Import a target from an existing profiles.yml.

        Jinja such as ``{{ env_var('DBT_PASSWORD') }}`` is kept as written, so dbt renders it
        when it runs. Credentials written literally are moved into ``secret_extras``.

        Args:
            profile_name: The profile to read; the only profile in the file when omitted.
            target_name: The target; the profile's default ``target`` when omitted.
            profiles_dir: The folder holding profiles.yml; dbt's default when omitted.
            allow_field_overrides: Passed to the returned block.

        Returns:
            A block of this class (on ``TargetConfigs`` itself: the generic block).

        Raises:
            DbtProfileError: the file, profile or target does not exist.
        """
        profiles = {k: v for k, v in read_profiles_yml(profiles_dir).items() if k != "config"}
        if profile_name is None:
            if len(profiles) != 1:
                raise DbtProfileError(
                    f"profiles.yml holds {len(profiles)} profiles ({', '.join(sorted(profiles)) or 'none'}): "
                    "pass profile_name="
                )
            profile_name = next(iter(profiles))
        profile = profiles.get(profile_name)
        if not isinstance(profile, dict):
            raise DbtProfileError(
                f"profile {profile_name!r} is not in profiles.yml (found: {', '.join(sorted(profiles)) or 'none'})"
            )
        outputs = profile.get("outputs") or {}
        target_name = target_name or profile.get("target")
        if target_name not in outputs:
            raise DbtProfileError(
                f"profile {profile_name!r} has no target {target_name!r} (targets: "
                f"{', '.join(sorted(outputs)) or 'none'})"
            )
        return cls._from_target_dict(dict(outputs[target_name]), allow_field_overrides)

    @classmethod
    def _from_target_dict(cls, target: dict[str, Any], allow_field_overrides: bool) -> TargetConfigs:
        schema = target.pop("schema", None) or target.pop("dataset", None)
        if schema is None:
            raise DbtProfileError("the target has no 'schema': add one to profiles.yml")
        fields: dict[str, Any] = {"type": target.pop("type", None), "schema_": schema}
        if "threads" in target:
            fields["threads"] = target.pop("threads")
        fields.update(cls._pop_own_fields(target))
        secret = {
            k: target.pop(k) for k in list(target) if _SECRET_KEY.search(k) and isinstance(target[k], (str, dict))
        }
        fields["extras"] = target or None
        fields["secret_extras"] = secret or None
        fields["allow_field_overrides"] = allow_field_overrides
        if fields["type"] is None:
            raise DbtProfileError("the target has no 'type': add the adapter type to profiles.yml")
        return cls(**fields)

    @classmethod
    def _pop_own_fields(cls, target: dict[str, Any]) -> dict[str, Any]:
        return {}


class DuckDBTargetConfigs(TargetConfigs):
    """A dbt-duckdb target: a DuckDB database file (install ``headwater-dbt[duckdb]``).

    Example:
        >>> DuckDBTargetConfigs(path="warehouse.duckdb", schema="main").get_configs()["path"]
        'warehouse.duckdb'
    """

    _block_type_slug: ClassVar[str] = "dbt-cli-duckdb-target-configs"

    type: str = Field(default="duckdb", description="The dbt adapter type; always 'duckdb'.")
    schema_: str = Field(default="main", alias="schema", description="The schema dbt builds models in.")
    path: str = Field(description="The DuckDB database file (':memory:' for a throwaway database).")

    @field_validator("type")
    @classmethod
    def _duckdb(cls, value: str) -> str:
        if value != "duckdb":
            raise ValueError("DuckDBTargetConfigs is for type 'duckdb'; use TargetConfigs for other adapters")
        return value

    def _adapter_configs(self) -> dict[str, Any]:
        return {"path": self.path}

    @classmethod
    def _pop_own_fields(cls, target: dict[str, Any]) -> dict[str, Any]:
        return {"path": target.pop("path", ":memory:")}


class PostgresTargetConfigs(TargetConfigs):
    """A dbt-postgres target (install ``headwater-dbt[postgres]``).

    Give ``credentials`` (a ``DatabaseCredentials`` or ``SqlAlchemyConnector`` block from
    headwater-sql), or the connection fields directly; fields given directly take precedence.

    Example:
        >>> PostgresTargetConfigs(
        ...     host="127.0.0.1", user="etl", password="...", dbname="dw", schema="analytics"
        ... )  # doctest: +SKIP
    """

    _block_type_slug: ClassVar[str] = "dbt-cli-postgres-target-configs"

    type: str = Field(default="postgres", description="The dbt adapter type; always 'postgres'.")
    credentials: Block | None = Field(
        default=None, description="A headwater-sql DatabaseCredentials or SqlAlchemyConnector block to connect with."
    )
    host: str | None = Field(default=None, description="The server's host name.")
    port: int | None = Field(default=None, description="The server's port (5432 when not given anywhere).")
    user: str | None = Field(default=None, description="The user to connect as.")
    password: SecretStr | None = Field(default=None, description="The user's password.")
    dbname: str | None = Field(default=None, description="The database to connect to.")

    @field_validator("type")
    @classmethod
    def _postgres(cls, value: str) -> str:
        if value != "postgres":
            raise ValueError("PostgresTargetConfigs is for type 'postgres'; use TargetConfigs for other adapters")
        return value

    @field_validator("credentials")
    @classmethod
    def _sql_block(cls, value: Block | None) -> Block | None:
        if value is not None and not (hasattr(value, "connection_info") or hasattr(value, "username")):
            raise ValueError(
                f"credentials must be a DatabaseCredentials or SqlAlchemyConnector block, not {type(value).__name__}"
            )
        return value

    def check(self) -> None:
        """Check the settings and adapter, then connect to PostgreSQL with them (``SELECT 1``).

        Raises:
            DbtProfileError: host, user or dbname is missing.
            DbtAdapterNotInstalledError: dbt-postgres is not installed.
            ConnectionFailedError: the server cannot be reached or refuses the credentials.
        """
        super().check()
        try:
            from headwater_sql import DatabaseCredentials
        except ImportError:  # pragma: no cover - headwater-dbt[postgres] installs it
            return
        found = self.get_configs()
        DatabaseCredentials(
            driver="postgresql+psycopg", host=found["host"], port=found["port"], username=found["user"],
            password=found["password"] or None, database=found["dbname"],
        ).check()

    def _adapter_configs(self) -> dict[str, Any]:
        found = _connection_fields(self.credentials) if self.credentials is not None else {}
        own = {"host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname}
        found.update({k: v for k, v in own.items() if v is not None})
        if self.password is not None:
            found["password"] = self.password.get_secret_value()
        missing = [k for k in ("host", "user", "dbname") if not found.get(k)]
        if missing:
            raise DbtProfileError(
                f"the postgres target has no {', '.join(missing)}: set them on PostgresTargetConfigs or its credentials"
            )
        found.setdefault("port", 5432)
        found.setdefault("password", "")
        return found

    @classmethod
    def _pop_own_fields(cls, target: dict[str, Any]) -> dict[str, Any]:
        out = {k: target.pop(k) for k in ("host", "port", "user", "dbname") if k in target}
        if "database" in target and "dbname" not in out:
            out["dbname"] = target.pop("database")
        for key in ("password", "pass"):
            if key in target:
                out["password"] = target.pop(key)
        return out


def _is_secret_key(key: str, value: Any) -> bool:
    return bool(_SECRET_KEY.search(key)) and isinstance(value, (str, dict, SecretStr))


def _connection_fields(block: Block) -> dict[str, Any]:
    """host/port/user/password/dbname from a headwater-sql block (duck-typed: the plugin is optional)."""
    info: Any = getattr(block, "connection_info", block)
    if isinstance(info, SecretStr):
        info = info.get_secret_value()
    if isinstance(info, str):
        url = urlsplit(info)
        if not url.scheme.startswith("postgres"):
            raise DbtProfileError(f"the credentials URL is for {url.scheme.split('+')[0]!r}, not postgresql")
        return _without_none(
            host=url.hostname, port=url.port, user=unquote(url.username or "") or None,
            password=unquote(url.password or "") or None, dbname=url.path.lstrip("/") or None,
        )
    driver = str(getattr(getattr(info, "driver", None), "value", getattr(info, "driver", "")) or "")
    if driver and not driver.startswith("postgres"):
        raise DbtProfileError(f"the credentials are for driver {driver!r}, not postgresql")
    password = getattr(info, "password", None)
    if password is not None and hasattr(password, "get_secret_value"):
        password = password.get_secret_value()
    return _without_none(
        host=getattr(info, "host", None), port=getattr(info, "port", None), user=getattr(info, "username", None),
        password=password, dbname=getattr(info, "database", None),
    )


def _without_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
