"""One shared google-cloud-storage client and fast path (``_fast_path``) per credentials, endpoint and process."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater_gcs._fast_path import FastPathGcs

if TYPE_CHECKING:
    from google.cloud.storage import Client

    from headwater_gcs.credentials import GcpCredentials

__all__ = ["Connection", "connection_for"]

REQUEST_TIMEOUT = 60.0
_MAX_CACHED = 16
_lock = threading.Lock()
_cache: OrderedDict[str, Connection] = OrderedDict()


@dataclass
class Connection:
    """A google-cloud-storage client and a :class:`FastPathGcs` sharing credentials and endpoint.

    Both are safe to share between threads: the client's requests session gets a connection
    pool as large as the transfer concurrency, and so does the fast path.
    """

    client: Client
    api: FastPathGcs
    endpoint: str
    retry: Any
    timeout: float = REQUEST_TIMEOUT

    def bucket_exists(self, bucket: str) -> bool | None:
        """Whether ``bucket`` exists (None: cannot tell)."""
        try:
            return bool(self.client.bucket(bucket).exists(retry=self.retry, timeout=self.timeout))
        except Exception:
            return None


def _key(credentials: GcpCredentials, pool_size: int, project: str | None) -> str:
    document = credentials.model_dump_json(context={"include_secrets": True})
    raw = f"{os.getpid()}|{pool_size}|{project}|{credentials.get_endpoint()}|{document}"
    return hashlib.sha256(raw.encode()).hexdigest()


def connection_for(credentials: GcpCredentials, pool_size: int = 16, project: str | None = None) -> Connection:
    """The cached :class:`Connection` for ``credentials`` in this process (built on first use)."""
    key = _key(credentials, pool_size, project)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    connection = _build(credentials, pool_size, project)
    with _lock:
        _cache[key] = connection
        while len(_cache) > _MAX_CACHED:
            _cache.popitem(last=False)
    return connection


def _build(credentials: GcpCredentials, pool_size: int, project: str | None) -> Connection:
    import requests
    from google.cloud import storage
    from google.cloud.storage.retry import DEFAULT_RETRY

    auth, project = credentials._storage_auth(project)
    endpoint = credentials.get_endpoint()
    options = {"api_endpoint": endpoint} if endpoint else None
    client = storage.Client(project=project, credentials=auth, client_options=options)
    # requests keeps 10 connections per host by default; concurrent transfers need more.
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 10))
    client._http.mount("https://", adapter)
    client._http.mount("http://", adapter)
    api = FastPathGcs(auth, endpoint, pool_size=max(pool_size, 10), timeout=REQUEST_TIMEOUT)
    retry = DEFAULT_RETRY.with_timeout(credentials.retry_timeout)
    return Connection(client=client, api=api, endpoint=credentials.describe_endpoint(), retry=retry)
