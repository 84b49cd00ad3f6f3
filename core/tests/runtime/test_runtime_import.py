"""The runtime stays light: no pydantic/sqlalchemy unless a flow needs them."""

from __future__ import annotations

from rt_support import run_py


def test_import_and_a_flow_without_parameters_import_neither_pydantic_nor_sqlalchemy():
    out = run_py(
        "import sys\n"
        "import headwater.runtime\n"
        "from headwater.runtime import flow, task, get_run_logger, start_task_run\n"
        "print(sorted(m for m in ('pydantic', 'sqlalchemy', 'click', 'rich') if m in sys.modules))\n"
        "@task\n"
        "def t(): return 1\n"
        "@flow\n"
        "def f(): return t() + t.submit().result()\n"
        "assert f() == 2\n"
        "print(sorted(m for m in ('pydantic', 'sqlalchemy', 'click', 'rich') if m in sys.modules))\n"
        "@flow\n"
        "def g(n: int): return n\n"
        "assert g('2') == 2\n"
        "print('pydantic' in sys.modules, 'sqlalchemy' in sys.modules)\n"
    )
    assert out.stdout.split("\n")[:3] == ["[]", "[]", "True False"]


def test_top_level_exports():
    import headwater

    for name in ("flow", "task", "get_run_logger", "unmapped", "wait", "as_completed", "ThreadPoolTaskRunner",
                 "ProcessPoolTaskRunner", "start_task_run", "exponential_backoff", "task_input_hash"):
        assert getattr(headwater, name) is not None, name
    import headwater.runtime as rt

    for name in rt.__all__:
        assert getattr(rt, name) is not None, name
