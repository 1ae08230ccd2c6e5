"""Questions about the organisation chart that several screens ask."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from salesops.models import Account, Opportunity, Team, TeamMembership


def team_rep_ids(session: Session, team_id: int, *, today: date | None = None) -> set[int]:
    """Current members of a team and all its sub-teams, and those teams' managers."""
    today = today or date.today()
    children: dict[int, list[int]] = defaultdict(list)
    managers: dict[int, int | None] = {}
    for tid, parent_id, manager_id in session.execute(
        select(Team.id, Team.parent_id, Team.manager_id)
    ):
        managers[tid] = manager_id
        if parent_id is not None:
            children[parent_id].append(tid)
    teams: set[int] = set()
    stack = [team_id]
    while stack:
        tid = stack.pop()
        if tid not in teams:
            teams.add(tid)
            stack.extend(children.get(tid, ()))
    reps = {m for t in teams if (m := managers.get(t)) is not None}
    reps.update(
        session.scalars(
            select(TeamMembership.rep_id).where(
                TeamMembership.team_id.in_(sorted(teams)),
                TeamMembership.valid_from <= today,
                or_(TeamMembership.valid_to.is_(None), TeamMembership.valid_to > today),
            )
        )
    )
    return reps


def deal_clauses(
    session: Session,
    *,
    team_id: int | None = None,
    territory_id: int | None = None,
    segment: str | None = None,
    rep_id: int | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE clauses selecting the opportunities of a team, territory, segment or rep."""
    clauses: list[ColumnElement[bool]] = []
    if team_id is not None:
        clauses.append(Opportunity.owner_id.in_(sorted(team_rep_ids(session, team_id))))
    if territory_id is not None:
        clauses.append(Opportunity.territory_id == territory_id)
    if segment:
        clauses.append(
            Opportunity.account_id.in_(select(Account.id).where(Account.segment == segment))
        )
    if rep_id is not None:
        clauses.append(Opportunity.owner_id == rep_id)
    return clauses
