"""The sales tool stack, the service: inventory, usage imported from CSV, the stack report,
and software selections. Reading is for ops, analysts, directors and admins; changing for
ops, directors and admins. Everything audited."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth.scoping import READ_ALL_ROLES, Scope
from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, Problem, ValidationFailed
from salesops.models import SalesTool, ToolEvaluation, ToolUsage
from salesops.playbooks import toolstack
from salesops.playbooks.toolstack import Ranked, ToolFacts, ToolReport


def require_read(scope: Scope) -> None:
    scope.require_role(READ_ALL_ROLES, "read the tool stack")


def add_tool(session: Session, *, scope: Scope, name: str, **values: Any) -> SalesTool:
    """Add a tool to the inventory."""
    scope.require_planning("change the tool stack")
    if session.scalar(select(SalesTool.id).where(SalesTool.name == name.strip())) is not None:
        raise Conflict(f"a tool called {name.strip()!r} exists")
    tool = SalesTool(name=name.strip(), **values)
    session.add(tool)
    session.flush()
    audit.record(
        session,
        user_id=scope.user_id,
        action="create",
        entity="sales_tool",
        entity_id=tool.id,
        changes=audit.diff({}, {"name": tool.name, **values}),
    )
    return tool


def import_usage(session: Session, text: str, *, scope: Scope, name: str = "usage.csv") -> int:
    """Load monthly active users from CSV (tool, month, active_users); all rows or none."""
    scope.require_planning("import tool usage")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"tool", "month", "active_users"} - set(reader.fieldnames or [])
    if missing:
        raise ValidationFailed(
            f"invalid usage file {name}",
            [Problem(f"missing column(s): {', '.join(sorted(missing))}", f"{name}:1")],
        )
    tools = {t.name: t.id for t in session.scalars(select(SalesTool))}
    rows = toolstack.parse_usage(list(reader), tools, name=name)
    existing = {(u.tool_id, u.month): u for u in session.scalars(select(ToolUsage))}
    for tool, month, active in rows:
        row = existing.get((tools[tool], month))
        if row is None:
            row = ToolUsage(tool_id=tools[tool], month=month, active_users=active)
            session.add(row)
            existing[(tools[tool], month)] = row
        row.active_users = active
    session.flush()
    audit.record(
        session,
        user_id=scope.user_id,
        action="import",
        entity="tool_usage",
        entity_id=None,
        changes={"file": name, "rows": len(rows)},
    )
    return len(rows)


@dataclass(frozen=True)
class StackReport:
    tools: list[tuple[SalesTool, ToolReport]]
    overlaps: dict[str, list[str]]
    annual_cost: Decimal
    unused_cost: Decimal


def stack(session: Session, *, scope: Scope) -> StackReport:
    """Every tool with cost per active user and unused seats, and the overlaps."""
    require_read(scope)
    usage: dict[int, dict[date, int]] = defaultdict(dict)
    for row in session.scalars(select(ToolUsage)):
        usage[row.tool_id][row.month] = row.active_users
    tools = list(session.scalars(select(SalesTool).order_by(SalesTool.name)))
    facts = [
        ToolFacts(t.name, t.seats, t.annual_cost, tuple(t.capabilities), usage.get(t.id, {}))
        for t in tools
    ]
    reports = [toolstack.report(f) for f in facts]
    return StackReport(
        tools=list(zip(tools, reports, strict=True)),
        overlaps=toolstack.overlaps(facts),
        annual_cost=sum((t.annual_cost for t in tools), Decimal(0)),
        unused_cost=sum((r.unused_cost for r in reports), Decimal(0)),
    )


def create_evaluation(
    session: Session,
    *,
    scope: Scope,
    name: str,
    requirements: dict[str, Decimal],
    candidates: dict[str, dict[str, int]],
) -> ToolEvaluation:
    """A software selection; the scores are checked (and ranked) before it is stored."""
    scope.require_planning("run software selections")
    toolstack.rank(requirements, candidates)
    evaluation = ToolEvaluation(
        name=name.strip(),
        requirements={k: str(v) for k, v in requirements.items()},
        candidates=candidates,
    )
    session.add(evaluation)
    session.flush()
    audit.record(
        session,
        user_id=scope.user_id,
        action="create",
        entity="tool_evaluation",
        entity_id=evaluation.id,
        changes={"name": evaluation.name, "candidates": sorted(candidates)},
    )
    return evaluation


def get_evaluation(session: Session, evaluation_id: int, *, scope: Scope) -> ToolEvaluation:
    require_read(scope)
    found = session.get(ToolEvaluation, evaluation_id)
    if found is None:
        raise NotFound(f"tool evaluation {evaluation_id} does not exist")
    return found


def ranking(evaluation: ToolEvaluation) -> list[Ranked]:
    requirements = {k: Decimal(v) for k, v in evaluation.requirements.items()}
    return toolstack.rank(requirements, evaluation.candidates)


def decide(
    session: Session, evaluation: ToolEvaluation, *, scope: Scope, candidate: str, rationale: str
) -> ToolEvaluation:
    """Record the decision (one of the candidates) and why."""
    scope.require_planning("decide software selections")
    if candidate not in evaluation.candidates:
        known = ", ".join(sorted(evaluation.candidates))
        raise ValidationFailed(
            "unknown candidate", [Problem(f"{candidate!r} is not one of {known}", "candidate")]
        )
    evaluation.decision, evaluation.rationale = candidate, rationale.strip() or None
    evaluation.decided_by_id, evaluation.decided_at = scope.user_id, utc_now()
    session.flush()
    audit.record(
        session,
        user_id=scope.user_id,
        action="decide",
        entity="tool_evaluation",
        entity_id=evaluation.id,
        changes={"decision": candidate, "rationale": evaluation.rationale},
    )
    return evaluation
