"""Definition files (territories, scenarios): YAML read into Pydantic models, every problem
reported at once with file, line and field. The line of a field comes from the shared
definition-file reader (`ingest.definitions`), so every definition file names places alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from salesops.errors import Problem, ValidationFailed
from salesops.ingest.definitions import read_yaml, relocated

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def definition_model(model: type[M], data: Any, *, source: str, what: str) -> M:
    """`data` validated as `model`; Pydantic's errors become Problems named `source: a.b[0].c`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(Problem(message, f"{source}: {where.lstrip('.')}"))
        raise ValidationFailed(f"the {what} are not valid", problems) from None


def load_yaml(path: Path, parse: Callable[[Any, str], T]) -> T:
    """Read YAML at `path` and `parse(data, source)` it; problems gain their line numbers."""
    document = read_yaml(path)
    try:
        return parse(document.data, document.name)
    except ValidationFailed as exc:
        raise relocated(exc, document) from None
