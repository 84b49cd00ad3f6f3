"""``headwater ui``: serve the web UI (127.0.0.1 by default; any other address needs a token)."""

from __future__ import annotations

import ipaddress

import click
from headwater.errors import HeadwaterError

__all__ = ["UIConfigError", "check_bind", "ui"]

MIN_TOKEN_LENGTH = 16


class UIConfigError(HeadwaterError):
    """The UI cannot start as asked (an open address without a token, a port in use, ...)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse an address other machines can reach unless a token protects it.

    Raises:
        UIConfigError: ``host`` is not a loopback address and no (long enough) token is set.
    """
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise UIConfigError(
            f"the UI token is too short ({len(token)} characters): use at least {MIN_TOKEN_LENGTH}, "
            f"e.g. HEADWATER_UI_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    if not is_loopback(host) and not token:
        raise UIConfigError(
            f"refusing to serve the UI on {host}, which other machines can reach, without a token: "
            f"pass --auth-token or set HEADWATER_UI_TOKEN (or use --host 127.0.0.1)"
        )


@click.command("ui")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (other than loopback needs a token)."
)
@click.option("--port", default=4200, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--auth-token",
    envvar="HEADWATER_UI_TOKEN",
    default=None,
    show_envvar=True,
    help="Token every request must carry (Authorization: Bearer TOKEN, or open /?token=TOKEN once).",
)
def ui(host: str, port: int, auth_token: str | None) -> None:
    """Serve the web UI: runs, logs, lineage, dashboard and blocks."""
    import socket

    check_bind(host, auth_token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise UIConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): pick another --port or --host"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]

    import uvicorn

    from headwater_ui.app import create_app

    allowed = None if auth_token else {"127.0.0.1", "localhost", "[::1]", host}
    app = create_app(auth_token=auth_token, allowed_hosts=allowed)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Headwater UI on http://{shown}:{port}/ (Ctrl+C to stop)", err=True)
    # a log stream stays open while its run goes on: Ctrl+C waits at most 3 s for open requests
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
