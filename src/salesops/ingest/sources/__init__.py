"""Built-in mappings: one YAML file per source system shipped inside the package."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from salesops.ingest.mapping import Mapping, parse_mapping

BUILTIN = ("salesforce", "hubspot", "maven")


def builtin_names() -> tuple[str, ...]:
    return BUILTIN


@cache
def builtin_mapping(name: str) -> Mapping:
    """The validated built-in mapping of source `name`."""
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return parse_mapping(yaml.safe_load(text), name=f"{name}.yaml")


def builtin_text(name: str) -> str:
    """The YAML of built-in mapping `name` (a starting point for a custom mapping)."""
    return resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
