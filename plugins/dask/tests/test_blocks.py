"""The DaskCluster block: validation, check() against a real scheduler."""

from __future__ import annotations

import pytest
from headwater.blocks import Block
from headwater.errors import BlockValidationError, HeadwaterError
from headwater_dask import DaskCluster, DaskClusterConfigError, DaskConnectionError


def test_address_and_cluster_class_are_exclusive() -> None:
    with pytest.raises(BlockValidationError, match="either address"):
        DaskCluster(address="tcp://127.0.0.1:8786", cluster_class="distributed.LocalCluster")


def test_saved_settings_load_by_name() -> None:
    DaskCluster(address="tcp://127.0.0.1:8786", client_kwargs={"timeout": "3s"}).save("remote")
    loaded = Block.load("dask-cluster/remote")
    assert isinstance(loaded, DaskCluster)
    assert loaded.address == "tcp://127.0.0.1:8786"
    assert loaded.client_kwargs == {"timeout": "3s"}


def test_secret_kwargs_are_merged_only_when_the_cluster_starts() -> None:
    block = DaskCluster(cluster_kwargs={"n_workers": 1}, cluster_secrets={"password": "pw-Secret-77"})
    block.save("with-secret")
    loaded = DaskCluster.load("with-secret")
    assert "pw-Secret-77" not in repr(loaded)
    assert loaded.all_cluster_kwargs() == {"n_workers": 1, "password": "pw-Secret-77"}


def test_check_reaches_a_running_scheduler(dask_address: str) -> None:
    DaskCluster(address=dask_address).check()


def test_check_names_an_unreachable_scheduler() -> None:
    from headwater.testing.process import free_port

    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(DaskConnectionError, match="cannot reach the Dask scheduler") as info:
        DaskCluster(address=address, client_kwargs={"timeout": "1s"}).check()
    assert isinstance(info.value, HeadwaterError)
    assert address in str(info.value)


@pytest.mark.parametrize("scheme", ["tcp://", ""])
def test_check_of_a_refusing_scheduler_says_so_without_waiting_for_the_client(scheme: str) -> None:
    """The default client timeout is 10 s; the check answers from the refused connection."""
    from headwater.testing.process import free_port

    address = f"{scheme}127.0.0.1:{free_port()}"
    with pytest.raises(DaskConnectionError) as info:
        DaskCluster(address=address).check()
    assert str(info.value) == (f"cannot reach the Dask scheduler at {address}: Connection refused; "
                               "check that the scheduler is running and the address is right")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("LocalCluster", "not a dotted path"),
        ("no_such_package_xyz.Cluster", "cannot be imported"),
        ("distributed.NoSuchCluster", "has no class named"),
    ],
)
def test_check_names_a_bad_cluster_class(name: str, message: str) -> None:
    with pytest.raises(DaskClusterConfigError, match=message):
        DaskCluster(cluster_class=name).check()
