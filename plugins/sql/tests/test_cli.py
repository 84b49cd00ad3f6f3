"""Creating a connector from the command line with a URL keeps its password out of the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from headwater_sql import SqlAlchemyConnector

PASSWORD = "Cl1-Secret-pw"


def test_block_create_with_a_url(headwater_home: Path) -> None:
    url = f"postgresql+psycopg://etl:{PASSWORD}@db.internal:5432/wh"
    cli = [str(Path(sys.executable).parent / "headwater")]
    done = subprocess.run([*cli, "block", "create", "sqlalchemy-connector", "wh", "--set", f"connection_info={url}"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = subprocess.run([*cli, "block", "inspect", "sqlalchemy-connector/wh", "-o", "json"], capture_output=True,
                           text=True, timeout=120)
    assert '"connection_info.password"' in shown.stdout
    blob = b"".join(p.read_bytes() for p in headwater_home.rglob("*") if p.is_file())
    assert PASSWORD.encode() not in blob and PASSWORD not in shown.stdout + done.stdout + done.stderr
    loaded = SqlAlchemyConnector.load("wh")
    assert loaded.connection_info.password.get_secret_value() == PASSWORD
    assert loaded.create_url().render_as_string(hide_password=False) == url
