"""What a caller's metrics may read, worked out from their scope as plain ids.

`auth` decides who sees what; `salesops.metrics.scoped` applies the answer to the analytics
tables. This module only turns a `Scope` into the ids the metrics layer filters by (it does not
import the metrics package: the lower layer knows nothing of the one above).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import caching
from salesops.auth.scoping import Scope
from salesops.models import Account


@dataclass(frozen=True)
class MetricScope:
    """The rows metrics may read; None means every row of that kind.

    `rep_ids`: deals, leads, rep quotas and the reps themselves (names, hire dates) of these
    reps. `team_ids`: the teams whose forecast lines are visible (company lines need
    `rep_ids` None). `account_ids`: the accounts whose contracts count (owned now by a visible
    rep, or carrying one of their deals), as for `Scope.contracts`.
    """

    rep_ids: frozenset[int] | None
    team_ids: frozenset[int] | None
    account_ids: frozenset[int] | None

    @property
    def sees_all(self) -> bool:
        return self.rep_ids is None


EVERYTHING = MetricScope(None, None, None)


def metric_scope(session: Session, scope: Scope) -> MetricScope:
    """The ids `scope` lets metrics read (kept until the data changes, or the day does)."""
    if scope.sees_all:
        return EVERYTHING

    def visible_accounts() -> frozenset[int]:
        query = select(Account.id).where(scope.accounts())
        return frozenset(session.scalars(query))

    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    version = caching.data_version(session)
    key = ("metric-accounts", url, version, scope.rep_ids, date.today())
    accounts = caching.figures.get_or_compute(key, visible_accounts)
    return MetricScope(scope.rep_ids, scope.team_ids or frozenset(), accounts)
