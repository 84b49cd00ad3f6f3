"""The :class:`DaskCluster` block: where a flow's Dask tasks run, saved by name."""

from __future__ import annotations

from typing import Any

from headwater.blocks import Block, SecretDict
from pydantic import Field, model_validator

__all__ = ["DaskCluster"]


class DaskCluster(Block):
    """Settings of a Dask cluster: an existing scheduler's address, or a cluster class to start.

    Give either ``address`` (connect to a running scheduler) or ``cluster_class`` with
    ``cluster_kwargs`` (start a temporary cluster for each flow run); with neither, a
    ``distributed.LocalCluster`` on 127.0.0.1 is started.

    Example:
        >>> DaskCluster(cluster_kwargs={"n_workers": 4}).save("local4")      # doctest: +SKIP
        >>> @flow(task_runner=DaskTaskRunner.from_block("local4"))           # doctest: +SKIP
        ... def pipeline(): ...
    """

    _block_schema_version = 1

    address: str | None = Field(
        default=None,
        description="Address of a running Dask scheduler, e.g. 'tcp://10.0.0.5:8786'. "
        "Leave empty to start a temporary cluster.",
    )
    cluster_class: str | None = Field(
        default=None,
        description="Dotted name of the cluster class to start when no address is given, "
        "e.g. 'dask_jobqueue.SLURMCluster'. Default: 'distributed.LocalCluster'.",
    )
    cluster_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments for the cluster class, e.g. {'n_workers': 4}.",
    )
    cluster_secrets: SecretDict | None = Field(
        default=None,
        description="Secret keyword arguments merged into cluster_kwargs when the cluster "
        "starts (API tokens, passwords); kept in the secret backend.",
    )
    adapt_kwargs: dict[str, Any] | None = Field(
        default=None,
        description="When set, the temporary cluster scales adaptively with these arguments, "
        "e.g. {'minimum': 1, 'maximum': 10}.",
    )
    client_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments for distributed.Client, e.g. {'timeout': '30s'}.",
    )

    @model_validator(mode="after")
    def _address_or_cluster(self) -> DaskCluster:
        if self.address and (self.cluster_class or self.cluster_kwargs or self.cluster_secrets or self.adapt_kwargs):
            raise ValueError(
                "give either address (connect to a running scheduler) or cluster_class/cluster_kwargs/"
                "adapt_kwargs (start a cluster), not both"
            )
        return self

    def all_cluster_kwargs(self) -> dict[str, Any]:
        """``cluster_kwargs`` with the secret ones merged in (for starting the cluster)."""
        merged = dict(self.cluster_kwargs)
        if self.cluster_secrets is not None:
            merged.update(self.cluster_secrets.get_secret_value())
        return merged

    def check(self) -> None:
        """Connect to the scheduler (or check the cluster class imports).

        A ``tcp://`` scheduler that refuses connections fails at once, without waiting out
        the client's connect timeout (10 s by default) as a flow run would.

        Raises:
            DaskConnectionError: the scheduler at ``address`` cannot be reached.
            DaskClusterConfigError: ``cluster_class`` cannot be imported.
        """
        from headwater_dask._cluster import connect, import_cluster_class, probe_tcp

        if self.address:
            probe_tcp(self.address)
            client = connect(self.address, self.client_kwargs)
            client.close()
        else:
            import_cluster_class(self.cluster_class)

    def get_task_runner(self) -> Any:
        """A :class:`~headwater_dask.DaskTaskRunner` configured from this block."""
        from headwater_dask.task_runners import DaskTaskRunner

        return DaskTaskRunner(cluster=self)
