"""``DaskTaskRunner``: run a flow's submitted and mapped tasks on a Dask cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from headwater.runtime.task_runners import TaskRunner

from headwater_dask.errors import DaskClusterConfigError

if TYPE_CHECKING:
    from headwater.runtime.calls import TaskCall
    from headwater.runtime.futures import HeadwaterFuture

    from headwater_dask.blocks import DaskCluster

__all__ = ["DaskTaskRunner"]


class DaskTaskRunner(TaskRunner):
    """Runs task calls on Dask workers: an existing scheduler's, or a temporary cluster's.

    Each submitted call travels to a worker as cloudpickle bytes and runs there with its
    retries, timeout and caching; its final state, state transitions and log lines come back
    and are recorded in the flow's run history, exactly as with the thread runner. A task
    whose worker process dies is retried when it has retries left, else it ends Crashed.

    Args:
        address: Address of a running scheduler (``"tcp://10.0.0.5:8786"``). When omitted, a
            temporary cluster is started for the flow run and closed at its end.
        cluster_class: The cluster class to start: a class or its dotted name
            (``"dask_jobqueue.SLURMCluster"``). Default ``distributed.LocalCluster``
            (bound to 127.0.0.1, no dashboard unless ``cluster_kwargs`` says otherwise).
        cluster_kwargs: Keyword arguments for the cluster class (``{"n_workers": 4}``).
        adapt_kwargs: When given, the temporary cluster scales adaptively
            (``cluster.adapt(**adapt_kwargs)``).
        client_kwargs: Keyword arguments for ``distributed.Client``.
        cluster: A :class:`~headwater_dask.DaskCluster` block to take all of the above from
            (its secret ``cluster_secrets`` are merged into the cluster's keyword arguments),
            or a running ``distributed`` cluster to connect to, as in prefect-dask.
        performance_report_path: Accepted for prefect-dask compatibility; ignored, with a warning.

    Raises:
        DaskClusterConfigError: both an address and cluster settings are given.

    Example:
        >>> @flow(task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 4}))   # doctest: +SKIP
        ... def pipeline(): ...
        >>> @flow(task_runner=DaskTaskRunner.from_block("prod-cluster"))          # doctest: +SKIP
        ... def nightly(): ...
    """

    def __init__(
        self,
        address: str | None = None,
        cluster_class: str | type | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
        *,
        cluster: DaskCluster | Any | None = None,
        performance_report_path: str | None = None,
    ) -> None:
        super().__init__()
        from headwater_dask.blocks import DaskCluster

        if performance_report_path is not None:  # prefect-dask's option: accepted so that migrated flows run
            import warnings

            warnings.warn("DaskTaskRunner: performance_report_path is not supported by headwater-dask; no Dask "
                          "performance report is written (the run history has each task run's timing)", stacklevel=2)

        if cluster is not None and not isinstance(cluster, DaskCluster) and hasattr(cluster, "scheduler_address"):
            # prefect-dask's DaskTaskRunner(cluster=<a running distributed Cluster>): connect to it.
            if address or cluster_class or cluster_kwargs or adapt_kwargs:
                raise DaskClusterConfigError(
                    "DaskTaskRunner(cluster=<a running cluster>) connects to that cluster: do not also pass "
                    "address, cluster_class, cluster_kwargs or adapt_kwargs"
                )
            address, cluster = cluster.scheduler_address, None
        if cluster is not None:
            if not isinstance(cluster, DaskCluster):
                raise DaskClusterConfigError(
                    f"DaskTaskRunner(cluster=...) takes a DaskCluster block or a running distributed cluster, "
                    f"not {type(cluster).__name__}"
                )
            if address or cluster_class or cluster_kwargs or adapt_kwargs or client_kwargs:
                raise DaskClusterConfigError(
                    "DaskTaskRunner(cluster=...) takes every setting from the block: do not also pass "
                    "address, cluster_class, cluster_kwargs, adapt_kwargs or client_kwargs"
                )
            address, cluster_class = cluster.address, cluster.cluster_class
            adapt_kwargs, client_kwargs = cluster.adapt_kwargs, dict(cluster.client_kwargs)
        if address and (cluster_class or cluster_kwargs or adapt_kwargs):
            raise DaskClusterConfigError(
                "DaskTaskRunner: give either address (connect to a running scheduler) or "
                "cluster_class/cluster_kwargs/adapt_kwargs (start a temporary cluster), not both"
            )
        self.address = address
        self.cluster_class = cluster_class
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.adapt_kwargs = dict(adapt_kwargs) if adapt_kwargs is not None else None
        self.client_kwargs = dict(client_kwargs or {})
        self._block = cluster
        self._session: Any = None

    @classmethod
    def from_block(cls, name: str) -> DaskTaskRunner:
        """A runner configured from the saved :class:`~headwater_dask.DaskCluster` block ``name``.

        Raises:
            BlockNotFoundError: no DaskCluster is saved under ``name``.
        """
        from headwater_dask.blocks import DaskCluster

        return cls(cluster=DaskCluster.load(name))

    def duplicate(self) -> DaskTaskRunner:
        if self._block is not None:
            return DaskTaskRunner(cluster=self._block)
        return DaskTaskRunner(self.address, self.cluster_class, self.cluster_kwargs, self.adapt_kwargs,
                              self.client_kwargs)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        from headwater_dask._session import DaskSession

        kwargs = self._block.all_cluster_kwargs() if self._block is not None else self.cluster_kwargs
        self._session = DaskSession.open(self.address, self.cluster_class, kwargs, self.adapt_kwargs,
                                         self.client_kwargs)

    def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def cancel_pending(self, message: str) -> int:
        """The flow run was interrupted (Ctrl-C): calls no worker has started are cancelled and
        recorded ``Cancelled(message)``, and none starts from now on; returns how many."""
        return self._session.cancel_pending(message) if self._session is not None else 0

    def abandon(self) -> None:
        """Interrupted twice: cancel every call still in flight on the cluster."""
        if self._session is not None:
            self._session.abandon()

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` while the runner is started (None otherwise)."""
        return self._session.client if self._session is not None else None

    # -- submitting -----------------------------------------------------------------------

    def submit(self, call: TaskCall) -> HeadwaterFuture:
        if self._session is None:
            self.__enter__()
        from headwater.runtime.futures import HeadwaterFuture

        session = self._session
        if not call.upstream_futures():
            return HeadwaterFuture(call.task_run, session.send_ready(call), call.absorb, call.crashed)
        proxy = session.send_chained(call)
        if proxy is not None:
            return HeadwaterFuture(call.task_run, proxy, call.absorb, call.crashed)
        return self.submit_remote(call, lambda payload: session.send(call, payload))

    def map(self, calls: Sequence[TaskCall]) -> list[HeadwaterFuture]:
        if self._session is None:
            self.__enter__()
        ready = [c for c in calls if not c.upstream_futures()]
        if len(ready) < 2:
            return [self.submit(c) for c in calls]
        from headwater.runtime.futures import HeadwaterFuture

        sent = dict(zip(map(id, ready), self._session.send_many(ready), strict=True))
        return [
            HeadwaterFuture(c.task_run, sent[id(c)], c.absorb, c.crashed) if id(c) in sent else self.submit(c)
            for c in calls
        ]

    def __repr__(self) -> str:
        if self.address:
            return f"DaskTaskRunner(address={self.address!r})"
        name = self.cluster_class if isinstance(self.cluster_class, str) or self.cluster_class is None \
            else self.cluster_class.__name__
        return f"DaskTaskRunner(cluster_class={name or 'distributed.LocalCluster'!r})"
