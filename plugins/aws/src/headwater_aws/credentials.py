"""AWS credentials blocks: ``AwsCredentials``, ``MinIOCredentials`` and ``AwsClientParameters``.

boto3 is imported inside methods only, so loading the plugin never imports it. Clients are
cached per (credentials, client type, pool size): boto3 clients are thread-safe and cheap to
share, sessions are not, so sessions are built under a lock and never shared across threads.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import warnings
from enum import Enum
from typing import TYPE_CHECKING, Any

from headwater.blocks.core import Block
from headwater.errors import ConfigError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

if TYPE_CHECKING:
    import boto3

__all__ = ["AwsClientParameters", "AwsCredentials", "ClientType", "MinIOCredentials"]


class ClientType(Enum):
    """Client types with a named helper (any boto3 service name works with ``get_client``)."""

    S3 = "s3"
    SECRETS_MANAGER = "secretsmanager"
    STS = "sts"


class AwsClientParameters(BaseModel):
    """Extra parameters used when a boto3 client is created.

    ``config`` takes botocore Config options as a dict or a ``botocore.config.Config``
    (kept as the options it was given); ``signature_version=botocore.UNSIGNED`` (or
    ``"unsigned"``) makes anonymous requests, as public buckets need.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_version: str | None = Field(default=None, description="The service API version to use (default: the latest).")
    use_ssl: bool = Field(default=True, description="Whether to use SSL (ignored when endpoint_url has a scheme).")
    verify: bool | str | None = Field(
        default=None,
        description="Whether to verify SSL certificates (default: verify); a CA bundle path here is deprecated, "
        "use verify_cert_path.",
    )
    verify_cert_path: str | None = Field(default=None,
                                         description="Path of a CA bundle to verify SSL certificates with.")
    endpoint_url: str | None = Field(
        default=None, description="Full URL of the service endpoint, e.g. http://127.0.0.1:9000 for MinIO or moto."
    )
    config: dict[str, Any] | None = Field(
        default=None,
        description="botocore Config options as a dict (or a botocore.config.Config), e.g. "
        "{'retries': {'max_attempts': 3}, 'connect_timeout': 5}.",
    )

    def __hash__(self) -> int:
        # Prefect caches clients by credentials, whose hash includes these parameters.
        return hash(json.dumps(self.model_dump(), sort_keys=True, default=str))

    @field_validator("config", mode="before")
    @classmethod
    def _config_object(cls, value: Any) -> Any:
        from botocore.config import Config

        if isinstance(value, Config):
            value = dict(value._user_provided_options)
        if isinstance(value, dict) and _is_unsigned(value.get("signature_version")):
            value = {**value, "signature_version": "unsigned"}  # JSON-safe; get_params_override restores UNSIGNED
        return value

    @field_validator("config")
    @classmethod
    def _known_config_options(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # ConfigError, not ValueError: pydantic lets it through as it is, at construction.
        if value:
            _check_config(value)
        return value

    @model_validator(mode="before")
    @classmethod
    def _verify_combinations(cls, data: Any) -> Any:
        # prefect-aws's rules: warn and pick one, rather than refuse.
        if not isinstance(data, dict):
            return data
        verify = data.get("verify")
        cert = data.get("verify_cert_path")
        if verify is not None and not isinstance(verify, bool):
            warnings.warn("verify should be a boolean; to use a CA cert bundle, set verify_cert_path instead",
                          DeprecationWarning, stacklevel=2)
        if verify is False and cert:
            warnings.warn("verify_cert_path is set but verify is False: verify_cert_path is ignored", stacklevel=2)
            data = {**data, "verify_cert_path": None}
        elif verify is not None and not isinstance(verify, bool) and cert:
            warnings.warn("verify_cert_path is set and verify is also a file path: verify_cert_path takes precedence",
                          stacklevel=2)
            data = {**data, "verify": True}
        return data

    def get_params_override(self, extra_config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for ``session.client(...)`` built from these parameters.

        Args:
            extra_config: botocore Config options merged over ``config`` (e.g. ``max_pool_connections``).
        """
        from botocore.config import Config

        params: dict[str, Any] = {"use_ssl": self.use_ssl}
        if self.api_version:
            params["api_version"] = self.api_version
        if self.endpoint_url:
            params["endpoint_url"] = self.endpoint_url
        if self.verify_cert_path:
            params["verify"] = self.verify_cert_path
        elif self.verify is not None:
            params["verify"] = self.verify
        # botocore edits the dicts it is given (retries gains total_max_attempts): pass copies.
        merged = copy.deepcopy({**(self.config or {}), **(extra_config or {})})
        if merged:
            if _is_unsigned(merged.get("signature_version")):
                from botocore import UNSIGNED

                merged["signature_version"] = UNSIGNED
            try:
                params["config"] = Config(**merged)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"invalid aws_client_parameters.config: {exc}") from None
        return params


def _is_unsigned(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "unsigned"
    return value is not None and type(value).__name__ == "UNSIGNED"


def _check_config(value: dict[str, Any]) -> None:
    """Refuse botocore options botocore (or, for ``s3``, S3) does not know, naming them."""
    from botocore.auth import AUTH_TYPE_MAPS
    from botocore.config import Config
    from botocore.configprovider import DEFAULT_S3_CONFIG_VARS

    where = "invalid aws_client_parameters.config"
    unknown = sorted(set(value) - set(Config.OPTION_DEFAULTS))
    if unknown:
        raise ConfigError(f"{where}: unknown botocore option(s) {', '.join(map(repr, unknown))}; "
                          "see botocore.config.Config for the options it takes")
    s3 = value.get("s3")
    if s3 is not None:
        if not isinstance(s3, dict):
            raise ConfigError(f"{where}: 's3' must be a dict of S3 options, got {type(s3).__name__}")
        unknown = sorted(set(s3) - set(DEFAULT_S3_CONFIG_VARS))
        if unknown:
            raise ConfigError(f"{where}: unknown S3 option(s) {', '.join(map(repr, unknown))} in 's3'; "
                              f"S3 takes {', '.join(DEFAULT_S3_CONFIG_VARS)}")
    version = value.get("signature_version")
    if version is not None and not _is_unsigned(version) and version not in AUTH_TYPE_MAPS:
        raise ConfigError(f"{where}: unknown signature_version {version!r}; use 's3v4', 'v4' or 'unsigned' "
                          "(botocore.UNSIGNED) for anonymous requests")


class _CredentialsBase(Block):
    """What the AWS credential blocks share: session building and the client cache."""

    _block_abstract = True

    def get_boto3_session(self) -> boto3.Session:
        raise NotImplementedError

    def _client_parameters(self) -> AwsClientParameters:
        return getattr(self, "aws_client_parameters", AwsClientParameters())

    def describe_endpoint(self) -> str:
        """The endpoint clients talk to, for messages: the endpoint URL, or the AWS region."""
        url = self._client_parameters().endpoint_url
        if url:
            return url
        return f"AWS {getattr(self, 'region_name', None) or 'default region'}"

    def __hash__(self) -> int:
        # Prefect caches clients by credentials: equal credentials hash alike (secrets included,
        # through a digest only).
        return hash(self._fingerprint())

    def _fingerprint(self) -> str:
        # Secret values take part so that changed secrets get a new client; only a hash is kept.
        from headwater.blocks.codec import encode

        data, secrets = encode(self)
        blob = json.dumps([type(self).__name__, data, secrets], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get_client(self, client_type: str | ClientType, max_pool_connections: int | None = None) -> Any:
        """A boto3 client for ``client_type`` (e.g. ``"s3"``), shared by every caller with the
        same credentials (boto3 clients are thread-safe).

        Args:
            client_type: A boto3 service name or a :class:`ClientType`.
            max_pool_connections: HTTP connections the client may keep open (default: botocore's 10);
                raise it for concurrent transfers.
        """
        service = client_type.value if isinstance(client_type, ClientType) else str(client_type)
        key = (self._fingerprint(), service, max_pool_connections)
        client = _clients.get(key)
        if client is not None:
            return client
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                extra = {"max_pool_connections": max_pool_connections} if max_pool_connections else None
                params = self._client_parameters().get_params_override(extra)
                client = self.get_boto3_session().client(service, **params)
                _clients[key] = client
        return client

    def check(self) -> None:
        """Check that the endpoint answers and accepts these credentials.

        With an ``endpoint_url`` (MinIO, SeaweedFS, any S3-compatible server) this lists the
        buckets; on AWS itself it asks STS whose credentials these are (GetCallerIdentity, which
        needs no permission).

        Raises:
            ConnectionFailedError: the endpoint cannot be reached, or refuses the credentials.
        """
        from headwater_aws._translate import Where, translate

        custom_endpoint = bool(self._client_parameters().endpoint_url)
        where = Where(self.describe_endpoint(), service="S3" if custom_endpoint else "AWS STS",
                      access_key_id=getattr(self, "aws_access_key_id", None) or getattr(self, "minio_root_user", None))
        try:
            if custom_endpoint:
                self.get_client(ClientType.S3).list_buckets()
            else:
                self.get_client("sts").get_caller_identity()
        except Exception as exc:
            raise translate(exc, "check the credentials against", where) from None

    def get_s3_client(self) -> Any:
        """The (shared) boto3 S3 client."""
        return self.get_client(ClientType.S3)

    def get_secrets_manager_client(self) -> Any:
        """The (shared) boto3 Secrets Manager client."""
        return self.get_client(ClientType.SECRETS_MANAGER)


_clients: dict[tuple[str, str, int | None], Any] = {}
_clients_lock = threading.Lock()


def clear_client_cache() -> None:
    """Forget every cached client (tests use it after restarting a server)."""
    with _clients_lock:
        _clients.clear()


class AwsCredentials(_CredentialsBase):
    """Credentials and client settings for AWS (or any S3-compatible service).

    Unset fields fall back to boto3's usual chain (environment variables, ``~/.aws``, instance
    roles). With ``assume_role_arn``, clients use that role's temporary credentials, renewed
    automatically before they expire.

    Example:
        >>> creds = AwsCredentials(aws_access_key_id="AKIA...", aws_secret_access_key="...",
        ...                        region_name="eu-west-1")            # doctest: +SKIP
        >>> creds.get_s3_client().list_buckets()                       # doctest: +SKIP
    """

    _block_description = "Credentials and client settings for AWS (or any S3-compatible service)."

    aws_access_key_id: str | None = Field(default=None, description="The AWS access key ID.")
    aws_secret_access_key: SecretStr | None = Field(default=None, description="The AWS secret access key.")
    aws_session_token: SecretStr | None = Field(
        default=None, description="The session token of temporary credentials (only with temporary credentials)."
    )
    profile_name: str | None = Field(default=None, description="The profile of ~/.aws/config to use.")
    region_name: str | None = Field(default=None, description="The AWS region, e.g. eu-west-1.")
    aws_client_parameters: AwsClientParameters = Field(
        default_factory=AwsClientParameters,
        description="Extra parameters for creating clients (endpoint, SSL, botocore config)."
    )
    assume_role_arn: str | None = Field(default=None,
                                        description="ARN of an IAM role to assume with these credentials.")
    assume_role_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra arguments of sts.assume_role, e.g. {'RoleSessionName': 'etl', 'DurationSeconds': 3600}.",
    )

    def get_boto3_session(self) -> boto3.Session:
        """A new boto3 session for these credentials (sessions are not thread-safe: do not share one).

        Raises:
            ConnectionFailedError: the role in ``assume_role_arn`` cannot be assumed.
        """
        import boto3

        session = boto3.Session(
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=_plain(self.aws_secret_access_key),
            aws_session_token=_plain(self.aws_session_token),
            profile_name=self.profile_name,
            region_name=self.region_name,
        )
        if self.assume_role_arn:
            from headwater_aws._assume_role import assume_role_session

            session = assume_role_session(session, self)
        return session


class MinIOCredentials(_CredentialsBase):
    """Credentials of a MinIO (or other S3-compatible) server's root user.

    Example:
        >>> creds = MinIOCredentials(minio_root_user="admin", minio_root_password="...",
        ...     aws_client_parameters={"endpoint_url": "http://127.0.0.1:9000"})   # doctest: +SKIP
    """

    _block_type_slug = "minio-credentials"
    _block_description = "Credentials of a MinIO (or other S3-compatible) server's root user."

    minio_root_user: str = Field(description="The MinIO root user (used as the access key ID).")
    minio_root_password: SecretStr = Field(description="The MinIO root password (used as the secret access key).")
    region_name: str | None = Field(default=None, description="The region to sign requests for (default: us-east-1).")
    aws_client_parameters: AwsClientParameters = Field(
        default_factory=AwsClientParameters,
        description="Extra parameters for creating clients; set endpoint_url to the server."
    )

    def get_boto3_session(self) -> boto3.Session:
        """A new boto3 session signing with the MinIO root user's credentials."""
        import boto3

        return boto3.Session(
            aws_access_key_id=self.minio_root_user,
            aws_secret_access_key=self.minio_root_password.get_secret_value(),
            region_name=self.region_name or "us-east-1",
        )


def _plain(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
