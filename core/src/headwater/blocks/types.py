"""Secret field types. ``SecretStr``/``SecretBytes`` are pydantic's; ``SecretDict`` is Headwater's."""

from __future__ import annotations

import json
from typing import Any

from pydantic import GetCoreSchemaHandler, SecretBytes, SecretStr
from pydantic_core import PydanticCustomError, core_schema

from headwater.redaction import MASK, remember

__all__ = ["SECRET_TYPES", "SecretBytes", "SecretDict", "SecretStr", "is_secret_value"]


class SecretDict:
    """A dictionary whose contents are secret (for example a service-account JSON).

    Accepts a dict or a JSON object string, positionally or as ``secret_value=`` (the name
    Prefect's ``SecretDict`` takes). ``repr``, ``str`` and JSON dumps show only a mask; use
    :meth:`get_secret_value` for the dict.
    """

    __slots__ = ("_value",)

    def __init__(self, value: dict[str, Any] | str | None = None, *,
                 secret_value: dict[str, Any] | str | None = None) -> None:
        if value is not None and secret_value is not None:
            raise TypeError("give the value once: SecretDict(value) or SecretDict(secret_value=value)")
        self._value = _as_dict(value if value is not None else secret_value)
        remember(self._value)

    def get_secret_value(self) -> dict[str, Any]:
        return self._value

    def __repr__(self) -> str:
        return f"SecretDict('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretDict) and other._value == self._value

    def __hash__(self) -> int:
        return hash(json.dumps(self._value, sort_keys=True, default=str))

    def __len__(self) -> int:
        return len(self._value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> SecretDict:
            if isinstance(value, SecretDict):
                return value
            try:
                return SecretDict(value)
            except (TypeError, ValueError) as exc:
                raise PydanticCustomError("secret_dict", "{reason}", {"reason": str(exc)}) from None

        def serialize(value: SecretDict, info: core_schema.SerializationInfo) -> Any:
            if info.context and info.context.get("include_secrets"):
                return value.get_secret_value()
            return MASK if info.mode == "json" else value

        return core_schema.no_info_plain_validator_function(
            validate,
            json_schema_input_schema=core_schema.dict_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(serialize, info_arg=True),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, _schema: Any, _handler: Any) -> dict[str, Any]:
        return {"type": "object", "format": "password", "writeOnly": True}


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes)):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValueError("expected a JSON object, and the text given is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise ValueError("expected a JSON object")
        return parsed
    raise TypeError(f"expected a dict or a JSON object string, not {type(value).__name__}")


SECRET_TYPES = (SecretStr, SecretBytes, SecretDict)


def is_secret_value(value: Any) -> bool:
    return isinstance(value, SECRET_TYPES)
