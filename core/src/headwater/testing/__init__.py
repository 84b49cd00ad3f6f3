"""Testing support for Headwater and its plugins: fixtures, servers and conformance suites."""

from headwater.testing.conformance import BlockConformanceSuite
from headwater.testing.process import ServerProcess, ServerStartError, free_port, wait_for_port
from headwater.testing.pytest_plugin import TEST_SECRET_KEY
from headwater.testing.storage_suite import ObjectStorageSuite

__all__ = [
    "TEST_SECRET_KEY",
    "BlockConformanceSuite",
    "ObjectStorageSuite",
    "ServerProcess",
    "ServerStartError",
    "free_port",
    "wait_for_port",
]
