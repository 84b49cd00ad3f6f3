"""The notification interface: blocks that deliver a message (Slack, Teams, e-mail, ...).

Core defines the interface, as it defines object storage; plugins such as ``headwater-notify``
implement it. :func:`notify` turns a saved notification block into a flow or task state hook,
so ``@flow(on_failure=[notify("slack-webhook/alerts")])`` tells a channel when a run fails.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from headwater.blocks.core import Block, to_thread
from headwater.errors import HeadwaterError

__all__ = ["DEFAULT_STATE_MESSAGE", "NotificationBlock", "NotificationError", "notify"]

DEFAULT_STATE_MESSAGE = "{kind} run {run_name} of {name} entered {state}{message_part}"


class NotificationError(HeadwaterError):
    """A notification could not be delivered (the endpoint refused it or could not be reached)."""


class NotificationBlock(Block):
    """A block that can deliver a message: implement :meth:`notify`.

    Example:
        >>> SlackWebhook.load("alerts").notify("nightly load failed", subject="etl")  # doctest: +SKIP
    """

    _block_abstract = True

    @abstractmethod
    def notify(self, body: str, subject: str | None = None) -> None:
        """Deliver ``body`` (with ``subject`` where the service has one).

        Raises:
            NotificationError: the service refused the message or could not be reached.
        """

    async def anotify(self, body: str, subject: str | None = None) -> None:
        """Async twin of :meth:`notify`."""
        await to_thread(self.notify, body, subject)


def notify(
    block: str | NotificationBlock, body: str | None = None, subject: str | None = None
) -> Callable[..., None]:
    """A state hook that sends a notification through ``block``.

    Args:
        block: A saved notification block's name (``"slack-webhook/alerts"`` or ``"alerts"``)
            or a block instance.
        body: Message template. Fields: ``{kind}`` (Flow or Task), ``{name}``, ``{run_name}``,
            ``{run_id}``, ``{state}``, ``{message}``, ``{message_part}`` and, for flows,
            ``{parameters}`` (secrets masked). Defaults to a one-line summary.
        subject: Subject template (same fields); defaults to ``"{name}: {state}"``.

    Example:
        >>> @flow(on_failure=[notify("slack-webhook/alerts")])  # doctest: +SKIP
        ... def nightly(): ...
    """
    template = body or DEFAULT_STATE_MESSAGE
    subject_template = subject or "{name}: {state}"

    def hook(obj: Any, run: Any, state: Any) -> None:
        fields = _state_fields(obj, run, state)
        target = Block.load(block) if isinstance(block, str) else block
        if not isinstance(target, NotificationBlock):
            raise NotificationError(f"block {block!r} is a {type(target).__name__}, not a notification block")
        target.notify(_render(template, fields), subject=_render(subject_template, fields))

    hook.__name__ = f"notify[{block if isinstance(block, str) else type(block).__name__}]"
    return hook


def _state_fields(obj: Any, run: Any, state: Any) -> dict[str, Any]:
    from headwater.redaction import redact

    message = getattr(state, "message", None) or ""
    kind = "Task" if hasattr(run, "task_name") else "Flow"
    fields = {
        "kind": kind,
        "name": getattr(obj, "name", None) or getattr(run, "flow_name", None) or getattr(run, "task_name", "?"),
        "run_name": getattr(run, "name", "?"),
        "run_id": getattr(run, "id", "?"),
        "state": getattr(state, "name", None) or str(state),
        "message": message,
        "message_part": f": {message}" if message else "",
        "parameters": getattr(run, "parameters", {}) or {},
    }
    return {key: redact(value) if isinstance(value, str) else value for key, value in fields.items()}


def _render(template: str, fields: dict[str, Any]) -> str:
    from headwater.redaction import redact

    try:
        return redact(template.format(**fields))
    except (KeyError, IndexError, ValueError) as exc:
        raise NotificationError(f"notification template {template!r} does not render: {exc}") from None
