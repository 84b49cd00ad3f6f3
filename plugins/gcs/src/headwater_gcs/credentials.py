"""``GcpCredentials``: how to authenticate to Google Cloud, and where the storage API is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.blocks import Block, SecretDict
from headwater.errors import ConfigError, HeadwaterError
from headwater.redaction import redact
from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer, model_validator

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud.storage import Client

__all__ = ["GcpCredentials"]

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
EMULATOR_PROJECT = "headwater-emulator"
_REQUIRED_KEYS = ("client_email", "private_key", "token_uri")
_HEADWATER_FIELDS = ("endpoint", "retry_timeout")


class GcpCredentials(Block):
    """Credentials for Google Cloud, and the storage endpoint to use them with.

    Give at most one service-account source; with neither, Google's application default
    credentials are used (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth
    application-default login``, or the metadata server). Pointing ``endpoint`` (or the
    ``STORAGE_EMULATOR_HOST`` variable) at an ``http://`` URL such as fake-gcs-server uses
    anonymous credentials, so no token is ever sent over plain HTTP.

    Example:
        >>> creds = GcpCredentials(service_account_file="~/keys/etl.json", project="acme")
        >>> client = creds.get_cloud_storage_client()       # doctest: +SKIP
        >>> GcpCredentials(endpoint="http://127.0.0.1:4443")  # fake-gcs-server
        GcpCredentials(...)                                 # doctest: +SKIP
    """

    _block_description = "Credentials for Google Cloud, and the storage endpoint to use them with."

    service_account_file: Path | None = Field(
        default=None, description="Path to a service-account JSON key file (not stored: only the path is)."
    )
    service_account_info: SecretDict | None = Field(
        default=None,
        description="The contents of a service-account JSON key, as a dict or a JSON string (stored as a secret).",
    )
    project: str | None = Field(
        default=None, description="Default Google Cloud project (default: the service account's project)."
    )
    endpoint: str | None = Field(
        default=None,
        description=(
            "Storage API endpoint, e.g. http://127.0.0.1:4443 for fake-gcs-server "
            "(default: $STORAGE_EMULATOR_HOST if set, else Google's)."
        ),
    )
    retry_timeout: float = Field(
        default=60.0, gt=0,
        description="Seconds to keep retrying transient failures (unreachable endpoint, 429, 5xx) before giving up.",
    )

    @model_serializer(mode="wrap")
    def _prefect_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # prefect-gcp's GcpCredentials dumps service_account_file, service_account_info and
        # project only; code (dbt BigQuery targets, for one) passes the dump on as settings.
        # Headwater's own fields appear only when set to something else than their default.
        data = handler(self)
        for name in _HEADWATER_FIELDS:
            if name in data and getattr(self, name) == type(self).model_fields[name].default:
                del data[name]
        return data

    @field_validator("service_account_info")
    @classmethod
    def _looks_like_a_key(cls, value: SecretDict | None) -> SecretDict | None:
        if value is None:
            return value
        info = value.get_secret_value()
        missing = [key for key in _REQUIRED_KEYS if not info.get(key)]
        if info.get("type", "service_account") != "service_account":
            raise ValueError("is not a service-account key (its 'type' is not 'service_account')")
        if missing:
            raise ValueError(f"is not a service-account key: missing {', '.join(missing)}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> GcpCredentials:
        if self.service_account_file is not None and self.service_account_info is not None:
            raise ValueError(
                "give service_account_file or service_account_info, not both"
            )
        return self

    # -- endpoint ---------------------------------------------------------------------------

    def get_endpoint(self) -> str | None:
        """The storage API endpoint in use: ``endpoint``, else ``$STORAGE_EMULATOR_HOST``, else None
        (Google's). A bare ``host:port`` is taken as ``http://host:port``."""
        raw = self.endpoint or os.environ.get(EMULATOR_ENV) or None
        if raw is None:
            return None
        raw = raw.strip().rstrip("/")
        return raw if "://" in raw else f"http://{raw}"

    def describe_endpoint(self) -> str:
        """The endpoint for messages (never contains a secret)."""
        return self.get_endpoint() or "https://storage.googleapis.com"

    def uses_emulator(self) -> bool:
        """True when the endpoint is plain ``http://`` (an emulator such as fake-gcs-server)."""
        endpoint = self.get_endpoint()
        return endpoint is not None and endpoint.startswith("http://")

    # -- credentials ------------------------------------------------------------------------

    def get_credentials_from_service_account(self) -> Credentials:
        """The ``google.auth`` credentials these settings describe.

        Returns:
            Service-account credentials from ``service_account_info`` or
            ``service_account_file``, else Google's application default credentials.

        Raises:
            ConfigError: the key is malformed, the file is missing, or no default
                credentials can be found (the message never contains key material).
        """
        from google.oauth2 import service_account

        if self.service_account_info is not None:
            try:
                return service_account.Credentials.from_service_account_info(
                    self.service_account_info.get_secret_value(), scopes=SCOPES
                )
            except (ValueError, TypeError, KeyError) as exc:
                raise ConfigError(
                    f"service_account_info is not a usable service-account key ({_safe_reason(exc)}); "
                    "paste the JSON key file Google Cloud gave you, unchanged"
                ) from None
        if self.service_account_file is not None:
            path = self.service_account_file.expanduser()
            if not path.is_file():
                raise ConfigError(
                    f"service account file {str(path)!r} does not exist; fix service_account_file "
                    "or create a key with `gcloud iam service-accounts keys create`"
                )
            try:
                return service_account.Credentials.from_service_account_file(str(path), scopes=SCOPES)
            except (ValueError, TypeError, KeyError) as exc:
                raise ConfigError(
                    f"service account file {str(path)!r} is not a usable service-account key ({_safe_reason(exc)})"
                ) from None
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, _project = google.auth.default(scopes=SCOPES)
        except DefaultCredentialsError as exc:
            from headwater.error_compat import also_as

            raise also_as(ConfigError(  # also google-auth's class: `except DefaultCredentialsError` catches it
                "no Google Cloud credentials found: set service_account_file or service_account_info, "
                "set GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`"
            ), exc) from None
        return credentials

    def _storage_auth(self, project: str | None = None) -> tuple[Credentials, str | None]:
        """Credentials and project for a storage client (anonymous for an http:// emulator)."""
        if self.uses_emulator():
            from google.auth.credentials import AnonymousCredentials

            if self.service_account_file is not None or self.service_account_info is not None:
                self.get_credentials_from_service_account()  # a broken key is an error here too
            return AnonymousCredentials(), project or self.project or EMULATOR_PROJECT
        credentials = self.get_credentials_from_service_account()
        return credentials, project or self.project or getattr(credentials, "project_id", None)

    def check(self) -> None:
        """Check that these credentials work.

        Against an emulator (an ``http://`` endpoint) this lists the project's buckets; against
        Google it asks for an access token, which a revoked, deleted or malformed key does not get.

        Raises:
            ConfigError: the key is unusable, or no default credentials can be found.
            ConnectionFailedError: the endpoint (or Google's token service) cannot be reached,
                or refuses the credentials.
        """
        from headwater_gcs._translate import Where, translate

        where = Where(self.describe_endpoint())
        try:
            if self.uses_emulator():
                from headwater_gcs._connection import connection_for

                conn = connection_for(self)
                list(conn.client.list_buckets(max_results=1, retry=None, timeout=(5.0, conn.timeout)))
            else:
                from google.auth.transport.requests import Request

                self.get_credentials_from_service_account().refresh(Request())
        except HeadwaterError:
            raise
        except Exception as exc:
            raise translate(exc, "check the credentials against", where) from None

    def get_cloud_storage_client(self, project: str | None = None) -> Client:
        """A new ``google.cloud.storage.Client`` for these credentials and endpoint.

        Args:
            project: Overrides ``project`` for this client.

        Raises:
            ConfigError: the credentials are unusable (see :meth:`get_credentials_from_service_account`).
        """
        from google.cloud import storage

        credentials, project = self._storage_auth(project)
        endpoint = self.get_endpoint()
        options: dict[str, Any] | None = {"api_endpoint": endpoint} if endpoint else None
        return storage.Client(project=project, credentials=credentials, client_options=options)


def _safe_reason(exc: BaseException) -> str:
    """A short reason for a key-parsing failure with any secret text masked."""
    text = redact(str(exc)).splitlines()[0] if str(exc) else ""
    if "-----BEGIN" in text or len(text) > 160:
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
