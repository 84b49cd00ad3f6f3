"""Turn botocore / s3transfer exceptions into one clear Headwater error naming bucket, key and endpoint."""

from __future__ import annotations

from headwater.blocks.buckets import Where, is_caused_by
from headwater.error_compat import keeping_library_class
from headwater.errors import ConnectionFailedError, HeadwaterError, ObjectNotFoundError, StorageError
from headwater.redaction import redact

__all__ = ["Where", "error_code", "is_connection_error", "translate"]

_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchUpload"}
_NO_BUCKET = {"NoSuchBucket"}
_AUTH = {
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "Forbidden", "ExpiredToken",
    "InvalidToken", "InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure",
    "AccessDeniedException", "InvalidSignatureException",
}


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore ClientError (``"NoSuchKey"``, ``"404"``, ...), else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) means the endpoint could not be reached."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError, ReadTimeoutError

    return is_caused_by(exc, (BotoConnectionError, HTTPClientError, ReadTimeoutError, ConnectionError, TimeoutError))


def _masked_id(access_key_id: str | None) -> str:
    if not access_key_id:
        return "none set"
    return access_key_id[:4] + "…" + access_key_id[-2:] if len(access_key_id) > 8 else "…"


def _translate(exc: BaseException, action: str, where: Where, bucket_exists: bool | None = None) -> HeadwaterError:
    """One :class:`HeadwaterError` for ``exc`` raised while doing ``action`` on ``where``.

    Args:
        exc: What boto3 raised.
        action: A verb phrase for the message (``"read"``, ``"upload to"``, ...).
        where: Endpoint, bucket and key involved.
        bucket_exists: For an ambiguous 404: whether the bucket exists (None: unknown).

    :data:`translate` makes the error also an instance of ``exc``'s class where Python allows
    it (e.g. botocore's ``ClientError``), so ``except`` clauses written for the library still catch it.
    """
    if isinstance(exc, HeadwaterError):
        return exc
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return ConnectionFailedError(
            f"cannot {action} {where}: no usable AWS credentials ({exc}); set aws_access_key_id and "
            "aws_secret_access_key (or profile_name) on the credentials block, or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    code = error_code(exc)
    if code in _NO_BUCKET or (code in _NOT_FOUND and (bucket_exists is False or where.key is None)):
        return ObjectNotFoundError(
            f"cannot {action} {where}: bucket {where.bucket!r} does not exist there; create it or fix bucket_name"
        )
    if code in _NOT_FOUND:
        return ObjectNotFoundError(
            f"cannot {action} {where}: no object with key {where.key!r} in bucket {where.bucket!r}"
        )
    if code in _AUTH:
        return ConnectionFailedError(
            f"cannot {action} {where}: the endpoint refused the credentials ({code}; access key id "
            f"{_masked_id(where.access_key_id)}); check the credentials block and its permissions"
        )
    if is_connection_error(exc):
        return ConnectionFailedError(
            f"cannot {action} {where}: the endpoint cannot be reached ({type(exc).__name__}); "
            "check aws_client_parameters.endpoint_url, the region and the network"
        )
    if code is not None:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message") or ""
        return StorageError(redact(f"cannot {action} {where}: {code} {message}".rstrip()))
    return StorageError(redact(f"cannot {action} {where}: {type(exc).__name__}: {exc}"))


translate = keeping_library_class(_translate)
"""One :class:`HeadwaterError` for a client error, also of the client error's class (see ``_translate``)."""
