import base64
import json
import os
from pathlib import Path

import click
from headwater import hookimpl
from headwater.blocks.secrets import SecretBackend


class FileVault(SecretBackend):
    """Test-only backend: keeps values (obfuscated) in a separate vault file."""

    name = "filevault"

    def _path(self) -> Path:
        return Path(os.environ["HEADWATER_HOME"]) / "vault.json"

    def _read(self) -> dict:
        p = self._path()
        return json.loads(p.read_text()) if p.exists() else {}

    def store(self, ref, plaintext):
        data = self._read()
        data[ref] = base64.b64encode(plaintext[::-1].encode()).decode()
        self._path().write_text(json.dumps(data))
        return None

    def load(self, ref, stored):
        return base64.b64decode(self._read()[ref]).decode()[::-1]


@hookimpl
def register_block_types(register):
    from headwater_testplugin import Widget

    register(Widget)


@hookimpl
def register_secret_backends(register):
    register("filevault", FileVault)


@hookimpl
def register_commands(cli):
    @cli.command("widget")
    def widget():
        """Say hello from the test plugin."""
        click.echo("hello from testplugin")


@hookimpl
def register_task_runners(register):
    from headwater.runtime import ThreadPoolTaskRunner

    class OneThreadRunner(ThreadPoolTaskRunner):
        """Runs a flow's tasks on one worker thread."""

        def __init__(self):
            super().__init__(max_workers=1)

    register("one-thread", OneThreadRunner)


@hookimpl
def register_worker_types(register):
    from headwater.orchestration.workers import ProcessWorker

    class MarkingWorker(ProcessWorker):
        """A process worker that gives each run HW_MARKED_BY=testplugin in its environment."""

        type = "marking-process"

        def launch(self, spec):
            return super().launch({**spec, "job_variables": {"env": {"HW_MARKED_BY": "testplugin"}}})

    register("marking-process", MarkingWorker)
