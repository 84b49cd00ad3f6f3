"""Every block of headwater-dask passes the core BlockConformanceSuite."""

from __future__ import annotations

from headwater.testing import BlockConformanceSuite
from headwater_dask import DaskCluster


class TestDaskCluster(BlockConformanceSuite):
    block_cls = DaskCluster
    plugin_name = "dask"

    def make_block(self) -> DaskCluster:
        return DaskCluster(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={"n_workers": 2, "threads_per_worker": 1},
            cluster_secrets={"api_token": "tok-Secret-9f2c1e7a"},
            adapt_kwargs={"minimum": 1, "maximum": 4},
            client_kwargs={"timeout": "20s"},
        )
