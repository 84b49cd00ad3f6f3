"""The core conformance suite for both block types."""

from __future__ import annotations

import pytest
from headwater.testing import BlockConformanceSuite
from headwater_gcs import GcpCredentials, GcsBucket


class TestGcpCredentials(BlockConformanceSuite):
    block_cls = GcpCredentials
    plugin_name = "gcs"

    @pytest.fixture(autouse=True)
    def _key(self, service_account_info: dict[str, str]) -> None:
        # The suite treats every string in a SecretDict as secret, and "service_account" (the
        # key's "type") is also part of a field name shown by repr; the key is valid without it.
        self.info = {k: v for k, v in service_account_info.items() if k != "type"}

    def make_block(self) -> GcpCredentials:
        return GcpCredentials(service_account_info=self.info, project="p1")


class TestGcsBucket(BlockConformanceSuite):
    block_cls = GcsBucket
    plugin_name = "gcs"

    @pytest.fixture(autouse=True)
    def _key(self, service_account_info: dict[str, str]) -> None:
        # The suite treats every string in a SecretDict as secret, and "service_account" (the
        # key's "type") is also part of a field name shown by repr; the key is valid without it.
        self.info = {k: v for k, v in service_account_info.items() if k != "type"}

    def make_block(self) -> GcsBucket:
        creds = GcpCredentials(service_account_info=self.info, endpoint="http://127.0.0.1:9")
        return GcsBucket(bucket="raw-data", gcp_credentials=creds, bucket_folder="landing", max_concurrency=4)
