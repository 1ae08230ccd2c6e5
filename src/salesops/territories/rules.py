"""Territory definitions and rule matching: a pure core (no database access).

A territory places an account when every attribute it names matches (OR within one list,
AND across attributes) and its parent's rules match too; a named-account list places the
accounts it names whatever their attributes, ahead of attribute rules. Each account belongs
to the deepest matching base territory; two matches that are not on one branch of the
hierarchy are a conflict. Overlays (specialists over several base territories) are a second
layer: an account may have any number of them, never a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from salesops.errors import Problem, ValidationFailed
from salesops.territories.files import definition_model, load_yaml


class Band(BaseModel):
    """An inclusive numeric range; either end may be left open."""

    model_config = ConfigDict(extra="forbid")
    min: Decimal | None = None
    max: Decimal | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def holds(self, value: Decimal | int | None) -> bool:
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class Rules(BaseModel):
    """What places an account in a territory (every attribute given must match)."""

    model_config = ConfigDict(extra="forbid")
    country: list[str] = Field(default_factory=list)
    region: list[str] = Field(default_factory=list)
    postal_prefix: list[str] = Field(default_factory=list)
    industry: list[str] = Field(default_factory=list)
    segment: list[str] = Field(default_factory=list)
    employees: Band | None = None
    revenue: Band | None = None
    # Named accounts: an account id, external id or exact name.
    accounts: list[str] = Field(default_factory=list)

    def has_attributes(self) -> bool:
        return bool(
            self.country
            or self.region
            or self.postal_prefix
            or self.industry
            or self.segment
            or self.employees
            or self.revenue
        )


class TerritoryDef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    parent: str | None = None
    overlay: bool = False
    # The base territories an overlay serves (all of them when empty).
    covers: list[str] = Field(default_factory=list)
    rules: Rules = Field(default_factory=Rules)


class TerritoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    territories: list[TerritoryDef]


@dataclass(frozen=True)
class AccountFacts:
    """The attributes rules read, copied out of an account row."""

    id: int
    name: str
    external_id: str | None = None
    country: str | None = None
    region: str | None = None
    postal_code: str | None = None
    industry: str | None = None
    segment: str | None = None
    employees: int | None = None
    revenue: Decimal | None = None


@dataclass(frozen=True)
class Placement:
    """Where one account landed: its base territory, the conflicting ones, its overlays."""

    account_id: int
    territory: str | None
    conflicts: tuple[str, ...] = ()
    overlays: tuple[str, ...] = ()
    named: bool = False


def _fold(values: Iterable[str]) -> set[str]:
    return {v.strip().casefold() for v in values}


def _is(value: str | None, allowed: list[str]) -> bool:
    return not allowed or (value is not None and value.strip().casefold() in _fold(allowed))


def attributes_match(rules: Rules, account: AccountFacts) -> bool:
    """Whether `account` passes every attribute test of `rules` (named lists aside)."""
    postal = (account.postal_code or "").replace(" ", "").upper()
    return (
        _is(account.country, rules.country)
        and _is(account.region, rules.region)
        and _is(account.industry, rules.industry)
        and _is(account.segment, rules.segment)
        and (
            not rules.postal_prefix
            or any(postal.startswith(p.replace(" ", "").upper()) for p in rules.postal_prefix)
        )
        and (rules.employees is None or rules.employees.holds(account.employees))
        and (rules.revenue is None or rules.revenue.holds(account.revenue))
    )


def names_account(rules: Rules, account: AccountFacts) -> bool:
    keys = {str(account.id), account.name.casefold()} | (
        {account.external_id.casefold()} if account.external_id else set()
    )
    return bool(keys & _fold(rules.accounts))


@dataclass
class Hierarchy:
    """Validated territory definitions, by name, with each one's chain of ancestors."""

    by_name: dict[str, TerritoryDef]
    ancestors: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def depth(self, name: str) -> int:
        return len(self.ancestors[name])


def build(definitions: Sequence[TerritoryDef], *, source: str = "territories") -> Hierarchy:
    """Check names, parents, cycles and overlays; every problem reported at once."""
    problems: list[Problem] = []
    by_name: dict[str, TerritoryDef] = {}
    for i, t in enumerate(definitions):
        if t.name in by_name:
            problems.append(
                Problem(
                    f"territory {t.name!r} is defined twice", f"{source}: territories[{i}].name"
                )
            )
        by_name[t.name] = t
    for i, t in enumerate(definitions):
        where = f"{source}: territories[{i}]"
        if t.parent is not None and t.parent not in by_name:
            problems.append(Problem(f"unknown parent {t.parent!r}", f"{where}.parent"))
        for j, c in enumerate(t.covers):
            if c not in by_name or by_name[c].overlay:
                problems.append(Problem(f"{c!r} is not a base territory", f"{where}.covers[{j}]"))
        if t.covers and not t.overlay:
            problems.append(Problem("only an overlay covers other territories", f"{where}.covers"))
        if t.parent in by_name and by_name[t.parent].overlay != t.overlay:
            problems.append(
                Problem(
                    "a territory and its parent must both be base or overlay", f"{where}.parent"
                )
            )
    hierarchy = Hierarchy(by_name)
    for i, t in enumerate(definitions):
        chain: list[str] = []
        node = t
        while node.parent is not None and node.parent in by_name:
            if node.parent == t.name or node.parent in chain:
                problems.append(
                    Problem(f"{t.name!r} is its own ancestor", f"{source}: territories[{i}].parent")
                )
                break
            chain.append(node.parent)
            node = by_name[node.parent]
        hierarchy.ancestors[t.name] = tuple(chain)
    if problems:
        raise ValidationFailed("the territory definitions are not valid", problems)
    return hierarchy


def _matches(h: Hierarchy, name: str, account: AccountFacts) -> bool:
    return all(attributes_match(h.by_name[n].rules, account) for n in (name, *h.ancestors[name]))


def place(h: Hierarchy, account: AccountFacts) -> Placement:
    """The base territory of `account` (deepest match, named lists first) and its overlays."""
    bases = [t for t in h.by_name.values() if not t.overlay]
    named = [t.name for t in bases if names_account(t.rules, account)]
    named_match = bool(named)
    candidates = named or [
        t.name
        for t in bases
        if (t.rules.has_attributes() or t.parent) and _matches(h, t.name, account)
    ]
    # A match hides its ancestors: the account is in the most specific territory.
    leaves = sorted(c for c in candidates if not any(c in h.ancestors[o] for o in candidates))
    territory = leaves[0] if len(leaves) == 1 else None
    home = {territory, *h.ancestors[territory]} if territory else set()
    overlays = tuple(
        sorted(
            t.name
            for t in h.by_name.values()
            if t.overlay
            and (
                names_account(t.rules, account)
                or (
                    (t.rules.has_attributes() or t.covers)
                    and _matches(h, t.name, account)
                    and (not t.covers or bool(home & set(t.covers)))
                )
            )
        )
    )
    return Placement(
        account.id, territory, tuple(leaves) if len(leaves) > 1 else (), overlays, named_match
    )


def place_all(h: Hierarchy, accounts: Iterable[AccountFacts]) -> list[Placement]:
    return [place(h, a) for a in accounts]


def parse_definitions(data: Any, *, source: str = "territories") -> Hierarchy:
    """Validate parsed YAML `data`: shapes with Pydantic, then names and hierarchy."""
    parsed = definition_model(TerritoryFile, data, source=source, what="territory definitions")
    return build(parsed.territories, source=source)


def load_definitions(path: Path) -> Hierarchy:
    """Read and validate a territory definition file; problems carry file, line and field."""
    return load_yaml(path, lambda data, source: parse_definitions(data, source=source))
