"""Turn google-cloud-storage / transport exceptions into one clear Headwater error."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.blocks.buckets import Where as _Where
from headwater.blocks.buckets import is_caused_by
from headwater.error_compat import keeping_library_class
from headwater.errors import (
    ConnectionFailedError,
    HeadwaterError,
    ObjectNotFoundError,
    StorageError,
    TransferError,
)
from headwater.redaction import redact

__all__ = ["Where", "is_connection_error", "translate"]


@dataclass(frozen=True)
class Where(_Where):
    """What an operation was touching, for error messages: ``gs://bucket/blob (endpoint ...)``."""

    service: str = "GCS"
    scheme: str = "gs"


def is_connection_error(exc: BaseException) -> bool:
    import http.client
    import socket
    import ssl

    import requests
    import urllib3.exceptions

    connection_types: tuple[type[BaseException], ...] = (
        http.client.HTTPException,  # a malformed or cut-short response (IncompleteRead, ...)
        ssl.SSLError,  # TLS handshake or certificate failure
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        urllib3.exceptions.HTTPError,
        ConnectionError,
        TimeoutError,
        socket.gaierror,  # the endpoint's host name does not resolve
    )
    return is_caused_by(exc, connection_types)


def _translate(exc: BaseException, action: str, where: Where, bucket_exists: bool | None = None) -> HeadwaterError:
    """One :class:`HeadwaterError` for ``exc`` raised while doing ``action`` on ``where``.

    Args:
        exc: What google-cloud-storage, google-auth or the transport raised.
        action: A verb phrase, e.g. ``"download"``.
        where: Endpoint, bucket and blob involved.
        bucket_exists: For a 404, whether the bucket exists (None: unknown).

    :data:`translate` makes the error also an instance of ``exc``'s class where Python allows
    it (e.g. google-api-core's ``NotFound``), so ``except`` clauses written for the library still catch it.
    """
    if isinstance(exc, HeadwaterError):
        return exc
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    if isinstance(exc, gexc.NotFound) or getattr(exc, "code", None) == 404:
        if bucket_exists is False or (where.blob is None and where.bucket):
            return ObjectNotFoundError(
                f"cannot {action}: bucket {where.bucket!r} does not exist at {where.endpoint}; "
                "check the bucket name or create it with GcsBucket.create_bucket()"
            )
        return ObjectNotFoundError(f"cannot {action}: no object {where}")
    if isinstance(exc, gexc.PreconditionFailed) or getattr(exc, "code", None) == 412:
        return StorageError(
            f"cannot {action} {where}: a precondition did not hold (412), e.g. if_generation_match=0 "
            "and the object already exists, or the object changed since its generation was read"
        )
    if isinstance(exc, (gexc.Forbidden, gexc.Unauthorized)) or getattr(exc, "code", None) in (401, 403):
        return ConnectionFailedError(
            f"cannot {action} {where}: access denied ({getattr(exc, 'code', '?')}); "
            "check the service account's permissions on the bucket"
        )
    if isinstance(exc, auth_exc.RefreshError):
        # google-auth puts its own summary first and the token service's whole answer second.
        reason = redact(exc.args[0]).strip()[:300] if exc.args and isinstance(exc.args[0], str) else _short(exc)
        return ConnectionFailedError(
            f"cannot {action} {where}: Google refused the credentials ({reason}); "
            "check the service-account key or run `gcloud auth application-default login`"
        )
    if isinstance(exc, gexc.RetryError) or is_connection_error(exc) or isinstance(exc, auth_exc.TransportError):
        return ConnectionFailedError(
            f"cannot {action} {where}: the endpoint cannot be reached ({_socket_error(exc) or _short(exc)}); "
            "is the server running, and are GcpCredentials.endpoint / STORAGE_EMULATOR_HOST right?"
        )
    try:
        from google.resumable_media.common import DataCorruption
    except ImportError:  # pragma: no cover - older google-cloud-storage
        DataCorruption = ()  # type: ignore[assignment,misc]
    if isinstance(exc, DataCorruption):
        return TransferError(f"cannot {action} {where}: checksum mismatch, nothing was kept ({_short(exc)})")
    if isinstance(exc, gexc.GoogleAPICallError):
        return StorageError(f"cannot {action} {where}: {getattr(exc, 'code', '')} {_short(exc)}".replace("  ", " "))
    if isinstance(exc, OSError):
        return StorageError(f"cannot {action} {where}: {type(exc).__name__}: {_short(exc)}")
    return StorageError(f"cannot {action} {where}: {type(exc).__name__}: {_short(exc)}")


def _socket_error(exc: BaseException) -> str | None:
    """The operating system's words for the network failure under a transport error
    ("Connection refused", "Name or service not known"), found through causes, requests' and
    urllib3's wrapped exceptions; None if there is none."""
    import errno
    import socket

    network_errnos = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror and (
                isinstance(current, (ConnectionError, socket.gaierror)) or current.errno in network_errnos):
            return str(current.strerror)
        pending += [current.__cause__, current.__context__, getattr(current, "cause", None),
                    getattr(current, "reason", None), *current.args]
    return None


def _short(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)  # google.api_core RetryError: the last failure
    if isinstance(cause, BaseException):
        exc = cause
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    first = redact(str(message)).strip().splitlines()[0] if str(message).strip() else type(exc).__name__
    return first[:300]


translate = keeping_library_class(_translate)
"""One :class:`HeadwaterError` for a client error, also of the client error's class (see ``_translate``)."""
