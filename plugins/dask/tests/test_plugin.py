"""Plugin wiring: discovered through the entry point, and dask is imported only when a runner starts."""

from __future__ import annotations

import os
import subprocess
import sys


def test_loading_the_plugin_and_its_classes_does_not_import_dask() -> None:
    code = (
        "import sys\n"
        "from headwater.plugins import load_plugins, task_runner_classes, block_type_registry\n"
        "load_plugins()\n"
        "from headwater_dask import DaskCluster, DaskTaskRunner\n"
        "assert task_runner_classes()['dask'][1] is DaskTaskRunner\n"
        "assert block_type_registry()['dask-cluster'].cls is DaskCluster\n"
        "DaskTaskRunner(cluster=DaskCluster(cluster_kwargs={'n_workers': 1}))\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_plugin_ls_lists_the_runner_and_the_block(headwater_home: object) -> None:
    from headwater.plugins import load_plugins

    info = load_plugins()["dask"]
    assert info.loaded and info.dist == "headwater-dask"
    assert info.task_runners == ["dask"] and info.block_types == ["dask-cluster"]
