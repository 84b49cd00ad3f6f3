"""Headwater plugin hooks of headwater-aws (no boto3 import at load time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater import hookimpl


@hookimpl
def register_block_types(register: Callable[[type], None]) -> None:
    from headwater_aws._bucket import S3Bucket
    from headwater_aws.credentials import AwsCredentials, MinIOCredentials
    from headwater_aws.secrets_manager import AwsSecret

    register(AwsCredentials)
    register(MinIOCredentials)
    register(S3Bucket)
    register(AwsSecret)


@hookimpl
def register_secret_backends(register: Callable[[str, Callable[[], Any]], None]) -> None:
    def factory() -> Any:
        from headwater_aws._secret_backend import AwsSecretsManagerBackend

        return AwsSecretsManagerBackend()

    register("aws-secrets-manager", factory)


@hookimpl
def register_commands(cli: Any) -> None:
    from headwater_aws._cli import s3

    cli.add_command(s3)
