"""AWS Secrets Manager: the ``AwsSecret`` block and prefect-aws's tasks ``read_secret``,
``create_secret``, ``update_secret`` and ``delete_secret``."""

from __future__ import annotations

from typing import Any

from headwater.blocks.core import Block, to_thread
from headwater.errors import ConfigError, ObjectNotFoundError, SecretBackendError
from pydantic import Field

from headwater_aws._translate import error_code, is_connection_error
from headwater_aws.credentials import AwsCredentials

__all__ = ["AwsSecret", "SecretValueError", "acreate_secret", "adelete_secret", "aread_secret", "aupdate_secret",
           "create_secret", "delete_secret", "read_secret", "update_secret"]


class SecretValueError(ConfigError, ValueError):
    """An argument of a Secrets Manager task is invalid (also a ``ValueError``, as in prefect-aws)."""


class AwsSecret(Block):
    """A secret in AWS Secrets Manager (prefect-aws's ``AwsSecret``).

    Example:
        >>> prod = AwsCredentials.load("prod")                                  # doctest: +SKIP
        >>> token = AwsSecret(secret_name="etl/api-token", aws_credentials=prod)  # doctest: +SKIP
        >>> token.write_secret(b"s3cr3t")                                        # doctest: +SKIP
        >>> token.read_secret()                                                  # doctest: +SKIP
        b's3cr3t'
    """

    _block_description = "A secret in AWS Secrets Manager."

    aws_credentials: AwsCredentials = Field(default_factory=AwsCredentials,
                                            description="Credentials used to reach Secrets Manager.")
    secret_name: str = Field(description="The name (or ARN) of the secret.")

    def _client(self) -> Any:
        return self.aws_credentials.get_secrets_manager_client()

    def _fail(self, exc: BaseException, action: str) -> Exception:
        return _fail(exc, action, self.secret_name, self.aws_credentials)

    def read_secret(self, version_id: str | None = None, version_stage: str | None = None, **read_kwargs: Any) -> bytes:
        """The secret's value as bytes (a string secret is UTF-8 encoded).

        Raises:
            ObjectNotFoundError: the secret does not exist.
        """
        params = {"SecretId": self.secret_name, **read_kwargs}
        if version_id:
            params["VersionId"] = version_id
        if version_stage:
            params["VersionStage"] = version_stage
        try:
            answer = self._client().get_secret_value(**params)
        except Exception as exc:
            raise self._fail(exc, "read") from None
        if "SecretBinary" in answer:
            return bytes(answer["SecretBinary"])
        return str(answer.get("SecretString", "")).encode()

    def write_secret(self, secret_data: bytes, **put_or_create_secret_kwargs: Any) -> str:
        """Store ``secret_data`` as the secret's new value, creating the secret if needed; returns its ARN."""
        client = self._client()
        try:
            answer = client.put_secret_value(SecretId=self.secret_name, SecretBinary=secret_data,
                                             **put_or_create_secret_kwargs)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise self._fail(exc, "write") from None
            try:
                answer = client.create_secret(Name=self.secret_name, SecretBinary=secret_data,
                                              **put_or_create_secret_kwargs)
            except Exception as exc2:
                raise self._fail(exc2, "create") from None
        return str(answer["ARN"])

    def delete_secret(
        self, recovery_window_in_days: int = 30, force_delete_without_recovery: bool = False, **delete_kwargs: Any
    ) -> str:
        """Delete the secret (recoverable for ``recovery_window_in_days``, 7–30, unless forced); returns its ARN."""
        if force_delete_without_recovery and recovery_window_in_days != 30:
            raise ValueError("pass either force_delete_without_recovery=True or recovery_window_in_days, not both")
        if not force_delete_without_recovery and not 7 <= recovery_window_in_days <= 30:
            raise ValueError("recovery_window_in_days must be between 7 and 30")
        params: dict[str, Any] = {"SecretId": self.secret_name, **delete_kwargs}
        if force_delete_without_recovery:
            params["ForceDeleteWithoutRecovery"] = True
        else:
            params["RecoveryWindowInDays"] = recovery_window_in_days
        try:
            return str(self._client().delete_secret(**params)["ARN"])
        except Exception as exc:
            raise self._fail(exc, "delete") from None

    async def aread_secret(self, version_id: str | None = None, version_stage: str | None = None, **kw: Any) -> bytes:
        return await to_thread(self.read_secret, version_id, version_stage, **kw)

    async def awrite_secret(self, secret_data: bytes, **kw: Any) -> str:
        return await to_thread(self.write_secret, secret_data, **kw)

    async def adelete_secret(self, recovery_window_in_days: int = 30, force_delete_without_recovery: bool = False,
                             **kw: Any) -> str:
        return await to_thread(self.delete_secret, recovery_window_in_days, force_delete_without_recovery, **kw)


def _fail(exc: BaseException, action: str, secret_name: str, credentials: Any) -> Exception:
    """A Headwater error for what Secrets Manager raised, also of botocore's class (``ClientError``)."""
    from headwater.error_compat import also_as

    return also_as(_plain_fail(exc, action, secret_name, credentials), exc)


def _plain_fail(exc: BaseException, action: str, secret_name: str, credentials: Any) -> Exception:
    where = f"secret {secret_name!r} (Secrets Manager at {credentials.describe_endpoint()})"
    code = error_code(exc)
    if code == "ResourceNotFoundException":
        return ObjectNotFoundError(
            f"cannot {action} {where}: it does not exist; write_secret() or create_secret() creates it")
    if is_connection_error(exc):
        return SecretBackendError(f"cannot {action} {where}: the endpoint cannot be reached "
                                  f"({type(exc).__name__}); "
                                  "check aws_client_parameters.endpoint_url and the region")
    return SecretBackendError(f"cannot {action} {where}: {code or type(exc).__name__}")


# -- prefect-aws's Secrets Manager tasks -------------------------------------------------------------------


def _secret_payload(secret_value: Any) -> dict[str, Any]:
    from headwater.redaction import remember
    from pydantic import SecretBytes, SecretStr

    if isinstance(secret_value, (SecretStr, SecretBytes)):
        secret_value = secret_value.get_secret_value()
    if isinstance(secret_value, bytes):
        remember(secret_value)
        return {"SecretBinary": secret_value}
    if isinstance(secret_value, str):
        remember(secret_value)
        return {"SecretString": secret_value}
    raise SecretValueError(f"secret_value must be str or bytes (or SecretStr/SecretBytes), not "
                           f"{type(secret_value).__name__}")


def _call(action: str, secret_name: str, aws_credentials: AwsCredentials, method: str, **params: Any) -> Any:
    client = aws_credentials.get_secrets_manager_client()
    try:
        return getattr(client, method)(**params)
    except Exception as exc:
        raise _fail(exc, action, secret_name, aws_credentials) from None


def _answer(response: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: response[key] for key in keys if key in response}


def _read_secret(secret_name: str, aws_credentials: AwsCredentials, version_id: str | None = None,
                 version_stage: str | None = None) -> str | bytes:
    """Read a secret's value from AWS Secrets Manager.

    Args:
        secret_name: Name (or ARN) of the secret.
        aws_credentials: Credentials used to reach Secrets Manager.
        version_id: A version of the secret (default: the current one).
        version_stage: A version stage (default: ``AWSCURRENT``).

    Returns:
        The value: a ``str`` if it was stored as a string, ``bytes`` if stored as binary.

    Raises:
        ObjectNotFoundError: the secret does not exist (also a botocore ``ClientError``).
        SecretBackendError: Secrets Manager refused or cannot be reached.
    """
    params: dict[str, Any] = {"SecretId": secret_name}
    if version_id is not None:
        params["VersionId"] = version_id
    if version_stage is not None:
        params["VersionStage"] = version_stage
    response = _call("read", secret_name, aws_credentials, "get_secret_value", **params)
    value = response.get("SecretString")
    if value is None:
        value = bytes(response.get("SecretBinary") or b"")
    from headwater.redaction import remember

    remember(value)
    return value


def _create_secret(secret_name: str, secret_value: str | bytes, aws_credentials: AwsCredentials,
                   description: str | None = None, tags: list[dict[str, str]] | None = None) -> dict[str, str]:
    """Create a secret in AWS Secrets Manager.

    Args:
        secret_name: Name of the new secret.
        secret_value: Its value (``str`` or ``bytes``; ``SecretStr``/``SecretBytes`` work too).
        aws_credentials: Credentials used to reach Secrets Manager.
        description: A description of the secret.
        tags: Tags, each ``{"Key": ..., "Value": ...}``.

    Returns:
        ``{"ARN": ..., "Name": ..., "VersionId": ...}``.

    Raises:
        SecretBackendError: the secret exists already, or Secrets Manager refused (also a ``ClientError``).
    """
    params: dict[str, Any] = {"Name": secret_name, **_secret_payload(secret_value)}
    if description is not None:
        params["Description"] = description
    if tags is not None:
        params["Tags"] = tags
    response = _call("create", secret_name, aws_credentials, "create_secret", **params)
    return _answer(response, "ARN", "Name", "VersionId")


def _update_secret(secret_name: str, secret_value: str | bytes, aws_credentials: AwsCredentials,
                   description: str | None = None) -> dict[str, str]:
    """Give an existing secret a new value (and optionally a new description).

    Returns:
        ``{"ARN": ..., "Name": ..., "VersionId": ...}``.

    Raises:
        ObjectNotFoundError: the secret does not exist (also a botocore ``ClientError``).
    """
    params: dict[str, Any] = {"SecretId": secret_name, **_secret_payload(secret_value)}
    if description is not None:
        params["Description"] = description
    response = _call("update", secret_name, aws_credentials, "update_secret", **params)
    return _answer(response, "ARN", "Name", "VersionId")


def _delete_secret(secret_name: str, aws_credentials: AwsCredentials, recovery_window_in_days: int = 30,
                   force_delete_without_recovery: bool = False) -> dict[str, Any]:
    """Delete a secret: recoverable for ``recovery_window_in_days`` (7 to 30), or at once with
    ``force_delete_without_recovery=True`` (the window is then ignored).

    Returns:
        ``{"ARN": ..., "Name": ..., "DeletionDate": datetime}``.

    Raises:
        SecretValueError: the recovery window is not between 7 and 30 days (also a ``ValueError``).
        ObjectNotFoundError: the secret does not exist (also a botocore ``ClientError``).
    """
    if not force_delete_without_recovery and not 7 <= recovery_window_in_days <= 30:
        raise SecretValueError(f"recovery_window_in_days must be between 7 and 30 days, got {recovery_window_in_days}; "
                               "or pass force_delete_without_recovery=True to delete at once")
    params: dict[str, Any] = {"SecretId": secret_name}
    if force_delete_without_recovery:
        params["ForceDeleteWithoutRecovery"] = True
    else:
        params["RecoveryWindowInDays"] = recovery_window_in_days
    response = _call("delete", secret_name, aws_credentials, "delete_secret", **params)
    return _answer(response, "ARN", "Name", "DeletionDate")


def _as_tasks(fn: Any, name: str, **options: Any) -> tuple[Any, Any]:
    from headwater.runtime.dispatching import dispatch_task
    from headwater.runtime.tasks import async_twin, task

    fn.__name__ = fn.__qualname__ = name
    sync = task(fn, name=name, **options)
    twin = async_twin(sync, "a" + name)
    # As in prefect-aws, where these are async tasks: awaited in async flows, plain calls elsewhere.
    return dispatch_task(sync, twin), twin


# A secret's value is not a result to keep: never persisted, never cached.
read_secret, aread_secret = _as_tasks(_read_secret, "read_secret", persist_result=False)
create_secret, acreate_secret = _as_tasks(_create_secret, "create_secret")
update_secret, aupdate_secret = _as_tasks(_update_secret, "update_secret")
delete_secret, adelete_secret = _as_tasks(_delete_secret, "delete_secret")
