"""``HEADWATER_*`` settings, read from the environment when first needed.

Kept dependency-free (no pydantic-settings) because it is imported on every start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import ConfigError

__all__ = [
    "DEFAULT_HISTORY_MAX_FLOW_RUNS",
    "DEFAULT_HISTORY_MAX_TASK_RUNS",
    "Settings",
    "DATABASE_FIX",
    "HOME_FIX",
    "ensure_folder",
    "get_settings",
    "reset_settings",
]

_SECRET_BACKEND_CHOICES = ("auto", "keyring", "encrypted")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_HISTORY_MAX_FLOW_RUNS = 10_000
DEFAULT_HISTORY_MAX_TASK_RUNS = 2_000_000


@dataclass(frozen=True)
class Settings:
    """The resolved settings of this process.

    Attributes:
        home: Where the embedded store, key file, results and logs live.
        database_url: SQLAlchemy URL of the store.
        database_url_is_default: True when the URL was derived from ``home``.
        secrets_backend: ``auto``, ``keyring``, ``encrypted`` or a plugin backend name.
        secret_key: Key material for the encrypted backend, if given by the environment.
        load_plugins: Allow-list of plugin names, or None for all installed plugins.
        logging_level: Console log level.
        history_max_flow_runs: Run-history cap: the oldest finished flow runs beyond it are
            deleted when a flow starts (``HEADWATER_HISTORY_MAX_FLOW_RUNS``, default 10,000).
        history_max_task_runs: The same cap counted in task runs
            (``HEADWATER_HISTORY_MAX_TASK_RUNS``, default 2,000,000).
    """

    home: Path
    database_url: str
    database_url_is_default: bool
    secrets_backend: str
    secret_key: str | None
    load_plugins: tuple[str, ...] | None
    logging_level: str
    history_max_flow_runs: int
    history_max_task_runs: int


_settings: Settings | None = None


def _positive_int(env: os._Environ[str] | dict[str, str], key: str, default: int) -> int:
    raw = (env.get(key) or "").strip().replace("_", "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{key}={env.get(key)!r} is not a positive whole number: set it to e.g. {default}")
    return int(raw)


def _read() -> Settings:
    env = os.environ
    home = Path(env.get("HEADWATER_HOME") or "~/.headwater").expanduser()
    url = env.get("HEADWATER_DATABASE_URL", "").strip()
    backend = (env.get("HEADWATER_SECRETS_BACKEND") or "auto").strip()
    if not backend:
        raise ConfigError("HEADWATER_SECRETS_BACKEND is empty: use auto, keyring, encrypted or a plugin backend name")
    plugins_raw = env.get("HEADWATER_LOAD_PLUGINS")
    plugins = None
    if plugins_raw is not None:
        plugins = tuple(p.strip() for p in plugins_raw.split(",") if p.strip())
    level = (env.get("HEADWATER_LOGGING_LEVEL") or "INFO").strip().upper()
    if level not in _LEVELS:
        raise ConfigError(f"HEADWATER_LOGGING_LEVEL={level!r} is not a log level: use one of {', '.join(_LEVELS)}")
    return Settings(
        home=home,
        database_url=url or f"sqlite:///{home / 'headwater.db'}",
        database_url_is_default=not url,
        secrets_backend=backend,
        secret_key=env.get("HEADWATER_SECRET_KEY") or None,
        load_plugins=plugins,
        logging_level=level,
        history_max_flow_runs=_positive_int(env, "HEADWATER_HISTORY_MAX_FLOW_RUNS", DEFAULT_HISTORY_MAX_FLOW_RUNS),
        history_max_task_runs=_positive_int(env, "HEADWATER_HISTORY_MAX_TASK_RUNS", DEFAULT_HISTORY_MAX_TASK_RUNS),
    )


def ensure_folder(folder: Path, fix: str) -> Path:
    """Create ``folder`` (and its parents) if needed, or say in one line which setting to change.

    Raises:
        ConfigError: the folder cannot be created; the message ends with ``fix``.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot create the folder {folder} ({why}): {fix}") from None
    return folder


HOME_FIX = "set HEADWATER_HOME to a folder you can write to"
DATABASE_FIX = (
    "set HEADWATER_DATABASE_URL to sqlite:///PATH in a folder you can write to (or unset it to use HEADWATER_HOME)"
)


def get_settings() -> Settings:
    """Return the settings, reading the environment on first use."""
    global _settings
    if _settings is None:
        _settings = _read()
    return _settings


def reset_settings() -> None:
    """Forget cached settings and everything built from them (engine, secret backend).

    Tests call this after changing ``HEADWATER_*`` variables.
    """
    global _settings
    _settings = None
    from headwater import _state

    _state.reset()
