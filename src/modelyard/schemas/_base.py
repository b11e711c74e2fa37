"""Base classes of the wire models, and the one place every ``/api/v1`` input meets the input rules.

Every input model derives from ``_In``, whose validator walks the validated values (nested
models, dicts and lists included, keys too) through ``domain.inputs.check_data``: text without
NUL or lone surrogates, signed 64-bit integers, finite floats. A new field cannot forget the
rules. The errors are the domain's (``InvalidTextError``, ``OutOfRangeError``,
``NonFiniteNumberError``), so the server answers 400 with their stable reason and the SDK
raises the same class before sending. Imports only pydantic and the pure domain.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from modelyard.domain.inputs import check_data, check_int64


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> Self:
        # Nested ``_In`` models (also inside lists) checked themselves and are skipped by the walk;
        # a nested plain model (``RunRefModel``, also an output) is walked as its fields.
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, BaseModel) and not isinstance(value, _In):
                value = value.model_dump()
            check_data(value, field=name)
        return self


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _int64(value: int) -> int:
    return check_int64(value, field="number")


# A path or query integer (a version number, a request or token id): signed 64-bit, or 400.
Int64 = Annotated[int, AfterValidator(_int64)]
