"""Store behaviour under failure: nothing half-written, newer schemas refused."""

from __future__ import annotations

import re
import sqlite3

import pytest
from blockdefs import Warehouse, WarehouseCredentials
from headwater.blocks import secrets
from headwater.errors import SecretBackendError, StoreError
from headwater.settings import reset_settings
from headwater.store.documents import list_documents


class _FlakyVault(secrets.SecretBackend):
    """A backend that accepts one secret, then fails (as a remote vault might mid-save)."""

    name = "flaky"

    def __init__(self):
        self.kept: dict[str, str] = {}

    def store(self, ref, plaintext):
        if self.kept:
            raise SecretBackendError("vault unavailable")
        self.kept[ref] = plaintext
        return None

    def load(self, ref, stored):
        return self.kept[ref]

    def delete(self, ref, stored):
        self.kept.pop(ref, None)


def test_secret_backend_failing_mid_save_leaves_nothing_written(monkeypatch):
    vault = _FlakyVault()
    monkeypatch.setenv("HEADWATER_SECRETS_BACKEND", "flaky")
    reset_settings()
    secrets._instances["flaky"] = vault
    wh = Warehouse(host="h", credentials=WarehouseCredentials(username="u", password="first-secret-1"),
                   extra={"second": "second-secret-2"})
    with pytest.raises(SecretBackendError):
        wh.save("half")
    assert list_documents() == []
    assert vault.kept == {}, "secrets stored before the failure are removed again"


def test_store_from_a_newer_headwater_is_refused(headwater_home):
    WarehouseCredentials(username="u", password="pw-123456").save("x")
    con = sqlite3.connect(headwater_home / "headwater.db")
    con.execute("INSERT INTO headwater_schema_migrations (version, name, applied) VALUES (999, 'future', 0)")
    con.commit()
    reset_settings()
    with pytest.raises(StoreError, match="newer than this Headwater knows.*pip install -U headwater"):
        WarehouseCredentials.load("x")


def test_integrity_check_on_healthy_store():
    from headwater.store import check_integrity

    WarehouseCredentials(username="u", password="pw-123456").save("x")
    assert check_integrity() == []


def test_a_name_two_block_types_share_is_ambiguous_until_given_its_type():
    from headwater import Block
    from headwater.errors import BlockNotFoundError
    from headwater.store.documents import read_document

    WarehouseCredentials(username="u", password="pw-one-123").save("shared")
    Warehouse(host="h", credentials=WarehouseCredentials(username="v", password="pw-two-456")).save("shared")
    both = "block name 'shared' is ambiguous (warehouse-credentials/shared, warehouse/shared)"
    with pytest.raises(BlockNotFoundError, match=rf"{re.escape(both)}: load it as 'slug/name'"):
        Block.load("shared")
    with pytest.raises(BlockNotFoundError, match=rf"{re.escape(both)}: use 'slug/name'"):
        read_document("shared")
    with pytest.raises(BlockNotFoundError, match=rf"{re.escape(both)}: delete it as 'slug/name'"):
        Block.delete("shared")
    assert Block.load("warehouse/shared").host == "h"
    assert read_document("warehouse-credentials/shared").secret_fields == ["password"]
    with pytest.raises(BlockNotFoundError, match=r"no block named 'warehouse/absent'"):
        Block.load("warehouse/absent")
