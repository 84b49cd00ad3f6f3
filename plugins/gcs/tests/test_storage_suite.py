"""GcsBucket keeps core's object-storage contract on fake-gcs-server, checked on the server."""

from __future__ import annotations

from typing import Any

import pytest
from headwater.testing import ObjectStorageSuite
from headwater_gcs import GcpCredentials, GcsBucket


class TestGcsBucketStorage(ObjectStorageSuite):
    @pytest.fixture
    def storage(self, gcs_server: Any, gcs_bucket_name: str, gcp_credentials: GcpCredentials) -> GcsBucket:
        self.server = gcs_server
        return GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials)

    def stored(self, storage: GcsBucket, key: str) -> bytes | None:
        return self.server.read_object(storage.bucket, storage._key(key))


class TestGcsBucketStorageInAFolder(TestGcsBucketStorage):
    """The same contract with ``bucket_folder`` set: it is applied exactly once."""

    folder = "base"

    @pytest.fixture
    def storage(self, gcs_server: Any, gcs_bucket_name: str, gcp_credentials: GcpCredentials) -> GcsBucket:
        self.server = gcs_server
        return GcsBucket(bucket=gcs_bucket_name, gcp_credentials=gcp_credentials, bucket_folder="base")

    def stored(self, storage: GcsBucket, key: str) -> bytes | None:
        return self.server.read_object(storage.bucket, self.full(key))
