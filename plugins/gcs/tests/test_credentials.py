"""GcpCredentials: sources, validation, emulator endpoint, and secrets kept out of errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from headwater.errors import BlockValidationError, ConfigError
from headwater_gcs import GcpCredentials, GcsBucket

from .conftest import PRIVATE_KEY_MARKER


def _assert_no_key_material(text: str, info: dict[str, str]) -> None:
    assert "BEGIN PRIVATE KEY" not in text
    assert info["private_key"][40:80] not in text
    assert PRIVATE_KEY_MARKER not in text


def test_both_sources_is_one_clear_error(service_account_info: dict[str, str], service_account_file: Path) -> None:
    with pytest.raises(BlockValidationError) as info:
        GcpCredentials(service_account_info=service_account_info, service_account_file=service_account_file)
    assert "not both" in str(info.value)
    _assert_no_key_material(str(info.value), service_account_info)


def test_malformed_json_string_is_rejected_without_echo() -> None:
    text = '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEsecretsecret", "client_email": '
    with pytest.raises(BlockValidationError) as info:
        GcpCredentials(service_account_info=text)
    message = str(info.value)
    assert "service_account_info" in message and "not valid JSON" in message
    assert "MIIEsecretsecret" not in message


def test_json_without_key_fields_names_what_is_missing(service_account_info: dict[str, str]) -> None:
    partial = {k: v for k, v in service_account_info.items() if k not in ("private_key", "token_uri")}
    with pytest.raises(BlockValidationError) as info:
        GcpCredentials(service_account_info=json.dumps(partial))
    assert "missing private_key, token_uri" in str(info.value)
    assert partial["client_email"] not in str(info.value)


def test_unusable_private_key_is_a_config_error_without_key_material(service_account_info: dict[str, str]) -> None:
    broken = {**service_account_info,
              "private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-real-key-zq81\n-----END PRIVATE KEY-----\n"}
    creds = GcpCredentials(service_account_info=broken)
    with pytest.raises(ConfigError) as info:
        creds.get_credentials_from_service_account()
    assert "not a usable service-account key" in str(info.value)
    assert "not-a-real-key-zq81" not in str(info.value)


def test_json_string_and_dict_are_equivalent(service_account_info: dict[str, str]) -> None:
    from_text = GcpCredentials(service_account_info=json.dumps(service_account_info))
    from_dict = GcpCredentials(service_account_info=service_account_info)
    assert from_text == from_dict
    creds = from_text.get_credentials_from_service_account()
    assert creds.service_account_email == service_account_info["client_email"]
    _assert_no_key_material(repr(from_text), service_account_info)


def test_service_account_file(service_account_file: Path, service_account_info: dict[str, str]) -> None:
    creds = GcpCredentials(service_account_file=service_account_file).get_credentials_from_service_account()
    assert creds.service_account_email == service_account_info["client_email"]


def test_missing_service_account_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        GcpCredentials(service_account_file=tmp_path / "nope.json").get_credentials_from_service_account()


def test_client_project_comes_from_the_key(service_account_info: dict[str, str]) -> None:
    client = GcpCredentials(service_account_info=service_account_info).get_cloud_storage_client()
    assert client.project == "hw-test-project"
    with_project = GcpCredentials(service_account_info=service_account_info, project="p2")
    assert with_project.get_cloud_storage_client().project == "p2"
    without = GcpCredentials(service_account_info=service_account_info)
    assert without.get_cloud_storage_client(project="p3").project == "p3"


def test_neither_source_uses_application_default_credentials(
    service_account_file: Path, service_account_info: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    creds = GcpCredentials().get_credentials_from_service_account()
    assert creds.service_account_email == service_account_info["client_email"]


def test_no_default_credentials_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))
    with pytest.raises(ConfigError, match="gcloud auth application-default login"):
        GcpCredentials().get_credentials_from_service_account()


def test_storage_emulator_host_is_honoured(gcs_server: Any, gcs_bucket_name: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server.endpoint.removeprefix("http://"))
    creds = GcpCredentials()
    assert creds.get_endpoint() == gcs_server.endpoint and creds.uses_emulator()
    GcsBucket(bucket=gcs_bucket_name, gcp_credentials=creds).write_path("via-env.txt", b"env")
    assert gcs_server.read_object(gcs_bucket_name, "via-env.txt") == b"env"


def test_service_account_block_works_against_the_emulator(
    gcs_server: Any, gcs_bucket_name: str, service_account_info: dict[str, str]
) -> None:
    creds = GcpCredentials(service_account_info=service_account_info, endpoint=gcs_server.endpoint)
    creds.save("emulated")
    bucket = GcsBucket(bucket=gcs_bucket_name, gcp_credentials=GcpCredentials.load("emulated"))
    bucket.write_path("sa.txt", b"with a key")
    assert gcs_server.read_object(gcs_bucket_name, "sa.txt") == b"with a key"
    client = creds.get_cloud_storage_client()
    assert [b.name for b in client.list_blobs(gcs_bucket_name)] == ["sa.txt"]
