"""Reading the contract approval rules file (YAML validated into `ApprovalRules`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from salesops.config import Settings, get_settings
from salesops.contracts.lifecycle import ApprovalRules
from salesops.errors import Problem, ValidationFailed

DEFAULT_RULES = Path(__file__).with_name("approval_rules.yaml")


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_rules(text: str, *, name: str = "rules") -> ApprovalRules:
    """Validate rules YAML `text`; every problem is reported at once with its field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}: line {mark.line + 1}" if mark else name
        raise ValidationFailed("the rules are not valid YAML", [Problem(str(exc), where)]) from exc
    try:
        return ApprovalRules.model_validate(data or {})
    except ValidationError as exc:
        problems = [
            Problem(error["msg"], f"{name}: {_location(tuple(error['loc']))}")
            for error in exc.errors()
        ]
        raise ValidationFailed(f"invalid contract rules in {name}", problems) from exc


@lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> ApprovalRules:
    return parse_rules(path.read_text(encoding="utf-8"), name=path.name)


def load_rules(settings: Settings | None = None) -> ApprovalRules:
    """The rules in force: the configured file, or the packaged defaults."""
    path = (settings or get_settings()).contract_rules or DEFAULT_RULES
    try:
        return _load(path, path.stat().st_mtime)
    except OSError as exc:
        raise ValidationFailed(
            "cannot read the contract rules", [Problem(str(exc), str(path))]
        ) from exc
