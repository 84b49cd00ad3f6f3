"""``headwater events``, ``headwater automation`` and ``headwater webhook``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from headwater.cli._output import emit, emit_object, format_time, output_option
from headwater.errors import HeadwaterError

__all__ = ["automation", "events", "webhook"]


@click.group()
def events() -> None:
    """The event log: run state changes, deployment runs, block changes, custom events."""


def _row(ev: Any) -> dict[str, Any]:
    return {"seq": ev.seq, "occurred": format_time(ev.occurred), "event": ev.event, "resource": ev.resource_id,
            "payload": json.dumps(ev.payload) if ev.payload else ""}


@events.command("ls")
@click.option("--event", "pattern", help="Event name pattern, e.g. 'headwater.flow-run.*'.")
@click.option("--resource", help="Resource id pattern, e.g. 'headwater.flow-run.3f2*'.")
@click.option("-n", "--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until Ctrl-C.")
@output_option
def events_ls(pattern: str | None, resource: str | None, limit: int, follow: bool, output: str) -> None:
    """List recent events, newest last (JSON: one object per event)."""
    from headwater.events.reader import list_events

    found = list(reversed(list_events(pattern, resource, limit=limit)))
    if output == "json" and not follow:
        click.echo(json.dumps([e.to_dict() for e in found], indent=2))
        return
    if not follow:
        emit([_row(e) for e in found], ["seq", "occurred", "event", "resource", "payload"], output,
             empty="no events yet")
        return
    last = found[-1].seq if found else _max_seq()
    for ev in found:
        _print_line(ev, output)
    try:
        while True:
            new = list_events(pattern, resource, after_seq=last, limit=1000)
            for ev in new:
                _print_line(ev, output)
            if new:
                last = max(e.seq or 0 for e in new)
            else:  # events filtered out still move the cursor
                last = max(last or 0, _max_seq())
                time.sleep(0.2)
    except KeyboardInterrupt:
        pass


def _max_seq() -> int:
    from headwater.store.engine import db_read

    with db_read() as tx:
        return int(tx.scalar("SELECT MAX(seq) AS m FROM events") or 0)


def _print_line(ev: Any, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(ev.to_dict()))
    else:
        row = _row(ev)
        click.echo(f"{row['occurred']}  {row['event']}  {row['resource']}  {row['payload']}".rstrip())


@click.group()
def automation() -> None:
    """Automations: a trigger on events and the actions it takes."""


def _load_spec(file: str) -> Any:
    text = click.get_text_stream("stdin").read() if file == "-" else Path(file).read_text()
    try:
        import yaml

        return yaml.safe_load(text)
    except ImportError:
        return json.loads(text)
    except Exception as exc:
        raise click.UsageError(f"{file} is not valid YAML: {str(exc).splitlines()[0]}") from None


@automation.command("create")
@click.argument("file")
@click.option("--replace", is_flag=True, help="Overwrite an automation of the same name.")
def automation_create(file: str, replace: bool) -> None:
    """Create automations from a YAML (or JSON) FILE: one, a list, or {automations: [...]}."""
    from headwater.events.automations import Automation

    try:
        data = _load_spec(file)
    except FileNotFoundError:
        raise click.UsageError(f"no such file: {file}") from None
    items = data.get("automations", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise click.UsageError(f"{file} holds no automation")
    automations = [Automation.from_dict(item) for item in items]
    for item in automations:  # all checked before any is saved
        item.check()
    for item in automations:
        item.create(replace=replace)
        click.echo(f"created automation {item.name!r} ({item.id})")


@automation.command("ls")
@output_option
def automation_ls(output: str) -> None:
    """List automations."""
    from headwater.events.automations import list_automations

    rows = [{"name": a.name, "enabled": a.enabled, "trigger": a.trigger.type,
             "actions": ", ".join(x.type for x in a.actions), "id": a.id} for a in list_automations()]
    emit(rows, ["name", "enabled", "trigger", "actions"], output, empty="no automations yet")


@automation.command("inspect")
@click.argument("name")
@output_option
def automation_inspect(name: str, output: str) -> None:
    """Show an automation's trigger and actions."""
    from headwater.events.automations import get_automation

    emit_object(get_automation(name).model_dump(mode="json"), output)


@automation.command("pause")
@click.argument("name")
def automation_pause(name: str) -> None:
    """Stop evaluating an automation."""
    from headwater.events.automations import set_enabled

    set_enabled(name, False)
    click.echo(f"paused automation {name!r}")


@automation.command("resume")
@click.argument("name")
def automation_resume(name: str) -> None:
    """Evaluate an automation again (on events from now on)."""
    from headwater.events.automations import set_enabled

    set_enabled(name, True)
    click.echo(f"resumed automation {name!r}")


@automation.command("delete")
@click.argument("name")
def automation_delete(name: str) -> None:
    """Delete an automation (and its actions not yet carried out)."""
    from headwater.events.automations import delete_automation

    delete_automation(name)
    click.echo(f"deleted automation {name!r}")


@automation.command("serve")
@click.option("--interval", type=click.FloatRange(0.01, 60), default=0.1, show_default=True,
              help="Seconds between evaluations.")
def automation_serve(interval: float) -> None:
    """Evaluate automations and carry out their actions until Ctrl-C."""
    from headwater.events.service import serve

    click.echo("evaluating automations; Ctrl-C to stop", err=True)
    service = serve(interval=interval)
    click.echo(f"stopped: {service.done} action(s) carried out", err=True)


@automation.command("actions")
@click.option("-n", "--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@output_option
def automation_actions(limit: int, output: str) -> None:
    """List recent actions and their outcome (done, pending, failed)."""
    from headwater.store.engine import db_read

    with db_read() as tx:
        rows = tx.execute("SELECT a.seq, a.fire_key, a.action_index, a.status, a.attempts, a.created, a.error, "
                          "m.name AS automation FROM automation_actions a LEFT JOIN automations m "
                          "ON m.id = a.automation_id ORDER BY a.seq DESC LIMIT :n", {"n": limit})
    out = [{"automation": r.automation, "action": r.action_index, "status": r.status, "attempts": r.attempts,
            "created": format_time(r.created) if output == "table" else _iso(r.created), "error": r.error or ""}
           for r in rows]
    emit(out, ["automation", "action", "status", "attempts", "created", "error"], output, empty="no actions yet")


def _iso(ts: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


@click.group()
def webhook() -> None:
    """Webhooks: HTTP endpoints that turn requests into events."""


@webhook.command("create")
@click.argument("name")
@click.option("--template", help="JSON event template ({{ body.x }}, {{ headers.x }}, {{ query.x }}).")
def webhook_create(name: str, template: str | None) -> None:
    """Create a webhook; prints its path and token (shown only now)."""
    from headwater.events.webhooks import create_webhook

    id_, token = create_webhook(name, template)
    click.echo(f"created webhook {name!r}: POST /hooks/{id_}")
    click.echo(f"token (shown once; send as 'Authorization: Bearer <token>'): {token}")


@webhook.command("ls")
@output_option
def webhook_ls(output: str) -> None:
    """List webhooks."""
    from headwater.events.webhooks import list_webhooks

    emit(list_webhooks(), ["name", "path"], output, empty="no webhooks yet")


@webhook.command("delete")
@click.argument("name")
def webhook_delete(name: str) -> None:
    """Delete a webhook."""
    from headwater.events.webhooks import delete_webhook

    delete_webhook(name)
    click.echo(f"deleted webhook {name!r}")


@webhook.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=4300, show_default=True)
def webhook_serve(host: str, port: int) -> None:
    """Serve every webhook at POST http://HOST:PORT/hooks/<id> until Ctrl-C."""
    from headwater.events.webhooks import make_server

    try:
        server = make_server(host, port)
    except OSError as exc:
        raise HeadwaterError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"webhooks at http://{host}:{server.server_address[1]}/hooks/<id>; Ctrl-C to stop", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
