"""S3Bucket keeps core's object-storage contract, on moto and on SeaweedFS, checked on the server."""

from __future__ import annotations

from typing import Any

import pytest
from headwater.testing import ObjectStorageSuite
from headwater_aws import S3Bucket

from .conftest import credentials_for


class TestS3BucketStorage(ObjectStorageSuite):
    @pytest.fixture
    def storage(self, s3_endpoint: Any) -> S3Bucket:
        self.server = s3_endpoint
        return S3Bucket(bucket_name=s3_endpoint.create_bucket(), credentials=credentials_for(s3_endpoint))

    def stored(self, storage: S3Bucket, key: str) -> bytes | None:
        return self.server.read_object(storage.bucket_name, storage._key(key))


class TestS3BucketStorageInAFolder(TestS3BucketStorage):
    """The same contract with ``bucket_folder`` set: it is applied exactly once."""

    folder = "base/inner"

    @pytest.fixture
    def storage(self, s3_endpoint: Any) -> S3Bucket:
        self.server = s3_endpoint
        return S3Bucket(bucket_name=s3_endpoint.create_bucket(), credentials=credentials_for(s3_endpoint),
                        bucket_folder="base/inner")

    def stored(self, storage: S3Bucket, key: str) -> bytes | None:
        return self.server.read_object(storage.bucket_name, self.full(key))
