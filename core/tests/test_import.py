"""`import headwater` stays cheap: it must not import the heavy machinery."""

from __future__ import annotations

from conftest import run_python


def test_import_headwater_imports_nothing_heavy():
    out = run_python(
        "import sys, headwater\n"
        "heavy = [m for m in ('pydantic', 'sqlalchemy', 'pluggy', 'click', 'rich', 'keyring', 'cryptography') if m in "
        "sys.modules]\n"
        "print(heavy)\n"
    )
    assert out.stdout.strip() == "[]"


def test_saving_a_block_on_sqlite_does_not_import_sqlalchemy_or_plugins():
    out = run_python(
        "import sys\nfrom headwater import Secret\nSecret(value='abcd-1234').save('x')\nSecret.load('x')\n"
        "print('sqlalchemy' in sys.modules, 'pluggy' in sys.modules)\n"
    )
    assert out.stdout.split() == ["False", "False"]
