"""Row-level scoping: which records a user may see and change, decided once per request.

Every service that lists, reads or changes records takes a `Scope` and filters by it, so the
API, the dashboard, metrics and exports obey the same rules:

- `sales_rep`: records they own (through the rep linked to their user).
- `manager`: their own records, their reports' down the `reps.manager_id` chain, and the
  records of current members of the teams they manage and every sub-team.
- `ops_rep`, `analyst`, `director`, `admin`: read everything.

Changing records: reps and managers change what they can see, `analyst` changes nothing,
`ops_rep`, `director` and `admin` change anything. Organisation and plans (reps, teams,
territories, quotas) are changed by `ops_rep`, `director` and `admin`; users, tokens and the
audit log belong to `admin`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    false,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from salesops.db.sql import in_subquery
from salesops.errors import NotFound, PermissionDenied
from salesops.models import (
    Account,
    AccountOwner,
    Activity,
    Contact,
    Contract,
    Lead,
    Opportunity,
    Quota,
    Rep,
    Role,
    Team,
    TeamMembership,
    User,
)

READ_ALL_ROLES = frozenset({Role.OPS_REP, Role.ANALYST, Role.DIRECTOR, Role.ADMIN})
WRITE_ALL_ROLES = frozenset({Role.OPS_REP, Role.DIRECTOR, Role.ADMIN})
PLANNING_ROLES = frozenset({Role.OPS_REP, Role.DIRECTOR, Role.ADMIN})


@dataclass(frozen=True)
class Scope:
    """What one user may see: `rep_ids` is None when they see every rep's records."""

    user_id: int | None
    username: str
    role: Role
    own_rep_id: int | None
    rep_ids: frozenset[int] | None
    team_ids: frozenset[int] | None

    @property
    def sees_all(self) -> bool:
        return self.rep_ids is None

    def owner_ids(self) -> list[int] | None:
        """The rep ids whose records are visible, sorted, or None for all (for metrics)."""
        return None if self.rep_ids is None else sorted(self.rep_ids)

    def sees_rep(self, rep_id: int | None) -> bool:
        return self.rep_ids is None or (rep_id is not None and rep_id in self.rep_ids)

    # --- permissions -------------------------------------------------------------------------

    def require_role(self, roles: Iterable[Role], action: str) -> None:
        if self.role not in roles:
            raise PermissionDenied(f"the {self.role.value} role cannot {action}")

    def require_record_write(self, action: str = "change records") -> None:
        """Anyone but an analyst may change the records they can see."""
        if self.role == Role.ANALYST:
            raise PermissionDenied(f"the analyst role is read-only: it cannot {action}")

    def require_owner(self, rep_id: int | None, action: str = "assign records") -> None:
        """A record may only be given to a rep inside the caller's scope."""
        if not self.sees_rep(rep_id):
            raise PermissionDenied(f"you cannot {action} to rep {rep_id}, outside your scope")

    def require_planning(self, action: str = "change the organisation or plans") -> None:
        self.require_role(PLANNING_ROLES, action)

    def require_admin(self, action: str = "manage users") -> None:
        self.require_role({Role.ADMIN}, action)

    # --- query filters -----------------------------------------------------------------------
    #
    # Every filter starts from the caller's own reps and reaches other tables through an indexed
    # semi-join (`x IN (SELECT ... WHERE owner_id IN reps)`), evaluated once per statement. A
    # correlated EXISTS per row of the big table (what these filters were) makes the database
    # walk every account or activity in the company for each page and again for its count.

    def _in(self, column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        assert self.rep_ids is not None
        return column.in_(sorted(self.rep_ids)) if self.rep_ids else false()

    def opportunities(self) -> ColumnElement[bool]:
        return true() if self.sees_all else self._in(Opportunity.owner_id)

    def leads(self) -> ColumnElement[bool]:
        return true() if self.sees_all else self._in(Lead.owner_id)

    def reps(self) -> ColumnElement[bool]:
        return true() if self.sees_all else self._in(Rep.id)

    def opportunity_ids(self) -> Select[tuple[int]]:
        """The ids of the visible opportunities, for `column.in_(...)` (one index range scan)."""
        return select(Opportunity.id).where(self.opportunities())

    def account_ids(self, *, today: date | None = None) -> CompoundSelect[tuple[int]]:
        """The ids of the accounts the caller owns now or on which they own a deal.

        A union of two lookups by rep (`account_owners.rep_id`, `opportunities.owner_id`), so
        its size is the caller's book, not the company's.
        """
        day = today or date.today()
        owned = select(AccountOwner.account_id).where(
            self._in(AccountOwner.rep_id),
            AccountOwner.valid_from <= day,
            or_(AccountOwner.valid_to.is_(None), AccountOwner.valid_to > day),
        )
        dealt = select(Opportunity.account_id).where(
            self._in(Opportunity.owner_id), Opportunity.account_id.is_not(None)
        )
        return union(owned, dealt)

    def accounts(self, account_id: InstrumentedAttribute[Any] | None = None) -> ColumnElement[bool]:
        """Accounts the caller owns now, or on which they own a deal."""
        if self.sees_all:
            return true()
        if not self.rep_ids:
            return false()
        target = Account.id if account_id is None else account_id
        return in_subquery(target, self.account_ids())

    def contacts(self) -> ColumnElement[bool]:
        return true() if self.sees_all else self.accounts(Contact.account_id)

    def contracts(self) -> ColumnElement[bool]:
        return true() if self.sees_all else self.accounts(Contract.account_id)

    def activities(self) -> ColumnElement[bool]:
        if self.sees_all:
            return true()
        if not self.rep_ids:
            return false()
        # Two indexed lookups OR-ed together: by rep, and by the caller's deals.
        return or_(
            self._in(Activity.rep_id), in_subquery(Activity.opportunity_id, self.opportunity_ids())
        )

    def quotas(self) -> ColumnElement[bool]:
        if self.sees_all:
            return true()
        teams = sorted(self.team_ids or ())
        return or_(self._in(Quota.rep_id), Quota.team_id.in_(teams) if teams else false())

    def teams(self) -> ColumnElement[bool]:
        """Everyone sees the organisation chart; it holds no pipeline."""
        return true()


def _manager_scope(session: Session, own_rep_id: int, today: date) -> tuple[set[int], set[int]]:
    """The reps and teams a manager sees, in one statement over only their part of the chart.

    `chain`: the manager and everyone below them through `reps.manager_id`. `subtree`: the teams
    managed by anyone in the chain, and all their sub-teams. Members are the reps in those teams
    today. UNION (not UNION ALL) stops the recursion on a cycle in either hierarchy.
    """
    chain = select(Rep.id).where(Rep.id == own_rep_id).cte("chain", recursive=True)
    chain = chain.union(select(Rep.id).join(chain, Rep.manager_id == chain.c.id))
    subtree = (
        select(Team.id)
        .where(Team.manager_id.in_(select(chain.c.id)))
        .cte("subtree", recursive=True)
    )
    subtree = subtree.union(select(Team.id).join(subtree, Team.parent_id == subtree.c.id))
    members = select(literal("rep"), TeamMembership.rep_id).where(
        TeamMembership.team_id.in_(select(subtree.c.id)),
        TeamMembership.valid_from <= today,
        or_(TeamMembership.valid_to.is_(None), TeamMembership.valid_to > today),
    )
    query = union_all(
        select(literal("rep"), chain.c.id), members, select(literal("team"), subtree.c.id)
    )
    rep_ids: set[int] = set()
    team_ids: set[int] = set()
    for kind, row_id in session.execute(query):
        (rep_ids if kind == "rep" else team_ids).add(row_id)
    return rep_ids, team_ids


def scope_for(session: Session, user: User, *, today: date | None = None) -> Scope:
    """The scope of `user`, from their role and their place in the organisation."""
    role = Role(user.role)
    own_rep_id = session.scalar(select(Rep.id).where(Rep.user_id == user.id))
    if role in READ_ALL_ROLES:
        return Scope(user.id, user.username, role, own_rep_id, None, None)
    if own_rep_id is None:
        return Scope(user.id, user.username, role, None, frozenset(), frozenset())
    if role == Role.SALES_REP:
        return Scope(user.id, user.username, role, own_rep_id, frozenset({own_rep_id}), frozenset())
    rep_ids, team_ids = _manager_scope(session, own_rep_id, today or date.today())
    return Scope(user.id, user.username, role, own_rep_id, frozenset(rep_ids), frozenset(team_ids))


def system_scope() -> Scope:
    """Unrestricted scope for trusted callers (CLI commands run by the operator)."""
    return Scope(None, "system", Role.ADMIN, None, None, None)


def not_visible(entity: str, record_id: object) -> NotFound:
    """The error for a record outside the caller's scope: the same as for a missing one, so
    that guessing ids reveals nothing."""
    return NotFound(f"{entity} {record_id} does not exist")
