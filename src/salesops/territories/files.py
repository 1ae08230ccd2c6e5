"""Definition files (territories, scenarios): YAML read into Pydantic models, every problem
reported at once with file, line and field. The line of a field comes from the import
mapping's loader (`ingest.mapping`), so both kinds of definition file name places alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from salesops.errors import Problem, ValidationFailed
from salesops.ingest.mapping import _with_line

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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}", [Problem(str(exc), str(path))]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        raise ValidationFailed("not valid YAML", [Problem(str(exc), where)]) from exc
    try:
        return parse(data, path.name)
    except ValidationFailed as exc:
        root = yaml.compose(text)
        raise ValidationFailed(
            exc.message, [_with_line(p, path.name, root) for p in exc.problems]
        ) from None
