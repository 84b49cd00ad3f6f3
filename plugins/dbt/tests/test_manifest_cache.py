"""Parsed manifests saved between processes, and dbt's partial parsing kept valid.

A fresh process is simulated in-process by ``clear_manifest_cache()`` (which forgets the
manifests kept in memory); one test runs a real second process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from headwater_dbt import DbtCoreOperation, clear_manifest_cache


def _run(project: Path, profile, command: str = "dbt build", **kwargs):
    result = DbtCoreOperation(commands=[command], project_dir=project, dbt_cli_profile=profile, **kwargs).run()
    return result.invocations[0]


def _manifests(home: Path) -> list[Path]:
    return sorted((home / "dbt-manifests").glob("*.pickle"))


def test_a_fresh_process_reuses_the_saved_manifest(project_copy, tmp_path, headwater_home, duckdb_query,
                                                   make_duckdb_profile):
    warehouse = tmp_path / "w.duckdb"
    first = _run(project_copy, make_duckdb_profile(warehouse, threads=1))
    assert first.manifest_cache is None and len(first.nodes) == 16
    (saved,) = _manifests(headwater_home)
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    duckdb_query(warehouse, "drop table main.customer_orders")

    script = textwrap.dedent(f"""
        import json
        from headwater_dbt import DbtCliProfile, DbtCoreOperation, DuckDBTargetConfigs
        profile = DbtCliProfile(name="headwater_demo", target="dev",
                                target_configs=DuckDBTargetConfigs(path={str(warehouse)!r}, schema="main", threads=1))
        operation = DbtCoreOperation(commands=["dbt build"], project_dir={str(project_copy)!r}, dbt_cli_profile=profile)
        inv = operation.run().invocations[0]
        print(json.dumps({{"cache": inv.manifest_cache, "nodes": {{n.unique_id: n.status for n in inv.nodes}}}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    second = json.loads(out.stdout.strip().splitlines()[-1])
    assert second["cache"] == "disk"
    assert len(second["nodes"]) == 16 and set(second["nodes"].values()) == {"success", "pass"}
    assert duckdb_query(warehouse, "select count(*) from main.customer_orders") == [(5,)], "every node was built again"


def test_a_saved_manifest_resolves_sources_and_refs(project_copy, tmp_path, duckdb_query, make_duckdb_profile):
    """Regression: dbt 1.11 pickles a Manifest with its lookups shifted; source() then failed."""
    (project_copy / "models" / "staging" / "raw_sources.yml").write_text(textwrap.dedent("""
        version: 2
        sources:
          - name: raw
            schema: main
            tables:
              - name: raw_customers
    """))
    (project_copy / "models" / "staging" / "customers_from_source.sql").write_text(
        "select c.* from {{ source('raw', 'raw_customers') }} c join {{ ref('stg_customers') }} s on s.customer_id = "
        "c.id\n"
    )
    warehouse = tmp_path / "s.duckdb"
    profile = make_duckdb_profile(warehouse, threads=1)
    _run(project_copy, profile, "dbt seed")
    first = _run(project_copy, profile, "dbt run --select stg_customers customers_from_source")
    assert {n.status for n in first.nodes} == {"success"}
    clear_manifest_cache()  # as in a new process
    again = _run(project_copy, profile, "dbt run --select stg_customers customers_from_source")
    assert again.manifest_cache == "disk"
    assert {n.status for n in again.nodes} == {"success"}
    assert duckdb_query(warehouse, "select count(*) from main.customers_from_source") == [(5,)]


def test_a_changed_model_invalidates_the_saved_manifest(project_copy, tmp_path, duckdb_query, make_duckdb_profile):
    warehouse = tmp_path / "w.duckdb"
    profile = make_duckdb_profile(warehouse, threads=1)
    _run(project_copy, profile, "dbt seed")
    _run(project_copy, profile, "dbt run --select stg_customers")
    assert duckdb_query(warehouse, "select count(*) from main.stg_customers") == [(5,)]

    model = project_copy / "models" / "staging" / "stg_customers.sql"
    model.write_text(model.read_text() + "where country = 'GB'\n")
    clear_manifest_cache()  # as in a new process
    changed = _run(project_copy, profile, "dbt run --select stg_customers")
    assert changed.manifest_cache is None, "dbt parsed the changed project"
    assert duckdb_query(warehouse, "select count(*) from main.stg_customers") == [(2,)]

    clear_manifest_cache()
    again = _run(project_copy, profile, "dbt run --select stg_customers")
    assert again.manifest_cache == "disk", "the manifest saved after the change is used"
    assert duckdb_query(warehouse, "select count(*) from main.stg_customers") == [(2,)]


def test_a_changed_env_var_the_project_reads_invalidates_the_saved_manifest(
    project_copy, tmp_path, monkeypatch, duckdb_query, make_duckdb_profile
):
    monkeypatch.delenv("HW_DBT_COUNTRY", raising=False)
    model = project_copy / "models" / "staging" / "stg_customers.sql"
    model.write_text(model.read_text() + "where country = '{{ env_var(\"HW_DBT_COUNTRY\") }}'\n")
    warehouse = tmp_path / "e.duckdb"
    profile = make_duckdb_profile(warehouse, threads=1)
    _run(project_copy, profile, "dbt seed --select raw_customers", env={"HW_DBT_COUNTRY": "US"})
    _run(project_copy, profile, "dbt run --select stg_customers", env={"HW_DBT_COUNTRY": "US"})
    assert duckdb_query(warehouse, "select count(*) from main.stg_customers") == [(2,)]
    clear_manifest_cache()
    other = _run(project_copy, profile, "dbt run --select stg_customers", env={"HW_DBT_COUNTRY": "NL"})
    assert other.manifest_cache is None
    assert duckdb_query(warehouse, "select count(*) from main.stg_customers") == [(1,)]


def test_dbt_clean_makes_dbt_parse_and_write_its_artifacts_again(project_copy, tmp_path, make_duckdb_profile):
    profile = make_duckdb_profile(tmp_path / "c.duckdb", threads=1)
    _run(project_copy, profile, "dbt seed")
    _run(project_copy, profile, "dbt clean")
    assert not (project_copy / "target").exists()
    clear_manifest_cache()
    again = _run(project_copy, profile, "dbt ls")
    assert again.manifest_cache is None
    assert (project_copy / "target" / "manifest.json").is_file()


def test_a_damaged_saved_manifest_is_ignored_and_replaced(project_copy, tmp_path, headwater_home, make_duckdb_profile):
    profile = make_duckdb_profile(tmp_path / "d.duckdb", threads=1)
    _run(project_copy, profile, "dbt seed")
    (saved,) = _manifests(headwater_home)
    header = saved.read_bytes().split(b"\n", 1)[0]
    saved.write_bytes(header + b"\nnot a pickle")
    clear_manifest_cache()
    damaged = _run(project_copy, profile, "dbt seed")
    assert damaged.manifest_cache is None and [n.status for n in damaged.nodes] == ["success", "success"]
    clear_manifest_cache()
    assert _run(project_copy, profile, "dbt seed").manifest_cache == "disk"


@pytest.mark.parametrize("how", ["env", "flag"])
def test_the_saved_manifest_can_be_turned_off(how, project_copy, tmp_path, headwater_home, monkeypatch,
                                              make_duckdb_profile):
    from headwater_dbt import GlobalConfigs

    profile = make_duckdb_profile(tmp_path / "o.duckdb", threads=1)
    if how == "env":
        monkeypatch.setenv("HEADWATER_DBT_MANIFEST_CACHE", "false")
    else:
        profile.global_configs = GlobalConfigs(partial_parse=False)
    _run(project_copy, profile, "dbt seed")
    clear_manifest_cache()
    assert _run(project_copy, profile, "dbt seed").manifest_cache is None
    assert not _manifests(headwater_home)


def test_dbt_partial_parse_state_stays_valid_for_the_cli(project_copy, tmp_path, make_duckdb_profile):
    """Our runs and a plain `dbt` with an equivalent profiles.yml share dbt's partial-parse state."""
    from dbt.cli.main import dbtRunner

    warehouse = tmp_path / "p.duckdb"
    inv = _run(project_copy, make_duckdb_profile(warehouse, threads=1), "dbt parse")
    assert "--profile" not in inv.args and "--target" not in inv.args
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        f"headwater_demo:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: '{warehouse}'\n      schema: main\n      threads: 1\n"
    )
    events: list[str] = []
    res = dbtRunner(callbacks=[lambda ev: events.append(ev.info.name)]).invoke(
        ["parse", "--project-dir", str(project_copy), "--profiles-dir", str(profiles), "--log-level", "none"]
    )
    assert res.success
    assert "UnableToPartialParse" not in events and "PartialParsingSkipParsing" in events


def test_profile_and_target_are_passed_where_dbt_would_not_pick_them(project_copy, tmp_path, duckdb_query,
                                                                     make_duckdb_profile):
    warehouse = tmp_path / "t.duckdb"
    profile = make_duckdb_profile(warehouse, threads=1)
    inv = _run(project_copy, profile, "dbt seed --select raw_customers", env={"DBT_TARGET": "elsewhere"})
    assert inv.args[inv.args.index("--target") + 1] == "dev"
    assert duckdb_query(warehouse, "select count(*) from main.raw_customers") == [(5,)]

    (project_copy / "dbt_project.yml").write_text(
        (project_copy / "dbt_project.yml").read_text().replace("profile: headwater_demo", "profile: somebody_else")
    )
    inv = _run(project_copy, profile, "dbt seed --select raw_customers")
    assert inv.args[inv.args.index("--profile") + 1] == "headwater_demo"


def test_anonymous_usage_stats_are_off_unless_asked_for(project_copy, tmp_path, monkeypatch, make_duckdb_profile):
    from dbt.flags import get_flags

    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.delenv("DBT_SEND_ANONYMOUS_USAGE_STATS", raising=False)
    profile = make_duckdb_profile(tmp_path / "a.duckdb", threads=1)
    _run(project_copy, profile, "dbt ls")
    assert get_flags().SEND_ANONYMOUS_USAGE_STATS is False


def test_dbt_json_schemas_are_kept_and_still_validate(project_copy, tmp_path, headwater_home):
    """A fresh process writes the schemas; the next one validates dbt_project.yml with them."""
    script = textwrap.dedent(f"""
        from headwater_dbt import DbtCliProfile, DbtCoreOperation, DuckDBTargetConfigs
        target = DuckDBTargetConfigs(path={str(tmp_path / "s.duckdb")!r}, schema="main", threads=1)
        profile = DbtCliProfile(name="headwater_demo", target="dev", target_configs=target)
        try:
            DbtCoreOperation(commands=["dbt ls"], project_dir={str(project_copy)!r}, dbt_cli_profile=profile).run()
        except Exception as exc:
            print(type(exc).__name__, exc)
        else:
            print("ok")
    """)

    def fresh_process() -> str:
        out = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip().splitlines()[-1]

    assert fresh_process() == "ok"
    kept = json.loads((headwater_home / "dbt-manifests" / "json-schemas.json").read_text())
    assert "dbt.contracts.project.Project" in kept["schemas"]
    (project_copy / "dbt_project.yml").write_text(
        (project_copy / "dbt_project.yml").read_text().replace('version: "1.0.0"', "version: [not, a, version]")
    )
    assert fresh_process().startswith("DbtProjectError")


def test_manifest_json_of_a_reused_manifest_names_this_invocation(project_copy, tmp_path, make_duckdb_profile):
    """target/manifest.json and run_results.json of one command carry the same invocation id."""
    profile = make_duckdb_profile(tmp_path / "m.duckdb", threads=1)
    target = project_copy / "target"

    def artifacts() -> tuple[dict, dict]:
        manifest = json.loads((target / "manifest.json").read_text())["metadata"]
        results = json.loads((target / "run_results.json").read_text())["metadata"]
        return manifest, results

    _run(project_copy, profile, "dbt seed")
    first_manifest, first_results = artifacts()
    assert first_manifest["invocation_id"] == first_results["invocation_id"]

    memory = _run(project_copy, profile, "dbt seed")
    assert memory.manifest_cache == "memory"
    second_manifest, second_results = artifacts()
    assert second_results["invocation_id"] != first_results["invocation_id"]
    assert second_manifest["invocation_id"] == second_results["invocation_id"]
    assert second_manifest["generated_at"] > first_manifest["generated_at"]

    clear_manifest_cache()  # as in a new process
    disk = _run(project_copy, profile, "dbt seed")
    assert disk.manifest_cache == "disk"
    third_manifest, third_results = artifacts()
    assert third_manifest["invocation_id"] == third_results["invocation_id"] != second_results["invocation_id"]


@pytest.mark.parametrize("setting, frozen", [(None, True), ("false", False)])
def test_a_new_process_freezes_what_importing_dbt_made(project_copy, tmp_path, duckdb_query, setting, frozen):
    """gc.freeze() after dbt's import (less GC work, a faster exit); HEADWATER_DBT_GC_FREEZE=false opts out."""
    warehouse = tmp_path / "f.duckdb"
    script = textwrap.dedent(f"""
        import gc, json
        from headwater_dbt import DbtCliProfile, DbtCoreOperation, DuckDBTargetConfigs
        before = gc.get_freeze_count()
        profile = DbtCliProfile(name="headwater_demo", target="dev",
                                target_configs=DuckDBTargetConfigs(path={str(warehouse)!r}, schema="main", threads=1))
        DbtCoreOperation(commands=["dbt seed --select raw_customers"], project_dir={str(project_copy)!r},
                         dbt_cli_profile=profile).run()
        print(json.dumps({{"before": before, "after": gc.get_freeze_count(), "enabled": gc.isenabled()}}))
    """)
    env = dict(os.environ)
    env.pop("HEADWATER_DBT_GC_FREEZE", None)
    if setting is not None:
        env["HEADWATER_DBT_GC_FREEZE"] = setting
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0
    assert (counts["after"] > 50_000) is frozen, counts
    assert counts["enabled"], "the collector runs again after dbt's import"
    assert duckdb_query(warehouse, "select count(*) from main.raw_customers") == [(5,)]
