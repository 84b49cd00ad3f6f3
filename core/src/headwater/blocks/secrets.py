"""Secret backends: where secret field values go instead of the store.

- ``keyring``: the OS keyring, used only when keyring has a real backend (never keyring's
  ``fail``/``null`` backends or keyrings.alt's plaintext files).
- ``encrypted``: AES-256-GCM in the store, key from ``HEADWATER_SECRET_KEY`` or a key file
  created with mode 0600 in ``HEADWATER_HOME``; the ciphertext is bound to the document and
  field it belongs to.
- plugin backends registered through ``register_secret_backends``.

``auto`` picks keyring when usable, else encrypted, and says why; never plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import sys
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from headwater import _state
from headwater.errors import ConfigError, SecretBackendError
from headwater.settings import get_settings

__all__ = ["EncryptedBackend", "KeyringBackend", "SecretBackend", "get_secret_backend", "keyring_status",
           "resolve_backend_name"]


class SecretBackend(ABC):
    """Stores and retrieves secret values for block documents.

    ``ref`` identifies one secret field of one document (stable across machines sharing a
    store). ``store`` returns what to keep in the store's secret table (for example the
    ciphertext), or None when the backend keeps the value itself.
    """

    name: str = ""

    @abstractmethod
    def store(self, ref: str, plaintext: str) -> str | None: ...

    @abstractmethod
    def load(self, ref: str, stored: str | None) -> str: ...

    def delete(self, ref: str, stored: str | None) -> None:  # noqa: B027 - optional
        """Forget the value (no-op for backends that keep nothing outside the store)."""

    def describe(self) -> str:
        return self.name


class EncryptedBackend(SecretBackend):
    """AES-256-GCM encryption at rest; the document/field reference is the associated data."""

    name = "encrypted"
    _PREFIX = "v1"

    def __init__(self) -> None:
        key, source = _load_key()
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(key).hexdigest()[:12]
        self.source = source
        self._others = {k: n for k, n in _store_key_ids().items() if k != self.key_id}

    def store(self, ref: str, plaintext: str) -> str:
        if self._others:  # one store, one key: a second key would make some blocks unloadable wherever they go
            held = ", ".join(f"{n} secret(s) with key {k}" for k, n in sorted(self._others.items()))
            raise SecretBackendError(
                f"this store's secrets are encrypted with another key ({held}), but the current key ({self.source}) "
                f"is {self.key_id}: set HEADWATER_SECRET_KEY to the key they were saved with (or restore that key "
                f"file), or use a separate store (HEADWATER_HOME) for this key"
            )
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), ref.encode())
        return f"{self._PREFIX}:{self.key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def load(self, ref: str, stored: str | None) -> str:
        corrupted = (
            "the stored secret is corrupted in the store ({}): save the block again with its secret "
            "(headwater block create --overwrite, or save(overwrite=True))"
        )
        try:
            prefix, key_id, blob = (stored or "").split(":", 2)
        except ValueError:
            raise SecretBackendError(corrupted.format("not in the encrypted backend's format")) from None
        if key_id != self.key_id:
            raise SecretBackendError(
                f"a secret of this block was encrypted with key {key_id}, but the current key ({self.source}) is "
                f"{self.key_id}: set HEADWATER_SECRET_KEY to the key used where the block was saved"
            )
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            raise SecretBackendError(corrupted.format("not valid base64")) from None
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(raw[:12], raw[12:], ref.encode()).decode()
        except (InvalidTag, ValueError):
            raise SecretBackendError(
                "a stored secret failed its integrity check (tampered with, or moved between documents); re-save the "
                "block"
            ) from None

    def describe(self) -> str:
        return f"encrypted (AES-256-GCM, key {self.key_id} from {self.source})"


def _load_key() -> tuple[bytes, str]:
    settings = get_settings()
    if settings.secret_key:
        return _key_from_text(settings.secret_key, "HEADWATER_SECRET_KEY"), "HEADWATER_SECRET_KEY"
    path = settings.home / "secret.key"
    if not path.exists():
        held = _store_key_ids()
        # a process starting together with this one may have created the key and saved with it meanwhile
        if held and not path.exists():  # a new key could decrypt none of them: the key file was deleted
            keys = ", ".join(f"{n} with key {k}" for k, n in sorted(held.items()))
            raise SecretBackendError(
                f"the key file {path} is missing, but the store holds secrets encrypted with it ({keys}): restore "
                f"the key file from a backup (or set HEADWATER_SECRET_KEY to its key); to start over without those "
                f"secrets, delete the blocks that hold them (headwater block delete)"
            )
        if not path.exists():
            _create_key_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretBackendError(f"key file {path} is readable by other users (mode {mode:o}): run chmod 600 {path}")
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError:
        raise SecretBackendError(
            f"the key file {path} is damaged (it is not a key: a key file holds one line of base64 text): restore it "
            f"from a backup, or set HEADWATER_SECRET_KEY to the key"
        ) from None
    return _key_from_text(text.strip(), f"the key file {path}"), str(path)


def _store_key_ids() -> dict[str, int]:
    """``{key id: number of secrets}`` of the encrypted backend's secrets in the store: each
    ciphertext records the fingerprint of the key that sealed it."""
    try:
        from headwater.store.engine import db_read

        with db_read() as tx:  # "v1:<12 hex digits of key id>:<sealed value>"
            rows = tx.execute(
                "SELECT SUBSTR(stored, 4, 12) AS key_id, COUNT(*) AS n FROM block_secrets "
                "WHERE backend = 'encrypted' AND stored LIKE 'v1:%' GROUP BY SUBSTR(stored, 4, 12)"
            )
    except Exception:  # no store yet, or one that cannot be read: nothing to compare with
        return {}
    return {r.key_id: int(r.n) for r in rows}


def _create_key_file(path: Path) -> None:
    """Create ``path`` holding a new random key, atomically.

    The key is written to a private temporary file first and then hard-linked into place, so
    the key file never exists half-written: when several processes start at once, exactly one
    link succeeds and every other process reads that winner's complete file.
    """
    import tempfile

    from headwater.settings import HOME_FIX, ensure_folder

    ensure_folder(path.parent, HOME_FIX)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".secret.key.", dir=path.parent)  # mode 0600
    except OSError as exc:
        raise SecretBackendError(
            f"cannot write the key file {path} ({exc.strerror or type(exc).__name__}): {HOME_FIX}, or set "
            "HEADWATER_SECRET_KEY"
        ) from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; its file is complete
    finally:
        os.unlink(tmp)


def _key_from_text(text: str, source: str = "HEADWATER_SECRET_KEY") -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(raw) == 32:
            return raw
    except ValueError:
        pass
    if len(text) < 16:
        if source == "HEADWATER_SECRET_KEY":
            raise ConfigError(
                "HEADWATER_SECRET_KEY is too short: use 32 random bytes, base64-encoded (headwater config new-key)"
            )
        raise SecretBackendError(
            f"{source} is damaged (it does not hold a key): restore it from a backup; if the secrets it encrypted "
            f"are lost, delete it and re-save the blocks that have secrets"
        )
    return hashlib.sha256(b"headwater-secret-key\0" + text.encode()).digest()


_REJECTED = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def _linux_without_keyring_service() -> str | None:
    """On Linux, the real keyrings (Secret Service, KWallet) live on the D-Bus session bus.
    Without that bus and without an explicit keyring configuration, none can be usable, and
    keyring's full probe (which imports every backend) can be skipped."""
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("PYTHON_KEYRING_BACKEND"):
        return None
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    if (config_home / "python_keyring" / "keyringrc.cfg").exists():
        return None
    return "no D-Bus session bus here, so no OS keyring (Secret Service/KWallet) is reachable"


def _rejected(backend: Any) -> bool:
    module = type(backend).__module__
    return module.startswith(_REJECTED) or "Plaintext" in type(backend).__name__


def _real_keyring(quick: bool = False) -> tuple[Any, str]:
    """The highest-priority real keyring backend, or None, and a sentence saying why.

    keyring's chainer is never used: when its first backend refuses a write it falls through
    to the next, which may be a plaintext file.
    """
    if quick:
        why = _linux_without_keyring_service()
        if why is not None:
            return None, why
    try:
        import keyring
        from keyring.backends import chainer
    except ImportError:
        return None, "the keyring package is not installed"
    try:
        kr = keyring.get_keyring()
    except Exception as exc:
        return None, f"keyring failed to start ({type(exc).__name__})"
    backends = list(kr.backends) if isinstance(kr, chainer.ChainerBackend) else [kr]
    real = [b for b in backends if not _rejected(b)]
    if not real:
        shown = ", ".join(f"{type(b).__module__}.{type(b).__name__}" for b in backends) or "none"
        return None, f"keyring's backend here is {shown}, which is not a real keyring"
    chosen = real[0]
    return chosen, f"keyring backend {type(chosen).__module__}.{type(chosen).__name__}"


def keyring_status(quick: bool = False) -> tuple[bool, str]:
    """Whether keyring has a real backend here, and a sentence saying why.

    With ``quick``, a Linux machine with no D-Bus session bus is answered without importing
    keyring's backends.
    """
    backend, why = _real_keyring(quick)
    return backend is not None, why


class KeyringBackend(SecretBackend):
    """The operating system's keyring (macOS Keychain, Windows Credential Locker, Secret Service)."""

    name = "keyring"
    service = "headwater"

    def __init__(self) -> None:
        backend, why = _real_keyring()
        if backend is None:
            raise SecretBackendError(
                f"HEADWATER_SECRETS_BACKEND=keyring but {why}: install/unlock an OS keyring or use "
                "HEADWATER_SECRETS_BACKEND=encrypted"
            )
        self._keyring = backend
        url = get_settings().database_url
        self._scope = hashlib.sha256(url.encode()).hexdigest()[:10]
        self.why = why

    def _user(self, ref: str) -> str:
        return f"{self._scope}/{ref}"

    def store(self, ref: str, plaintext: str) -> None:
        try:
            self._keyring.set_password(self.service, self._user(ref), plaintext)
        except Exception as exc:
            raise SecretBackendError(
                f"the keyring refused to store a secret ({type(exc).__name__}): is it unlocked?"
            ) from None
        return None

    def load(self, ref: str, stored: str | None) -> str:
        try:
            value = self._keyring.get_password(self.service, self._user(ref))
        except Exception as exc:
            raise SecretBackendError(
                f"the keyring refused to read a secret ({type(exc).__name__}): is it unlocked?"
            ) from None
        if value is None:
            raise SecretBackendError(
                "a secret of this block is not in this machine's keyring (saved on another machine?): "
                "re-save it here, or use HEADWATER_SECRETS_BACKEND=encrypted with a shared HEADWATER_SECRET_KEY"
            )
        return value

    def delete(self, ref: str, stored: str | None) -> None:
        try:
            self._keyring.delete_password(self.service, self._user(ref))
        except Exception:
            pass

    def describe(self) -> str:
        return f"keyring ({self.why})"


_lock = threading.Lock()
_instances: dict[str, SecretBackend] = {}
_auto_choice: tuple[str, str] | None = None


@_state.on_reset
def _forget() -> None:
    global _auto_choice
    _instances.clear()
    _auto_choice = None


def resolve_backend_name() -> tuple[str, str]:
    """The backend new secrets go to, and why (for ``headwater config``)."""
    global _auto_choice
    configured = get_settings().secrets_backend
    if configured != "auto":
        return configured, "set by HEADWATER_SECRETS_BACKEND"
    if _auto_choice is None:
        if get_settings().secret_key:
            _auto_choice = ("encrypted", "auto: HEADWATER_SECRET_KEY is set")
        else:
            usable, why = keyring_status(quick=True)
            if usable:
                _auto_choice = ("keyring", f"auto: {why}")
            else:
                _auto_choice = ("encrypted", f"auto: {why}, so secrets are encrypted with a local key file")
    return _auto_choice


def get_secret_backend(name: str | None = None) -> SecretBackend:
    """Return the backend called ``name`` (default: the configured one), creating it once."""
    if name is None:
        name = resolve_backend_name()[0]
    backend = _instances.get(name)
    if backend is not None:
        return backend
    with _lock:
        if name in _instances:
            return _instances[name]
        factory: Any
        if name == "encrypted":
            factory = EncryptedBackend
        elif name == "keyring":
            factory = KeyringBackend
        else:
            from headwater.plugins import secret_backend_factories

            entry = secret_backend_factories().get(name)
            if entry is None:
                known = ", ".join(sorted({"auto", "encrypted", "keyring", *secret_backend_factories()}))
                raise ConfigError(f"unknown secret backend {name!r}: use one of {known} (plugins add more)")
            factory = entry[1]
        backend = factory()
        _instances[name] = backend
        return backend
