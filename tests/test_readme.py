"""The README's and getting-started's block commands, run as written: every block they refer
to is created first, and re-pointing `raw` to S3 leaves one `raw` that loads as the bucket."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADWATER = Path(sys.executable).with_name("headwater")


def _block_commands(doc: Path) -> list[list[str]]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("headwater block create"):
                commands.append(shlex.split(line)[1:])
    return commands


@pytest.mark.parametrize("doc", ["README.md", "docs/getting-started.md"])
def test_the_documented_block_recipe_works_as_written(doc, tmp_path):
    commands = _block_commands(ROOT / doc)
    assert any("s3-bucket" in c and "raw" in c for c in commands)
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "documented-secret"}
    for args in commands:
        proc = subprocess.run(
            [str(HEADWATER), *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120
        )
        assert proc.returncode == 0, f"{shlex.join(args)}: {proc.stderr}"
    from headwater import Block
    from headwater_aws import S3Bucket

    raw = Block.load("raw")
    assert isinstance(raw, S3Bucket) and raw.credentials.aws_secret_access_key.get_secret_value() == "documented-secret"


@pytest.mark.parametrize("doc", ["README.md", "docs/getting-started.md"])
def test_install_commands_work_before_headwater_is_published(doc):
    """Nothing is on PyPI yet: every `pip install` shown installs from a checkout's folders."""
    lines = [line.split("  #")[0].strip()
             for block in re.findall(r"```bash\n(.*?)```", (ROOT / doc).read_text(), re.S)
             for line in block.splitlines() if line.strip().startswith("pip install")]
    for line in lines:
        targets = [a for a in shlex.split(line)[2:] if not a.startswith("-")]
        assert targets and all(t.startswith(("./", "../", "/")) for t in targets), line
    if doc == "docs/getting-started.md":
        assert lines and any("/core" in line for line in lines)
