"""The sales tool stack, the pure part: what each tool costs per active user, unused seats,
capabilities paid for twice, and candidates scored against weighted requirements.

- cost per active user = annual cost / 12 / active users of the latest month with usage
  (None when nobody used it: the whole cost is waste).
- unused seats = seats - active users of the latest month (never below 0).
- overlap: a capability two or more tools cover.
- a candidate's score = sum(weight x score) / sum(weights), scores 0 to 5.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from salesops.errors import Problem, ValidationFailed

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ToolFacts:
    name: str
    seats: int
    annual_cost: Decimal
    capabilities: tuple[str, ...]
    usage: Mapping[date, int]


@dataclass(frozen=True)
class ToolReport:
    name: str
    seats: int
    annual_cost: Decimal
    latest_month: date | None
    active_users: int
    unused_seats: int
    cost_per_active_user: Decimal | None
    unused_cost: Decimal  # the annual cost of the unused seats, at the price per seat


def report(tool: ToolFacts) -> ToolReport:
    """Cost per active user and unused seats of one tool, from its latest month of usage."""
    latest = max(tool.usage) if tool.usage else None
    active = tool.usage[latest] if latest else 0
    unused = max(tool.seats - active, 0)
    per_user = (tool.annual_cost / 12 / active).quantize(CENT) if active else None
    per_seat = tool.annual_cost / tool.seats if tool.seats else Decimal(0)
    return ToolReport(
        name=tool.name,
        seats=tool.seats,
        annual_cost=tool.annual_cost,
        latest_month=latest,
        active_users=active,
        unused_seats=unused,
        cost_per_active_user=per_user,
        unused_cost=(per_seat * unused).quantize(CENT),
    )


def overlaps(tools: Iterable[ToolFacts]) -> dict[str, list[str]]:
    """Capabilities covered by two or more tools, with the tools, sorted."""
    by_capability: dict[str, list[str]] = defaultdict(list)
    for tool in tools:
        for capability in set(tool.capabilities):
            by_capability[capability].append(tool.name)
    return {c: sorted(t) for c, t in sorted(by_capability.items()) if len(t) > 1}


@dataclass(frozen=True)
class Ranked:
    candidate: str
    score: Decimal
    by_requirement: dict[str, int]


def rank(
    requirements: Mapping[str, Decimal], candidates: Mapping[str, Mapping[str, int]]
) -> list[Ranked]:
    """Candidates by weighted score, best first; every problem named before scoring."""
    problems: list[Problem] = []
    if not requirements:
        problems.append(Problem("at least one requirement with a weight", "requirements"))
    for name, weight in requirements.items():
        if weight <= 0:
            problems.append(Problem("weight must be above 0", f"requirements.{name}"))
    for candidate, scores in candidates.items():
        for req in requirements:
            if req not in scores:
                problems.append(Problem("no score", f"candidates.{candidate}.{req}"))
        for req, score in scores.items():
            if req not in requirements:
                problems.append(Problem("not a requirement", f"candidates.{candidate}.{req}"))
            elif not 0 <= score <= 5:
                problems.append(Problem("a score is 0 to 5", f"candidates.{candidate}.{req}"))
    if problems:
        raise ValidationFailed("invalid evaluation", problems)
    total = sum(requirements.values(), Decimal(0))
    ranked = [
        Ranked(
            candidate,
            (sum((w * scores[r] for r, w in requirements.items()), Decimal(0)) / total).quantize(
                Decimal("0.01")
            ),
            dict(scores),
        )
        for candidate, scores in candidates.items()
    ]
    return sorted(ranked, key=lambda r: (-r.score, r.candidate))


def parse_usage(
    rows: Sequence[Mapping[str, str]], known: Iterable[str], *, name: str
) -> list[tuple[str, date, int]]:
    """Usage rows (tool, month YYYY-MM, active_users) checked all at once: unknown tools, bad
    months and counts are named with their line; nothing is returned unless all are good."""
    tools = set(known)
    problems: list[Problem] = []
    out: list[tuple[str, date, int]] = []
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        where = f"{name}:{i}"
        tool = (row.get("tool") or "").strip()
        if tool not in tools:
            problems.append(Problem(f"unknown tool {tool!r}", where))
        try:
            year, month = (int(p) for p in (row.get("month") or "").strip()[:7].split("-"))
            first = date(year, month, 1)
        except ValueError:
            problems.append(Problem(f"month must be YYYY-MM, got {row.get('month')!r}", where))
            continue
        text = (row.get("active_users") or "").strip()
        if not text.isdigit() or len(text) > 9:
            problems.append(Problem(f"active_users must be a whole number, got {text!r}", where))
            continue
        out.append((tool, first, int(text)))
    if problems:
        raise ValidationFailed(f"invalid usage file {name}", problems)
    return out
