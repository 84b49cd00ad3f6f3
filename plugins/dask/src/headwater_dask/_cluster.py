"""Connecting to a Dask scheduler or starting a temporary cluster (dask imported lazily)."""

from __future__ import annotations

import importlib
from typing import Any

from headwater_dask.errors import DaskClusterConfigError, DaskConnectionError

DEFAULT_CLUSTER_CLASS = "distributed.LocalCluster"


def import_cluster_class(name: str | type | None) -> type:
    """The cluster class named by ``name`` (``"package.module.Class"``), LocalCluster for None.

    Raises:
        DaskClusterConfigError: the name is not a dotted path to an importable class.
    """
    if name is None:
        name = DEFAULT_CLUSTER_CLASS
    if isinstance(name, type):
        return name
    module_name, _, attr = name.rpartition(".")
    if not module_name or not attr:
        raise DaskClusterConfigError(
            f"cluster_class {name!r} is not a dotted path: give the full name, e.g. 'distributed.LocalCluster'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DaskClusterConfigError(
            f"cluster_class {name!r}: module {module_name!r} cannot be imported ({exc}); install the package that "
            "provides it"
        ) from None
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise DaskClusterConfigError(f"cluster_class {name!r}: {module_name!r} has no class named {attr!r}")
    return cls


def start_cluster(cluster_class: str | type | None, cluster_kwargs: dict[str, Any],
                  adapt_kwargs: dict[str, Any] | None) -> Any:
    """Start a temporary cluster; the caller closes it."""
    cls = import_cluster_class(cluster_class)
    kwargs = dict(cluster_kwargs)
    if cls.__name__ == "LocalCluster":
        # Never bind every interface or start a dashboard nobody asked for.
        kwargs.setdefault("host", "127.0.0.1")
        if "dashboard_address" not in kwargs:
            kwargs["dashboard_address"] = None
            # Without a dashboard the scheduler still serves health routes, on port 8787 unless told.
            kwargs["scheduler_kwargs"] = {"dashboard_address": "127.0.0.1:0", **kwargs.get("scheduler_kwargs", {})}
    try:
        cluster = cls(**kwargs)
    except TypeError as exc:
        raise DaskClusterConfigError(f"cluster_kwargs do not fit {cls.__name__}: {exc}") from None
    except Exception as exc:
        raise DaskConnectionError(f"the {cls.__name__} did not start: {type(exc).__name__}: {exc}") from exc
    if adapt_kwargs is not None:
        cluster.adapt(**adapt_kwargs)
    return cluster


def probe_tcp(address: str, timeout: float = 5.0) -> None:
    """Open and close one TCP connection to a ``tcp://host:port`` (or ``host:port``) address.

    Raises:
        DaskConnectionError: the connection is refused or times out. Other schemes (tls://,
            inproc://, ...) and addresses without a port are left to ``distributed``.
    """
    import socket
    from urllib.parse import urlsplit

    scheme, sep, _rest = address.partition("://")
    if sep and scheme != "tcp":
        return
    try:
        parts = urlsplit(address if sep else f"tcp://{address}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return
    if not host or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or (
            f"no answer in {timeout:g} s" if isinstance(exc, TimeoutError) else type(exc).__name__
        )
        raise DaskConnectionError(
            f"cannot reach the Dask scheduler at {address}: {reason}; check that the scheduler is running and the "
            "address is right"
        ) from None


def connect(address: Any, client_kwargs: dict[str, Any]) -> Any:
    """A ``distributed.Client`` connected to ``address`` (a scheduler address or a cluster object)."""
    from distributed import Client

    kwargs = dict(client_kwargs)
    kwargs.setdefault("set_as_default", False)
    kwargs.setdefault("timeout", "10s")
    try:
        return Client(address, **kwargs)
    except TypeError as exc:
        raise DaskClusterConfigError(f"client_kwargs do not fit distributed.Client: {exc}") from None
    except (OSError, TimeoutError) as exc:
        where = address if isinstance(address, str) else type(address).__name__
        raise DaskConnectionError(
            f"cannot reach the Dask scheduler at {where}: {exc}; check that the scheduler is running and the address "
            "is right"
        ) from None
