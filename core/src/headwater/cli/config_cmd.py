"""``headwater config``: settings, the store, and the secret backend in use (and why)."""

from __future__ import annotations

import click

from headwater.cli._output import emit_object, output_option

__all__ = ["config"]


@click.group(invoke_without_command=True)
@output_option
@click.pass_context
def config(ctx: click.Context, output: str) -> None:
    """Show settings, the store, and the secret backend in use."""
    if ctx.invoked_subcommand is not None:
        return
    from headwater.blocks.secrets import get_secret_backend, resolve_backend_name
    from headwater.settings import get_settings
    from headwater.store.engine import store_description

    s = get_settings()
    name, why = resolve_backend_name()
    try:
        detail = get_secret_backend(name).describe()
    except Exception as exc:  # shown, not raised: config must work when the backend does not
        detail = f"unusable: {exc}"
    emit_object(
        {
            "home": str(s.home),
            "database": store_description(),
            "secrets_backend": name,
            "secrets_backend_reason": why,
            "secrets_backend_detail": detail,
            "load_plugins": ",".join(s.load_plugins) if s.load_plugins is not None else "(all installed)",
            "logging_level": s.logging_level,
            "history_max_flow_runs": s.history_max_flow_runs,
            "history_max_task_runs": s.history_max_task_runs,
        },
        output,
    )


@config.command("new-key")
def new_key() -> None:
    """Print a new random key for HEADWATER_SECRET_KEY."""
    import base64
    import os

    click.echo(base64.urlsafe_b64encode(os.urandom(32)).decode())
