"""The ``headwater`` command.

Subcommands are imported only when invoked (``headwater block ls`` never imports the flow
runtime or any plugin); plugins add commands through the ``register_commands`` hook, loaded
only when a command is not one of core's.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

__all__ = ["cli", "main"]

CORE_COMMANDS = {
    "block": ("headwater.cli.blocks", "block", "Create, list, inspect, check and delete saved blocks."),
    "plugin": ("headwater.cli.plugins_cmd", "plugin", "List installed plugins and what they provide."),
    "config": ("headwater.cli.config_cmd", "config", "Show settings, the store, and the secret backend in use."),
    "run": ("headwater.cli.runs", "run", "Run a flow: headwater run FILE.py[:flow] | MODULE:flow --param k=v"),
    "runs": ("headwater.cli.runs", "runs", "List and inspect flow runs, their task runs and logs."),
    "deployment": ("headwater.cli.deployments", "deployment",
                   "List, inspect, run and delete deployments and their schedules."),
    "deploy": ("headwater.cli.deployments", "deploy", "Create or update the deployments of a headwater.yaml project."),
    "scheduler": ("headwater.cli.deployments", "scheduler", "Create scheduled runs ahead of time (any number may run)"),
    "work-pool": ("headwater.cli.workers", "work_pool", "Create, list, inspect and delete work pools."),
    "worker": ("headwater.cli.workers", "worker", "Start a worker that runs a work pool's flow runs."),
    "concurrency-limit": ("headwater.cli.workers", "concurrency_limit", "Limit how many runs with a tag run at once."),
    "artifacts": ("headwater.cli.objects_cmd", "artifacts", "List the artifacts flows created."),
    "variable": ("headwater.cli.objects_cmd", "variable", "Set, read, list and delete variables."),
    "global-concurrency-limit": ("headwater.cli.objects_cmd", "concurrency_limit",
                                 "Create, list and delete global concurrency and rate limits."),
    "events": ("headwater.cli.events_cmd", "events", "The event log: state changes, block changes, custom events."),
    "automation": ("headwater.cli.events_cmd", "automation", "Automations: triggers on events and their actions."),
    "automations": ("headwater.cli.events_cmd", "automation",
                    "Same as 'automation' (e.g. headwater automations serve)."),
    "webhook": ("headwater.cli.events_cmd", "webhook", "Webhooks that turn HTTP requests into events."),
    "completion": ("headwater.cli.completion_cmd", "completion",
                   "Print the shell completion script: bash, zsh or fish."),
}


class _LazyGroup(click.Group):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from headwater.errors import PluginError
        from headwater.plugins import call_hook, implementers, load_plugins

        plugins = load_plugins()
        for name in implementers("register_commands"):  # one plugin's failure stays its own
            before = dict(self.commands)
            try:
                call_hook("register_commands", name, cli=self)
            except PluginError as exc:
                self.commands = before  # nothing half-registered
                if name in plugins:
                    plugins[name].error = str(exc)

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            self._load_plugin_commands()
        except Exception:  # plugin errors are shown by `headwater plugin ls`
            pass
        return sorted({*CORE_COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        spec = CORE_COMMANDS.get(name)
        if spec is not None:
            try:
                command = getattr(importlib.import_module(spec[0]), spec[1])
            except (ImportError, AttributeError):
                return None
            self.commands[name] = command
            return command
        self._load_plugin_commands()
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in CORE_COMMANDS and name not in self.commands:
                rows.append((name, CORE_COMMANDS[name][2]))
            else:
                cmd = self.get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=80)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


BUILTIN_SECRET_BACKENDS = ("auto", "encrypted", "keyring")
# Commands that must work whatever the settings say: they are how a user finds the fix.
_SETTINGS_FREE = {"plugin", "completion"}


def _check_secrets_backend() -> None:
    """Refuse a HEADWATER_SECRETS_BACKEND that nothing provides before any command uses the
    store (plugins are loaded only when the name is not a built-in one)."""
    from headwater.errors import ConfigError
    from headwater.settings import get_settings

    name = get_settings().secrets_backend
    if name in BUILTIN_SECRET_BACKENDS:
        return
    from headwater.plugins import secret_backend_factories

    provided = secret_backend_factories()
    if name not in provided:
        known = ", ".join(["auto", *sorted(set(provided) | {"encrypted", "keyring"})])
        raise ConfigError(
            f"HEADWATER_SECRETS_BACKEND={name!r} is not a secret backend: use one of {known} "
            f"(a plugin may add it: headwater plugin ls)"
        )


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="headwater", prog_name="headwater")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Headwater: fast, local-first workflow orchestration with secret-safe blocks."""
    if ctx.resilient_parsing or ctx.invoked_subcommand in _SETTINGS_FREE:
        return
    _check_secrets_backend()


def main(argv: list[str] | None = None) -> None:
    """Entry point: HeadwaterError and other failures become one line on stderr and exit 1."""
    from headwater.errors import HeadwaterError
    from headwater.redaction import redact

    try:
        cli.main(args=argv, prog_name="headwater", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except getattr(click.exceptions, "NoArgsIsHelpError", ()) as exc:  # a bare group: its help
        click.echo(exc.format_message(), err=True)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # one line, as every other error (not click's usage block)
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        click.echo(f"Error: {redact(exc.format_message())}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"Error: {redact(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except HeadwaterError as exc:
        click.echo(f"Error: {redact(str(exc))}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("HEADWATER_DEBUG"):
            raise
        click.echo(f"Error: {type(exc).__name__}: {redact(str(exc))} (set HEADWATER_DEBUG=1 for a traceback)", err=True)
        sys.exit(1)
