"""The ``aws-secrets-manager`` secret backend: block secrets live in AWS Secrets Manager.

Select it with ``HEADWATER_SECRETS_BACKEND=aws-secrets-manager``. Each secret field of each
saved block becomes one Secrets Manager secret named ``<prefix><document id>/<field path>``;
the store keeps only that name. Configuration (environment variables):

- ``HEADWATER_AWS_SECRETS_PREFIX``: name prefix (default ``headwater/``).
- ``HEADWATER_AWS_SECRETS_REGION``: region (default ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else us-east-1).
- ``HEADWATER_AWS_SECRETS_ENDPOINT_URL``: endpoint (e.g. a local moto server); default AWS's.
- ``HEADWATER_AWS_SECRETS_PROFILE``: an ``~/.aws`` profile; otherwise boto3's usual credential
  chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, instance role, ...).
- ``HEADWATER_AWS_SECRETS_KMS_KEY_ID``: KMS key for new secrets (default: the account's default key).
- ``HEADWATER_AWS_SECRETS_RECOVERY_DAYS``: when a block is deleted, keep its secrets recoverable
  for this many days (7–30); default 0 = delete immediately.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

from headwater.blocks.secrets import SecretBackend
from headwater.errors import ConfigError, SecretBackendError

from headwater_aws._translate import error_code, is_connection_error

__all__ = ["AwsSecretsManagerBackend"]

_UNSAFE = re.compile(r"[^A-Za-z0-9/_+=.@-]")


class AwsSecretsManagerBackend(SecretBackend):
    """Keeps each block secret as its own secret in AWS Secrets Manager."""

    name = "aws-secrets-manager"

    def __init__(self) -> None:
        from headwater_aws.credentials import AwsClientParameters, AwsCredentials

        env = os.environ
        self.prefix = env.get("HEADWATER_AWS_SECRETS_PREFIX", "headwater/")
        self.region = (
            env.get("HEADWATER_AWS_SECRETS_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )
        self.endpoint_url = env.get("HEADWATER_AWS_SECRETS_ENDPOINT_URL") or None
        self.kms_key_id = env.get("HEADWATER_AWS_SECRETS_KMS_KEY_ID") or None
        days = env.get("HEADWATER_AWS_SECRETS_RECOVERY_DAYS", "0").strip() or "0"
        if not days.isdigit() or (int(days) and not 7 <= int(days) <= 30):
            raise ConfigError(f"HEADWATER_AWS_SECRETS_RECOVERY_DAYS={days!r}: use 0 (delete at once) or 7 to 30")
        self.recovery_days = int(days)
        if _UNSAFE.search(self.prefix):
            raise ConfigError(f"HEADWATER_AWS_SECRETS_PREFIX={self.prefix!r} has characters Secrets Manager refuses: "
                              "use A-Z a-z 0-9 / _ + = . @ -")
        self._credentials = AwsCredentials(
            profile_name=env.get("HEADWATER_AWS_SECRETS_PROFILE") or None,
            region_name=self.region,
            aws_client_parameters=AwsClientParameters(endpoint_url=self.endpoint_url),
        )

    def _client(self) -> Any:
        return self._credentials.get_secrets_manager_client()

    def secret_name(self, ref: str) -> str:
        """The Secrets Manager name of the secret for ``ref`` (``<document id>:<field path>``)."""
        plain = ref.replace(":", "/", 1)
        safe = _UNSAFE.sub("-", plain)
        if safe != plain:  # keep names distinct when unsafe characters were replaced
            safe += "-" + hashlib.sha256(plain.encode()).hexdigest()[:8]
        return (self.prefix + safe)[:512]

    def _where(self) -> str:
        return f"AWS Secrets Manager ({self.endpoint_url or 'AWS'}, region {self.region})"

    def _fail(self, exc: BaseException, action: str, name: str) -> SecretBackendError:
        if is_connection_error(exc):
            return SecretBackendError(f"cannot {action} secret {name!r} in {self._where()}: the endpoint cannot be "
                                      "reached; "
                                      "check HEADWATER_AWS_SECRETS_ENDPOINT_URL / HEADWATER_AWS_SECRETS_REGION")
        code = error_code(exc) or type(exc).__name__
        return SecretBackendError(f"cannot {action} secret {name!r} in {self._where()}: {code}; check the AWS "
                                  "credentials "
                                  "and their secretsmanager permissions")

    def store(self, ref: str, plaintext: str) -> str:
        name = self.secret_name(ref)
        client = self._client()
        try:
            client.put_secret_value(SecretId=name, SecretString=plaintext)
            return name
        except Exception as exc:
            code = error_code(exc)
            if code == "InvalidRequestException":  # scheduled for deletion: bring it back, then write
                try:
                    client.restore_secret(SecretId=name)
                    client.put_secret_value(SecretId=name, SecretString=plaintext)
                    return name
                except Exception as exc2:
                    raise self._fail(exc2, "store", name) from None
            if code != "ResourceNotFoundException":
                raise self._fail(exc, "store", name) from None
        params: dict[str, Any] = {"Name": name, "SecretString": plaintext,
                                  "Tags": [{"Key": "managed-by", "Value": "headwater"}]}
        if self.kms_key_id:
            params["KmsKeyId"] = self.kms_key_id
        try:
            client.create_secret(**params)
        except Exception as exc:
            raise self._fail(exc, "create", name) from None
        return name

    def load(self, ref: str, stored: str | None) -> str:
        name = stored or self.secret_name(ref)
        try:
            return str(self._client().get_secret_value(SecretId=name)["SecretString"])
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise SecretBackendError(
                    f"secret {name!r} is missing from {self._where()} (deleted outside Headwater?): re-save the block"
                ) from None
            raise self._fail(exc, "read", name) from None

    def delete(self, ref: str, stored: str | None) -> None:
        name = stored or self.secret_name(ref)
        params: dict[str, Any] = {"SecretId": name}
        if self.recovery_days:
            params["RecoveryWindowInDays"] = self.recovery_days
        else:
            params["ForceDeleteWithoutRecovery"] = True
        try:
            self._client().delete_secret(**params)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise self._fail(exc, "delete", name) from None

    def describe(self) -> str:
        endpoint = self.endpoint_url or "AWS"
        return f"aws-secrets-manager (prefix {self.prefix!r}, region {self.region}, endpoint {endpoint})"
