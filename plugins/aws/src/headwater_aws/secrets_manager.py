"""``AwsSecret``: one secret in AWS Secrets Manager, read and written through a block."""

from __future__ import annotations

from typing import Any

from headwater.blocks.core import Block, to_thread
from headwater.errors import ObjectNotFoundError, SecretBackendError
from pydantic import Field

from headwater_aws._translate import error_code, is_connection_error
from headwater_aws.credentials import AwsCredentials

__all__ = ["AwsSecret"]


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
        where = f"secret {self.secret_name!r} (Secrets Manager at {self.aws_credentials.describe_endpoint()})"
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            return ObjectNotFoundError(f"cannot {action} {where}: it does not exist; write_secret() creates it")
        if is_connection_error(exc):
            return SecretBackendError(f"cannot {action} {where}: the endpoint cannot be reached "
                                      f"({type(exc).__name__}); "
                                      "check aws_client_parameters.endpoint_url and the region")
        return SecretBackendError(f"cannot {action} {where}: {code or type(exc).__name__}")

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
