"""Comp plans as code: the YAML format, parsed into frozen dataclasses and validated in full.

Every problem (overlapping or gapped tiers, unknown keys, bad rates, dates out of order) is
collected with `file:line: field` by the shared definition-file checker before anything is
computed. The format is documented with a worked example in docs/compensation.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesops.ingest.definitions import Checker, read_yaml

SEMANTICS = ("marginal", "retroactive", "interpolated")
BASES = ("amount", "attainment")
SCOPES = ("accumulated", "transaction")
RESETS = ("period", "year")
AMOUNTS = ("acv", "tcv", "first_year", "margin")
EVENTS = ("booking",)  # invoice and collection need billing data salesops does not hold yet
KINDS = ("rate_table", "bonus", "spiff", "contest")
PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Tier:
    """[start, end) on the rule's basis (amount, or attainment as a fraction); end None = open."""

    start: Decimal
    end: Decimal | None
    rate: Decimal
    label: str


@dataclass(frozen=True)
class Cap:
    per_period: Decimal | None = None
    per_deal: Decimal | None = None
    # Above a soft cap the excess is paid at this fraction (0 = a hard cap).
    soft_rate: Decimal = Decimal(0)


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    location: str
    semantics: str = "marginal"
    basis: str = "amount"
    scope: str = "accumulated"
    reset: str = "period"
    tiers: tuple[Tier, ...] = ()
    threshold: Decimal | None = None  # attainment below which the rule pays nothing
    gate_ytd_attainment: Decimal | None = None  # paid only once YTD attainment reaches this
    cap: Cap = Cap()
    # bonus: paid once per period; spiff: paid per deal; contest: the prize of the period
    amount: Decimal = Decimal(0)
    at_attainment: Decimal | None = None  # bonus: period attainment that earns it
    deal_types: tuple[str, ...] = ()  # spiff: the deal types that qualify ("" = any)
    # spiff: the smallest credited amount that qualifies; contest: the least total credit to
    # be eligible for the prize
    min_deal_amount: Decimal | None = None


@dataclass(frozen=True)
class Assignment:
    """The plan applies to a rep (by email, name or id) or a role from `start` to `end`."""

    rep: str | None
    role: str | None
    start: date
    end: date | None
    quota: Decimal | None  # per period; None: the quota table's figure


@dataclass(frozen=True)
class Crediting:
    event: str = "booking"
    amount: str = "acv"
    deal_types: tuple[str, ...] = ()  # empty: every type
    use_splits: bool = True
    manager_levels: int = 0  # how many levels of managers are credited the same amount
    overlays: bool = True


@dataclass(frozen=True)
class Plan:
    name: str
    version: int
    effective_from: date
    effective_to: date | None
    currency: str
    period: str
    crediting: Crediting
    rules: tuple[Rule, ...]
    assignments: tuple[Assignment, ...]
    source: str = ""  # the file it came from
    checksum: str = ""  # SHA-256 of the file's text: the run record names the exact plan

    @property
    def key(self) -> str:
        return f"{self.name}@v{self.version}"

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class _PlanParser(Checker):
    def plan(self, data: Any) -> Plan:
        if not isinstance(data, dict):
            self.problem("", "a plan must be a YAML dictionary with `plan`, `version` and `rules`")
            self.fail("invalid plan")
        allowed = {"plan", "version", "description", "effective_from", "effective_to"}
        allowed |= {"currency", "period", "crediting", "rules", "assign"}
        self.keys(data, allowed, "")
        name = self.text(data, "plan", "") or ""
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,59}", name):
            self.problem(
                "plan", f"required: a slug of lowercase letters, digits, - or _; got {name!r}"
            )
        version = self.whole(data.get("version"), "version")
        if version < 1:
            self.problem("version", "required: a whole number from 1")
        start = self.day(data.get("effective_from"), "effective_from")
        if start is None and "effective_from" not in data:
            self.problem("effective_from", "required: the first day the plan applies")
        end = self.day(data.get("effective_to"), "effective_to")
        if start and end and end < start:
            self.problem("effective_to", "before effective_from")
        currency = (self.text(data, "currency", "", "USD") or "USD").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            self.problem("currency", f"expected a 3-letter ISO code, got {currency!r}")
        period = str(data.get("period", "quarter"))
        if period not in PERIODS:
            self.problem("period", f"expected one of {', '.join(PERIODS)}")
        crediting = self.crediting(data.get("crediting") or {}, "crediting")
        rules_data = data.get("rules")
        if not isinstance(rules_data, list) or not rules_data:
            self.problem("rules", "required: a list of rules")
            rules_data = []
        rules = tuple(self.rule(r, f"rules[{i}]") for i, r in enumerate(rules_data))
        names = [r.name for r in rules]
        for i, rule in enumerate(rules):
            if names.count(rule.name) > 1:
                self.problem(f"rules[{i}].name", f"duplicate rule name {rule.name!r}")
        assign_data = data.get("assign") or []
        if not isinstance(assign_data, list):
            self.problem("assign", "expected a list of {rep|role, from, to}")
            assign_data = []
        assignments = tuple(
            self.assignment(a, f"assign[{i}]", start) for i, a in enumerate(assign_data)
        )
        self.fail(f"invalid plan {self.name}")
        assert start is not None
        return Plan(
            name, version, start, end, currency, period, crediting,
            rules, tuple(a for a in assignments if a is not None), self.name,
        )  # fmt: skip

    def crediting(self, data: Any, where: str) -> Crediting:
        if not isinstance(data, dict):
            self.problem(where, "expected a dictionary")
            return Crediting()
        self.keys(
            data, {"event", "amount", "deal_types", "splits", "manager_levels", "overlays"}, where
        )
        event = str(data.get("event", "booking"))
        if event not in EVENTS:
            self.problem(
                f"{where}.event",
                f"{event!r} is not available: salesops holds bookings only (no invoices or "
                "collections yet); use booking",
            )
        amount = str(data.get("amount", "acv"))
        if amount not in AMOUNTS:
            self.problem(f"{where}.amount", f"expected one of {', '.join(AMOUNTS)}")
        levels = self.whole(data.get("manager_levels", 0), f"{where}.manager_levels")
        if not 0 <= levels <= 5:
            self.problem(f"{where}.manager_levels", "expected 0 to 5")
        return Crediting(
            event, amount, self.texts(data.get("deal_types"), f"{where}.deal_types"),
            bool(data.get("splits", True)), levels, bool(data.get("overlays", True)),
        )  # fmt: skip

    def rule(self, data: Any, where: str) -> Rule:
        if not isinstance(data, dict):
            self.problem(where, "expected a dictionary with `name` and `kind`")
            return Rule("", "rate_table", where)
        name = self.text(data, "name", where) or ""
        if not name:
            self.problem(f"{where}.name", "required")
        kind = str(data.get("kind", "rate_table"))
        if kind not in KINDS:
            self.problem(f"{where}.kind", f"expected one of {', '.join(KINDS)}")
            return Rule(name, kind, where)
        if kind == "bonus":
            self.keys(data, {"name", "kind", "amount", "at_attainment"}, where)
            return Rule(
                name, kind, where, amount=self.money(data.get("amount"), f"{where}.amount"),
                at_attainment=self.fraction(
                    data.get("at_attainment"), f"{where}.at_attainment", required=True
                ),
            )  # fmt: skip
        if kind == "contest":
            self.keys(data, {"name", "kind", "amount", "min_deal_amount"}, where)
            return Rule(
                name, kind, f"{self.name}: {where}",
                amount=self.money(data.get("amount"), f"{where}.amount"),
                min_deal_amount=self.decimal(
                    data.get("min_deal_amount"), f"{where}.min_deal_amount"
                ),
            )  # fmt: skip
        if kind == "spiff":
            self.keys(data, {"name", "kind", "amount", "deal_types", "min_deal_amount"}, where)
            return Rule(
                name, kind, where, amount=self.money(data.get("amount"), f"{where}.amount"),
                deal_types=self.texts(data.get("deal_types"), f"{where}.deal_types"),
                min_deal_amount=self.decimal(
                    data.get("min_deal_amount"), f"{where}.min_deal_amount"
                ),
            )  # fmt: skip
        where_shown = f"{self.name}: {where}"
        allowed = {"name", "kind", "semantics", "basis", "scope", "reset", "tiers"}
        self.keys(data, allowed | {"threshold", "gate", "cap"}, where)
        values = {}
        for key, options, default in (
            ("semantics", SEMANTICS, "marginal"),
            ("basis", BASES, "amount"),
            ("scope", SCOPES, "accumulated"),
            ("reset", RESETS, "period"),
        ):
            values[key] = str(data.get(key, default))
            if values[key] not in options:
                self.problem(f"{where}.{key}", f"expected one of {', '.join(options)}")
        if values["scope"] == "transaction" and values["reset"] == "year":
            self.problem(f"{where}.reset", "a per-transaction rule has nothing to carry over")
        tiers = self.tiers(data.get("tiers"), f"{where}.tiers")
        gate = data.get("gate")
        gate_ytd = None
        if gate is not None:
            if not isinstance(gate, dict) or set(gate) != {"ytd_attainment"}:
                self.problem(f"{where}.gate", "expected {ytd_attainment: <fraction>}")
            else:
                gate_ytd = self.fraction(gate["ytd_attainment"], f"{where}.gate.ytd_attainment")
        threshold = self.fraction(data.get("threshold"), f"{where}.threshold")
        return Rule(
            name, kind, where_shown, values["semantics"], values["basis"], values["scope"],
            values["reset"], tiers, threshold, gate_ytd, self.cap(data.get("cap"), f"{where}.cap"),
        )  # fmt: skip

    def tiers(self, data: Any, where: str) -> tuple[Tier, ...]:
        if not isinstance(data, list) or not data:
            self.problem(where, "required: a list of tiers {from, to, rate}")
            return ()
        tiers: list[Tier] = []
        for i, item in enumerate(data):
            at = f"{where}[{i}]"
            if not isinstance(item, dict):
                self.problem(at, "expected {from, to, rate}")
                continue
            self.keys(item, {"from", "to", "rate", "label"}, at)
            start = self.decimal(item.get("from"), f"{at}.from")
            if start is None:
                self.problem(f"{at}.from", "required")
                continue
            end = self.decimal(item.get("to"), f"{at}.to")
            rate = self.decimal(item.get("rate"), f"{at}.rate")
            if rate is None:
                self.problem(f"{at}.rate", "required (a fraction such as 0.1, or 10%)")
                continue
            if rate < 0 or rate > 10:
                self.problem(f"{at}.rate", f"expected a rate from 0 to 10 (1000%), got {rate}")
            if end is not None and end <= start:
                self.problem(f"{at}.to", f"must be above from ({start})")
            if end is None and i != len(data) - 1:
                self.problem(f"{at}.to", "only the last tier may be open-ended")
            if tiers:
                previous = tiers[-1].end
                if previous is not None and start < previous:
                    self.problem(
                        f"{at}.from", f"overlaps the tier before (which ends at {previous})"
                    )
                elif previous is not None and start > previous:
                    self.problem(
                        f"{at}.from", f"leaves a gap after the tier before ({previous} to {start})"
                    )
            elif start != 0:
                self.problem(f"{at}.from", "the first tier must start at 0")
            label = str(item.get("label") or f"tier {i + 1}")
            tiers.append(Tier(start, end, rate, label))
        return tuple(tiers)

    def cap(self, data: Any, where: str) -> Cap:
        if data is None:
            return Cap()
        if not isinstance(data, dict):
            self.problem(where, "expected {per_period, per_deal, soft_rate}")
            return Cap()
        self.keys(data, {"per_period", "per_deal", "soft_rate"}, where)
        soft = self.fraction(data.get("soft_rate"), f"{where}.soft_rate") or Decimal(0)
        if soft > 1:
            self.problem(f"{where}.soft_rate", "expected a fraction from 0 to 1")
        return Cap(
            self.money(data.get("per_period"), f"{where}.per_period", optional=True),
            self.money(data.get("per_deal"), f"{where}.per_deal", optional=True),
            soft,
        )

    def assignment(self, data: Any, where: str, plan_start: date | None) -> Assignment | None:
        if not isinstance(data, dict):
            self.problem(where, "expected {rep or role, from, to, quota}")
            return None
        self.keys(data, {"rep", "role", "from", "to", "quota"}, where)
        rep, role = data.get("rep"), data.get("role")
        if (rep is None) == (role is None):
            self.problem(where, "give exactly one of `rep` and `role`")
        start = self.day(data.get("from"), f"{where}.from") or plan_start
        end = self.day(data.get("to"), f"{where}.to")
        if start and end and end < start:
            self.problem(f"{where}.to", "before from")
        quota = self.money(data.get("quota"), f"{where}.quota", optional=True)
        if start is None:
            return None
        return Assignment(
            None if rep is None else str(rep),
            None if role is None else str(role),
            start,
            end,
            quota,
        )

    def money(self, value: Any, where: str, optional: bool = False) -> Decimal:
        number = self.decimal(value, where)
        if number is None:
            if not optional:
                self.problem(where, "required: an amount")
            return Decimal(0) if not optional else None  # type: ignore[return-value]
        if number < 0:
            self.problem(where, "must not be negative")
        return number

    def fraction(self, value: Any, where: str, required: bool = False) -> Decimal | None:
        number = self.decimal(value, where)
        if number is None and required:
            self.problem(where, "required: a fraction such as 1.0 (100%)")
        elif number is not None and number < 0:
            self.problem(where, "must not be negative")
        return number


def parse_plan(data: Any, *, name: str = "plan", lines: dict[str, int] | None = None) -> Plan:
    """Validate plan `data` (already parsed from YAML); every problem is reported at once."""
    return _PlanParser(name, lines).plan(data)


def load_plan(path: Path) -> Plan:
    """Read and validate the plan file at `path`; problems name their line and field."""
    import hashlib
    from dataclasses import replace

    document = read_yaml(path, "plan")
    plan = parse_plan(document.data, name=document.name, lines=document.lines)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return replace(plan, source=str(path), checksum=digest)
