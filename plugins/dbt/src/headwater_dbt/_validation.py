"""The base of headwater-dbt's blocks: invalid values raise an error that is also pydantic's ValidationError."""

from __future__ import annotations

from typing import Any, ClassVar

from headwater.blocks import Block
from headwater.errors import BlockValidationError
from pydantic import ValidationError

from headwater_dbt.errors import DbtValidationError

__all__ = ["DbtBlock"]


class DbtBlock(Block):
    """A Block whose validation errors are :class:`DbtValidationError` (a ``BlockValidationError``
    and a pydantic ``ValidationError``), so ``except ValidationError:`` written for prefect-dbt
    still catches them."""

    _block_abstract: ClassVar[bool] = True

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except BlockValidationError as err:
            cause = err.__context__  # Block raises its message "from None"; pydantic's error is the context
            if isinstance(cause, ValidationError) and not isinstance(err, DbtValidationError):
                raise DbtValidationError.from_pydantic(str(err), cause) from None
            raise
