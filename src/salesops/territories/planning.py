"""Plans: profiles measured, the optimizer run, compared with the current and greedy plans,
saved as a proposal, and (once approved) applied as effective-dated ownership."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from salesops import approvals
from salesops.audit.service import record
from salesops.auth.scoping import Scope
from salesops.errors import Problem, ValidationFailed
from salesops.models import (
    Account,
    AccountOwner,
    EventField,
    Opportunity,
    PipelineStage,
    Proposal,
    Rep,
)
from salesops.pipeline.service import record_event
from salesops.territories import profiles
from salesops.territories.evaluate import Explanation, Summary, explain, greedy, summarize
from salesops.territories.optimizer import AccountIn, Plan, RepIn, solve
from salesops.territories.rules import place_all
from salesops.territories.scenario import Scenario
from salesops.territories.service import all_facts, hierarchy

KIND = "territory_plan"


@dataclass(frozen=True)
class PlanResult:
    scenario: Scenario
    as_of: date
    plan: Plan
    current: Summary
    planned: Summary
    greedy: Summary
    explanations: list[Explanation]
    rep_names: dict[str, str]
    account_names: dict[str, str]
    fingerprint: str
    figures: dict[str, dict[str, object]]

    def moves(self) -> list[Explanation]:
        return [e for e in self.explanations if e.moved_from is not None]

    def to_dict(self, *, explanations: bool = True) -> dict[str, Any]:
        p = self.plan
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "as_of": self.as_of.isoformat(),
            "fingerprint": self.fingerprint,
            "objective": p.objective,
            "bound": p.bound,
            "gap": p.gap,
            "status": p.status,
            "seconds": round(p.seconds, 3),
            "variables": p.variables,
            "restricted": p.restricted,
            "current": asdict(self.current),
            "planned": asdict(self.planned),
            "greedy": asdict(self.greedy),
            "assignment": p.assignment,
            "moves": [asdict(e) for e in self.moves()],
        }
        if explanations:
            out["explanations"] = [asdict(e) for e in self.explanations]
        cleaned: dict[str, Any] = json.loads(
            json.dumps(out, default=str).replace("Infinity", "null")
        )
        return cleaned


def fingerprint(accounts: list[AccountIn], reps: list[RepIn], scenario: Scenario) -> str:
    data = json.dumps(
        [
            [asdict(a) for a in accounts],
            [asdict(r) for r in reps],
            scenario.model_dump(mode="json"),
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(data.encode()).hexdigest()


def run(
    accounts: list[AccountIn],
    reps: list[RepIn],
    scenario: Scenario,
    *,
    as_of: date,
    rep_names: dict[str, str] | None = None,
    account_names: dict[str, str] | None = None,
    figures: dict[str, dict[str, object]] | None = None,
) -> PlanResult:
    """Solve `scenario` on plain inputs and judge the plan against now and against greedy."""
    s = scenario.settings()
    plan = solve(accounts, reps, s)
    current = {a.id: a.current_rep for a in accounts}
    return PlanResult(
        scenario=scenario,
        as_of=as_of,
        plan=plan,
        current=summarize(accounts, reps, current, s),
        planned=summarize(accounts, reps, plan.assignment, s),
        greedy=summarize(accounts, reps, greedy(accounts, reps), s),
        explanations=explain(accounts, reps, plan.assignment, s),
        rep_names=rep_names or {r.id: r.id for r in reps},
        account_names=account_names or {a.id: a.id for a in accounts},
        fingerprint=fingerprint(accounts, reps, scenario),
        figures=figures or {},
    )


def plan_from_database(session: Session, scenario: Scenario, *, as_of: date) -> PlanResult:
    """Plan the accounts (of the scenario's territory, or all) over the active reps."""
    account_ids = rep_ids = None
    if scenario.territory is not None:
        h = hierarchy(session)
        if scenario.territory not in h.by_name:
            raise ValidationFailed(
                "the scenario is not valid",
                [Problem(f"unknown territory {scenario.territory!r}", "territory")],
            )
        name = scenario.territory
        account_ids = {
            p.account_id
            for p in place_all(h, all_facts(session))
            if p.territory and (p.territory == name or name in h.ancestors[p.territory])
        }
    p = profiles.measure(
        session, as_of=as_of, scenario=scenario, account_ids=account_ids, rep_ids=rep_ids
    )
    return run(
        p.accounts,
        p.reps,
        scenario,
        as_of=as_of,
        rep_names=p.rep_names,
        account_names=p.account_names,
        figures=p.figures,
    )


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}", [Problem(str(exc), str(path))]) from exc


def _num(
    row: dict[str, str], key: str, default: float | None, where: str, problems: list[Problem]
) -> float | None:
    text = (row.get(key) or "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        problems.append(Problem(f"{key} must be a number (got {text!r})", where))
        return default


def read_files(accounts_csv: Path, reps_csv: Path) -> tuple[list[AccountIn], list[RepIn]]:
    """Plain-file inputs (columns documented in docs/territories.md); every problem at once."""
    problems: list[Problem] = []
    reps = []
    for n, row in enumerate(_rows(reps_csv), start=2):
        where = f"{reps_csv.name}:{n}"
        rid = (row.get("rep_id") or "").strip()
        if not rid:
            problems.append(Problem("rep_id is empty", where))
            continue
        knowledge = {}
        for part in (row.get("knowledge") or "").split(";"):
            if ":" in part:
                k, v = part.rsplit(":", 1)
                try:
                    knowledge[k.strip()] = float(v)
                except ValueError:
                    problems.append(Problem(f"knowledge {part!r} needs INDUSTRY:SCORE", where))
        reps.append(
            RepIn(
                id=rid,
                experience=_num(row, "experience", 0.5, where, problems) or 0.0,
                knowledge=knowledge,
                complex_skill=_num(row, "complex_skill", None, where, problems),
                quota=_num(row, "quota", 0.0, where, problems) or 0.0,
                capacity=_num(row, "capacity", None, where, problems),
                load=_num(row, "load", 0.0, where, problems) or 0.0,
            )
        )
    accounts = []
    for n, row in enumerate(_rows(accounts_csv), start=2):
        where = f"{accounts_csv.name}:{n}"
        aid = (row.get("account_id") or "").strip()
        if not aid:
            problems.append(Problem("account_id is empty", where))
            continue
        accounts.append(
            AccountIn(
                id=aid,
                workload=_num(row, "workload", 1.0, where, problems) or 0.0,
                potential=_num(row, "potential", 0.0, where, problems) or 0.0,
                complexity=_num(row, "complexity", 0.5, where, problems) or 0.0,
                industry=(row.get("industry") or "").strip() or None,
                current_rep=(row.get("current_rep") or "").strip() or None,
                locked=(row.get("locked") or "").strip().lower() in {"1", "true", "yes"},
            )
        )
    if problems:
        raise ValidationFailed("the planning files are not valid", problems)
    return accounts, reps


# --- proposals -------------------------------------------------------------------------------


def propose(
    session: Session,
    result: PlanResult,
    *,
    scope: Scope,
    effective_from: date,
    title: str | None = None,
) -> Proposal:
    """Save a database plan's moves as a draft proposal (overrides audited with reasons)."""
    moves = [
        {
            "account_id": int(e.account),
            "from": int(e.moved_from) if e.moved_from else None,
            "to": int(e.rep),
            "why": e.why,
        }
        for e in result.moves()
    ]
    payload = {
        "scenario": result.scenario.model_dump(mode="json"),
        "as_of": result.as_of.isoformat(),
        "inputs_fingerprint": result.fingerprint,
        "opportunities": result.scenario.opportunities,
        "objective": result.plan.objective,
        "bound": result.plan.bound,
        "gap": result.plan.gap,
        "moves": moves,
    }
    proposal = approvals.create(
        session,
        kind=KIND,
        title=title or f"Territory plan: {result.scenario.name}",
        payload=payload,
        scope=scope,
        effective_from=effective_from,
    )
    overrides = [(f"account:{k}", v) for k, v in result.scenario.accounts.items()]
    overrides += [(f"rep:{k}", v) for k, v in result.scenario.reps.items()]
    for key, over in overrides:
        record(
            session,
            user_id=scope.user_id,
            action="override",
            entity="profile",
            entity_id=key,
            changes={"proposal": proposal.id, **over.model_dump(mode="json", exclude_none=True)},
        )
    return proposal


def _owner_rows(session: Session, account_id: int, day: date) -> list[AccountOwner]:
    return list(
        session.scalars(
            select(AccountOwner).where(
                AccountOwner.account_id == account_id,
                AccountOwner.valid_from <= day,
                or_(AccountOwner.valid_to.is_(None), AccountOwner.valid_to > day),
            )
        )
    )


def _check(session: Session, payload: Any) -> list[Problem]:
    problems = []
    moves = payload.get("moves") if isinstance(payload, dict) else None
    if not isinstance(moves, list):
        return [Problem("a territory plan needs a list of moves", "payload.moves")]
    reps = set(session.scalars(select(Rep.id).where(Rep.is_active)))
    accounts = set(
        session.scalars(
            select(Account.id).where(
                Account.id.in_([m.get("account_id") for m in moves if isinstance(m, dict)])
            )
        )
    )
    for j, m in enumerate(moves):
        where = f"payload.moves[{j}]"
        if not isinstance(m, dict) or m.get("account_id") not in accounts:
            problems.append(Problem("unknown account", where))
        elif m.get("to") not in reps:
            problems.append(Problem(f"rep {m.get('to')} is not an active rep", where))
    return problems


def _apply(session: Session, proposal: Proposal, ctx: approvals.ApplyContext) -> dict[str, Any]:
    day = ctx.effective
    closed: list[list[Any]] = []
    created: list[int] = []
    opps: list[list[int]] = []
    stale = []
    for m in proposal.payload["moves"]:
        rows = _owner_rows(session, m["account_id"], day)
        if m["from"] is not None and [r.rep_id for r in rows] != [m["from"]]:
            stale.append(
                Problem(
                    f"account {m['account_id']} is no longer owned by rep {m['from']}",
                    "payload.moves",
                )
            )
            continue
        end = None
        for row in rows:
            closed.append([row.id, None if row.valid_to is None else row.valid_to.isoformat()])
            end = row.valid_to
            row.valid_to = day
        new = AccountOwner(account_id=m["account_id"], rep_id=m["to"], valid_from=day, valid_to=end)
        session.add(new)
        session.flush()
        created.append(new.id)
        record(
            session,
            user_id=ctx.user_id,
            action="reassign",
            entity="account",
            entity_id=m["account_id"],
            at=ctx.at,
            changes={
                "owner": {"old": m["from"], "new": m["to"]},
                "from": day.isoformat(),
                "proposal": proposal.id,
                "why": m.get("why"),
            },
        )
        if proposal.payload.get("opportunities", "move") == "move":
            for opp in session.scalars(
                select(Opportunity)
                .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
                .where(Opportunity.account_id == m["account_id"], PipelineStage.category == "open")
            ):
                if opp.owner_id != m["to"]:
                    opps.append([opp.id, opp.owner_id])
                    record_event(
                        session,
                        opp,
                        field=EventField.OWNER,
                        old=opp.owner_id,
                        new=m["to"],
                        at=ctx.at,
                    )
                    opp.owner_id = m["to"]
    if stale:
        raise ValidationFailed(f"proposal {proposal.id} no longer fits the data", stale)
    return {"closed": closed, "created": created, "opportunities": opps}


def _roll_back(session: Session, proposal: Proposal, ctx: approvals.ApplyContext) -> None:
    undo = proposal.undo
    for row_id in undo.get("created", []):
        row = session.get(AccountOwner, row_id)
        if row is not None:
            session.delete(row)
    session.flush()
    for row_id, valid_to in undo.get("closed", []):
        row = session.get(AccountOwner, row_id)
        if row is not None:
            row.valid_to = None if valid_to is None else date.fromisoformat(valid_to)
    for opp_id, owner in undo.get("opportunities", []):
        opp = session.get(Opportunity, opp_id)
        if opp is not None:
            record_event(
                session, opp, field=EventField.OWNER, old=opp.owner_id, new=owner, at=ctx.at
            )
            opp.owner_id = owner
    for m in proposal.payload["moves"]:
        record(
            session,
            user_id=ctx.user_id,
            action="reassign",
            entity="account",
            entity_id=m["account_id"],
            at=ctx.at,
            changes={
                "owner": {"old": m["to"], "new": m["from"]},
                "proposal": proposal.id,
                "rolled_back": True,
            },
        )


approvals.register_kind(approvals.Kind(KIND, apply=_apply, roll_back=_roll_back, check=_check))
