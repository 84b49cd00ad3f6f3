"""Flow parameters: binding to the signature and validation from type hints (pydantic, imported lazily)."""

from __future__ import annotations

import inspect
import typing
from typing import Any

from headwater.runtime._errors import ParameterBindError, ParameterTypeError

__all__ = ["bind_parameters", "validate_parameters"]


def bind_parameters(flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
    """Bind a call's arguments to the flow's signature (defaults not applied: they are not validated).

    Raises:
        ParameterBindError: Missing, unknown or surplus arguments (a ``TypeError``).
    """
    sig = flow._signature
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as exc:
        known = ", ".join(sig.parameters) or "none"
        raise ParameterBindError(f"flow {flow.name!r}: {exc} (its parameters: {known})") from None
    return bound


def _model(flow: Any) -> Any:
    cached = flow.__dict__.get("_params_model")
    if cached is not None:
        return cached
    try:
        hints = typing.get_type_hints(flow.fn)
    except Exception:
        hints = {}
    fields: dict[str, Any] = {}
    for name, p in flow._signature.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name not in hints:
            continue
        default = p.default if p.default is not p.empty else ...
        fields[name] = (hints[name], default)
    if not fields:
        flow.__dict__["_params_model"] = False
        return False
    import pydantic

    model = pydantic.create_model(  # type: ignore[call-overload]
        f"{flow.name}_parameters", __config__=pydantic.ConfigDict(arbitrary_types_allowed=True), **fields
    )
    flow.__dict__["_params_model"] = model
    return model


def validate_parameters(flow: Any, bound: inspect.BoundArguments) -> None:
    """Coerce and check bound arguments against the flow's type hints, in place.

    Raises:
        ParameterTypeError: One line per wrong parameter, naming the expected type.
    """
    if not bound.arguments:
        return
    model = _model(flow)
    if not model:
        return
    import pydantic

    values = {k: v for k, v in bound.arguments.items() if k in model.model_fields}
    try:
        validated = model.model_validate(values)
    except pydantic.ValidationError as exc:
        from headwater.redaction import redact

        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()))
            top = str(err.get("loc", ("?",))[0])
            hint = model.model_fields[top].annotation if top in model.model_fields else None
            expected = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
            given = err.get("input")
            shown = f" (got {given!r})" if isinstance(given, (int, float, str, bool)) and len(repr(given)) < 60 else ""
            problems.append(f"parameter {loc!r} expects {expected}: {err.get('msg')}{shown}")
        raise ParameterTypeError(redact(f"flow {flow.name!r}: " + "; ".join(problems))) from None
    for k in values:
        bound.arguments[k] = getattr(validated, k)
