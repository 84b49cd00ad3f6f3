"""Sessions that use an assumed IAM role's temporary credentials, refreshed before they expire."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.errors import ConnectionFailedError

if TYPE_CHECKING:
    import boto3

    from headwater_aws.credentials import AwsCredentials

__all__ = ["assume_role_session"]


def assume_role_session(base: boto3.Session, creds: AwsCredentials) -> boto3.Session:
    """A session whose credentials come from ``sts.assume_role`` with ``base``'s credentials.

    botocore refreshes them (calling ``assume_role`` again) shortly before they expire, so
    long-lived cached clients keep working.
    """
    import boto3
    from botocore.credentials import RefreshableCredentials
    from botocore.session import get_session

    params = creds.aws_client_parameters.get_params_override()
    sts = base.client("sts", **params)
    kwargs: dict[str, Any] = {"RoleSessionName": "headwater", **creds.assume_role_kwargs}

    def fetch() -> dict[str, str]:
        try:
            answer = sts.assume_role(RoleArn=creds.assume_role_arn, **kwargs)["Credentials"]
        except Exception as exc:
            from headwater.error_compat import also_as

            raise also_as(ConnectionFailedError(  # also botocore's class: `except ClientError` catches it
                f"cannot assume role {creds.assume_role_arn} at {creds.describe_endpoint()}: "
                f"{type(exc).__name__}: {exc}; check the role's trust policy and the base credentials"
            ), exc) from None
        return {
            "access_key": answer["AccessKeyId"],
            "secret_key": answer["SecretAccessKey"],
            "token": answer["SessionToken"],
            "expiry_time": answer["Expiration"].isoformat(),
        }

    refreshable = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    core = get_session()
    core._credentials = refreshable  # botocore has no public setter for refreshable credentials
    if creds.region_name or base.region_name:
        core.set_config_variable("region", creds.region_name or base.region_name)
    return boto3.Session(botocore_session=core)
