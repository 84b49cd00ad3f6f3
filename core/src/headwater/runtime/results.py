"""Persisted results: serialize a value, write it to result storage, read it back.

Result storage is any :class:`headwater.blocks.ObjectStorage` block (or ``"slug/name"`` of a
saved one); by default plain files under ``HEADWATER_HOME/results`` (no block machinery
imported). A stored result is one object: a header line of JSON (serializer, expiry) and the
serialized bytes.

A result that holds a secret (a ``SecretStr``/``SecretBytes``/``SecretDict`` anywhere in it,
such as a block, or the value of a secret this process loaded) is sealed: its bytes are
encrypted with AES-256-GCM under a key derived from the encrypted secret backend's key
(``HEADWATER_SECRET_KEY`` or ``HEADWATER_HOME/secret.key``) and bound to the result's key. A
sealed result that the current key cannot open is a cache miss: the task runs again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

from headwater import _state
from headwater.dispatch import call_sync
from headwater.runtime._errors import ResultPersistenceError

__all__ = ["LocalResultStore", "SERIALIZERS", "read_result", "resolve_storage", "serialize", "write_result"]

_MAGIC = b"HWRESULT1\n"
SERIALIZERS = ("pickle", "cloudpickle", "json")


class LocalResultStore:
    """The default result storage: files under a folder, written atomically.

    Results can hold anything a task returned, secrets included, so the folder is private to
    its owner (mode 0700) and each file is created with mode 0600.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._private = False

    def write_path(self, path: str, content: bytes) -> str:
        if not self._private:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)  # also a folder made by an earlier version
            self._private = True
        target = self._target(path)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return str(target)

    def read_path(self, path: str) -> bytes:
        return self._target(path).read_bytes()

    def _target(self, path: str) -> Path:
        """``root/path``; a key that would leave the folder (absolute, ``..``) is refused, so
        a cache key such as a file's path can never overwrite that file."""
        root = self.root.resolve()
        target = (root / path).resolve()
        if target == root or not target.is_relative_to(root):
            raise ResultPersistenceError(
                f"result key {path!r} points outside the results folder {str(root)!r}: a cache key must be a "
                f"relative name; hash what identifies the result (e.g. task_input_hash) instead of returning a path"
            )
        return target

    def __repr__(self) -> str:
        return f"LocalResultStore({str(self.root)!r})"


_default: LocalResultStore | None = None
_by_name: dict[str, Any] = {}


@_state.on_reset
def _forget() -> None:
    _by_name.clear()


def resolve_storage(storage: Any) -> Any:
    """Turn a ``result_storage`` option into an object with ``read_path``/``write_path``."""
    global _default
    if storage is None:
        from headwater.settings import get_settings

        root = get_settings().home / "results"
        if _default is None or _default.root != root:
            _default = LocalResultStore(root)
        return _default
    if isinstance(storage, str):
        block = _by_name.get(storage)
        if block is None:  # loaded once per process, not once per task run
            from headwater.blocks import Block

            block = _by_name[storage] = Block.load(storage, _sync=True)
        return block
    if not (hasattr(storage, "write_path") and hasattr(storage, "read_path")):
        raise ResultPersistenceError(
            f"result_storage={storage!r} cannot store results: use a storage block (LocalFileSystem, S3Bucket, ...) "
            f"or the 'slug/name' of a saved one"
        )
    return storage


def serialize(value: Any, serializer: str, what: str) -> bytes:
    return _serialize(value, serializer, what)[0]


_secret_types: dict[type, bool] = {}


class _Spotter:
    """A pickler mixin noting whether any pickled object is a secret type (``get_secret_value``)."""

    holds_secret = False

    def persistent_id(self, obj: Any) -> None:
        kind = type(obj)
        secret = _secret_types.get(kind)
        if secret is None:
            secret = _secret_types[kind] = hasattr(kind, "get_secret_value") and not isinstance(obj, type)
        if secret:
            self.holds_secret = True
        return None


class _SpottingPickler(_Spotter, pickle.Pickler):
    pass


@cache
def _cloud_spotter() -> type:
    import cloudpickle

    return type("_SpottingCloudPickler", (_Spotter, cloudpickle.Pickler), {})


def _dumps(value: Any, serializer: str) -> tuple[bytes, bool]:
    """``(bytes, holds a secret-typed object)`` with pickle or cloudpickle."""
    buffer = io.BytesIO()
    if serializer == "cloudpickle":
        pickler: Any = _cloud_spotter()(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        pickler = _SpottingPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dump(value)
    return buffer.getvalue(), pickler.holds_secret


def _serialize(value: Any, serializer: str, what: str) -> tuple[bytes, str]:
    """``(payload, serializer used)``."""
    payload, used, _secret = _serialize_spotting(value, serializer, what)
    return payload, used


def _serialize_spotting(value: Any, serializer: str, what: str) -> tuple[bytes, str, bool]:
    """``(payload, serializer used, holds a secret-typed object)``: ``"pickle"`` falls back to
    cloudpickle for what the standard pickle cannot take (lambdas, local functions and
    classes), as Prefect's default does."""
    if serializer == "pickle":
        for used in ("pickle", "cloudpickle"):
            try:
                payload, secret = _dumps(value, used)
                return payload, used, secret
            except Exception:
                pass  # neither can: report it as the serializer the user chose
    return _serialize_with(value, serializer, what)


def _serialize_with(value: Any, serializer: str, what: str) -> tuple[bytes, str, bool]:
    try:
        if serializer in ("pickle", "cloudpickle"):
            payload, secret = _dumps(value, serializer)
            return payload, serializer, secret
        if serializer == "json":
            return json.dumps(value).encode(), serializer, False
    except Exception as exc:
        raise ResultPersistenceError(
            f"the result of {what} cannot be persisted with the {serializer!r} serializer "
            f"({type(exc).__name__}: {exc}): return a value it can serialize, set result_serializer=\"cloudpickle\", "
            f"or set persist_result=False"
        ) from None
    raise ResultPersistenceError(f"unknown result_serializer {serializer!r}: use one of {', '.join(SERIALIZERS)}")


def _deserialize(data: bytes, serializer: str) -> Any:
    if serializer == "json":
        return json.loads(data)
    if serializer == "cloudpickle":
        import cloudpickle

        return cloudpickle.loads(data)
    return pickle.loads(data)


def write_result(storage: Any, key: str, value: Any, serializer: str, what: str, expires: float | None = None) -> None:
    """Serialize ``value`` and store it under ``key`` (sealed when it holds a secret).

    Raises:
        ResultPersistenceError: The value cannot be serialized, holds a secret that cannot be
            sealed, or the storage refused it.
    """
    payload, serializer, secret = _serialize_spotting(value, serializer, what)
    meta: dict[str, Any] = {"serializer": serializer, "expires": expires, "created": time.time()}
    if secret or _holds_known_secret(payload):
        payload, meta["sealed"] = _seal(payload, key, what)
    header = json.dumps(meta).encode()
    try:
        # call_sync: an async task's result is written from its event loop's thread, where a
        # storage block's write_path would otherwise hand back a coroutine.
        call_sync(storage.write_path, key, _MAGIC + header + b"\n" + payload)
    except ResultPersistenceError:
        raise
    except Exception as exc:
        from headwater.redaction import redact

        raise ResultPersistenceError(
            f"could not write the result of {what} to {storage!r}: {redact(str(exc))}; check the result storage"
        ) from None


def read_result(storage: Any, key: str) -> tuple[bool, Any]:
    """``(True, value)`` for a stored, unexpired result under ``key``; ``(False, None)`` otherwise
    (also for a sealed result that the current key cannot open)."""
    try:
        blob = call_sync(storage.read_path, key)
    except Exception:
        return False, None
    if not blob.startswith(_MAGIC):
        return False, None
    header_end = blob.index(b"\n", len(_MAGIC))
    header = json.loads(blob[len(_MAGIC):header_end])
    expires = header.get("expires")
    if expires is not None and expires < time.time():
        return False, None
    payload = blob[header_end + 1:]
    try:
        if header.get("sealed"):
            payload = _open_sealed(payload, key, header["sealed"])
        return True, _deserialize(payload, header.get("serializer", "pickle"))
    except Exception:
        return False, None


def _holds_known_secret(payload: bytes) -> bool:
    """Whether the serialized bytes contain the value of a secret this process knows (a block's
    secret a task returned as a plain ``str``)."""
    from headwater.redaction import known_secret_count, known_secrets

    if not known_secret_count():
        return False
    return any(secret.encode() in payload for secret in known_secrets())


_result_keys: dict[bytes, tuple[Any, str]] = {}


def _result_key() -> tuple[Any, str]:
    """The AEAD for results and its key id, derived from the encrypted backend's key (never the key itself)."""
    from headwater.blocks.secrets import _load_key

    key, _source = _load_key()
    found = _result_keys.get(key)
    if found is None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        derived = hashlib.sha256(b"headwater-results\0" + key).digest()
        found = _result_keys[key] = (AESGCM(derived), hashlib.sha256(derived).hexdigest()[:12])
    return found


def _seal(payload: bytes, key: str, what: str) -> tuple[bytes, str]:
    try:
        aead, key_id = _result_key()
    except Exception as exc:
        raise ResultPersistenceError(
            f"the result of {what} holds a secret, so it is persisted encrypted, but there is no key to encrypt it "
            f"with: {exc}"
        ) from None
    nonce = os.urandom(12)
    return nonce + aead.encrypt(nonce, payload, key.encode()), key_id


def _open_sealed(payload: bytes, key: str, key_id: str) -> bytes:
    aead, current = _result_key()
    if current != key_id:
        raise ValueError("sealed with another key")
    return aead.decrypt(payload[:12], payload[12:], key.encode())
