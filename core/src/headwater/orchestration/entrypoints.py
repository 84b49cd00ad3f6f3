"""Finding a flow from an entrypoint: ``path/to/file.py:flow_fn`` or ``package.module:flow_fn``."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from headwater.orchestration.errors import DeploymentError

__all__ = [
    "check_parameters",
    "check_with_schema",
    "entrypoint_of",
    "load_flow",
    "parameter_schema",
    "split_entrypoint",
]


def split_entrypoint(entrypoint: str) -> tuple[str, str]:
    """``(file_or_module, attribute)``; DeploymentError when it has no ``:``."""
    target, sep, attr = str(entrypoint).rpartition(":")
    if not sep or not target or not attr:
        raise DeploymentError(
            f"entrypoint {entrypoint!r} is not 'path/to/file.py:flow_function' or 'package.module:flow_function'"
        )
    return target, attr


def _flows(module: Any) -> dict[str, Any]:
    """The module's flows by variable name; Prefect 0.15 ``with Flow("name") as flow:`` graphs
    become the Headwater flow that runs them (as ``headwater run FILE.py:flow`` does)."""
    from headwater.runtime.flows import Flow

    flows = {k: v for k, v in vars(module).items() if isinstance(v, Flow)}
    if "headwater.v1.flow" in sys.modules:
        from headwater.v1.engine import as_headwater_flow
        from headwater.v1.flow import Flow as GraphFlow

        for k, v in vars(module).items():
            if k not in flows and type(v) is GraphFlow:
                flows[k] = as_headwater_flow(v)
    return flows


def _flow_in(module: Any, attr: str, where: str) -> Any:
    from headwater.runtime.flows import Flow

    found = getattr(module, attr, None)
    if not isinstance(found, Flow):
        flows = _flows(module)
        if attr in flows:
            return flows[attr]
        found = next((f for f in flows.values() if f.name == attr), None)
        if found is None:
            names = ", ".join(sorted(flows)) or "none"
            raise DeploymentError(f"{where} has no flow named {attr!r} (flows in it: {names})")
    return found


def load_flow(entrypoint: str, base: str | Path | None = None) -> Any:
    """Import the flow an entrypoint names; a file path is read relative to ``base``.

    Raises:
        DeploymentError: The file, module or flow does not exist, or importing it failed.
    """
    target, attr = split_entrypoint(entrypoint)
    root = Path(base) if base is not None else Path.cwd()
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).expanduser()
        if not path.is_absolute():
            path = root / path
        if not path.is_file():
            raise DeploymentError(
                f"entrypoint file {target!r} not found in {root}: check the entrypoint and the source"
            )
        name = f"__headwater_entry_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise DeploymentError(f"entrypoint file {target!r} is not a Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            for folder in (str(root), str(path.resolve().parent)):
                if folder not in sys.path:
                    sys.path.insert(0, folder)
            from headwater.runtime.context import loading_flows

            try:
                with loading_flows:
                    spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise DeploymentError(f"importing {target} failed: {type(exc).__name__}: {exc}") from None
        return _flow_in(module, attr, target)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from headwater.runtime.context import loading_flows

    try:
        with loading_flows:
            module = importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise DeploymentError(
            f"entrypoint module {target!r} not found ({exc}): check the entrypoint and the source"
        ) from None
    except Exception as exc:
        raise DeploymentError(f"importing {target} failed: {type(exc).__name__}: {exc}") from None
    return _flow_in(module, attr, target)


def entrypoint_of(flow: Any) -> tuple[str, Path]:
    """``(entrypoint, folder)`` for a flow defined in a file (``file.py:function``, relative to the folder)."""
    import inspect

    fn = getattr(flow, "fn", flow)
    try:
        path = Path(inspect.getfile(fn)).resolve()
    except (TypeError, OSError):
        raise DeploymentError(
            f"flow {getattr(flow, 'name', fn)!r} is not defined in a file (interactive session?): "
            f"save it in a .py file, or use flow.from_source(source, entrypoint)"
        ) from None
    if not path.is_file():
        raise DeploymentError(f"flow {flow.name!r} comes from {path}, which is not a file a worker can load")
    return f"{path.name}:{fn.__name__}", path.parent


def check_parameters(flow: Any, parameters: dict[str, Any], complete: bool = False) -> dict[str, Any]:
    """Check parameters against the flow's signature and type hints; returns them JSON-safe.

    With ``complete`` every required parameter must be present (a run); otherwise missing
    ones are allowed (a deployment's defaults may leave them to each run).

    Raises:
        ParameterValidationError: Unknown names, values of the wrong type, missing required ones.
    """
    from headwater.runtime._errors import ParameterValidationError

    sig = flow._signature
    accepts_any = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [k for k in parameters if k not in sig.parameters and not accepts_any]
    if unknown:
        raise ParameterValidationError(
            f"flow {flow.name!r} has no parameter {unknown[0]!r} "
            f"(its parameters: {', '.join(sig.parameters) or 'none'})"
        )
    if complete:
        missing = [
            n
            for n, p in sig.parameters.items()
            if p.default is p.empty and n not in parameters and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if missing:
            raise ParameterValidationError(
                f"flow {flow.name!r} needs parameter {missing[0]!r}: pass --param {missing[0]}=VALUE"
            )
    if flow.validate_parameters and parameters:
        _check_types(flow, parameters)
    try:
        json.dumps(parameters)
    except (TypeError, ValueError):
        raise ParameterValidationError(
            f"flow {flow.name!r}: deployment parameters must be JSON values (numbers, text, lists, objects)"
        ) from None
    return dict(parameters)


def _check_types(flow: Any, parameters: dict[str, Any]) -> None:
    import typing

    from headwater.runtime._errors import ParameterValidationError

    try:
        hints = typing.get_type_hints(flow.fn)
    except Exception:
        return
    import pydantic

    for name, value in parameters.items():
        if name not in hints:
            continue
        try:
            pydantic.TypeAdapter(hints[name], config=pydantic.ConfigDict(arbitrary_types_allowed=True)).validate_python(
                value
            )
        except pydantic.ValidationError as exc:
            expected = getattr(hints[name], "__name__", None) or str(hints[name]).replace("typing.", "")
            msg = exc.errors()[0].get("msg", "invalid") if exc.errors() else "invalid"
            shown = f" (got {value!r})" if isinstance(value, (int, float, str, bool)) and len(repr(value)) < 60 else ""
            raise ParameterValidationError(
                f"flow {flow.name!r}: parameter {name!r} expects {expected}: {msg}{shown}"
            ) from None
        except pydantic.PydanticUserError:
            continue


_SIMPLE = {int: "int", float: "float", str: "str", bool: "bool"}


def parameter_schema(flow: Any) -> dict[str, Any]:
    """A small description of the flow's parameters, saved with the deployment so that a run's
    parameters are checked without importing the flow (names, required ones, simple types)."""
    import typing

    try:
        hints = typing.get_type_hints(flow.fn)
    except Exception:
        hints = {}
    sig = flow._signature
    return {
        "names": [n for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)],
        "required": [
            n
            for n, p in sig.parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ],
        "any": any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()),
        "types": {n: _SIMPLE[h] for n, h in hints.items() if h in _SIMPLE and n in sig.parameters},
        "secret": sorted(n for n, h in hints.items() if n in sig.parameters and _is_secret_type(h)),
        "flow": flow.name,
    }


def _is_secret_type(hint: Any) -> bool:
    """``SecretStr``, ``SecretBytes``, ``SecretDict`` (also inside ``Optional``/unions)."""
    args = getattr(hint, "__args__", None)
    if args:
        return any(_is_secret_type(a) for a in args)
    return isinstance(hint, type) and hasattr(hint, "get_secret_value")


def refuse_secret_values(schema: dict[str, Any], parameters: dict[str, Any]) -> None:
    """A secret-typed parameter's value would be stored in plain text with the run: refuse it."""
    from headwater.runtime._errors import ParameterValidationError

    for key in schema.get("secret", []):
        if key in parameters:
            raise ParameterValidationError(
                f"parameter {key!r} of flow {schema.get('flow', '?')!r} is a secret: deployments and runs store "
                f"parameters as they are, so pass the name of a Secret block (or leave it to the flow's default) "
                f"instead"
            )


def check_with_schema(schema: dict[str, Any], parameters: dict[str, Any]) -> None:
    """Check a run's full parameters against a saved :func:`parameter_schema`.

    Raises:
        ParameterValidationError: An unknown or missing parameter, or a value of the wrong simple type.
    """
    from headwater.runtime._errors import ParameterValidationError

    flow, names = schema.get("flow", "?"), schema.get("names", [])
    refuse_secret_values(schema, parameters)
    for key in parameters:
        if key not in names and not schema.get("any"):
            raise ParameterValidationError(
                f"flow {flow!r} has no parameter {key!r} (its parameters: {', '.join(names) or 'none'})"
            )
    for key in schema.get("required", []):
        if key not in parameters:
            raise ParameterValidationError(f"flow {flow!r} needs parameter {key!r}: pass --param {key}=VALUE")
    for key, kind in schema.get("types", {}).items():
        if key not in parameters:
            continue
        value = parameters[key]
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
        }[kind]
        if not ok:
            raise ParameterValidationError(f"flow {flow!r}: parameter {key!r} expects {kind} (got {value!r})")
