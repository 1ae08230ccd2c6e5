"""Dashboard pages per role on one process: a rep's and a manager's against the director's.

    python bench/scoped_pages.py --database-url sqlite:////tmp/scale/d200k.db

Builds each dashboard page's figures (what a page request computes on a cold figure cache:
Ibis compiles every metric, DuckDB runs it) for the director, the manager with the most
reports and the rep with the most deals, and prints CPU seconds (this process, all threads)
and wall time per page and role. Every build starts with an empty compiled-SQL cache.

`--before` also runs each scoped page the way scoped sources worked before (every visible id a
literal in the expressions, stage entries computed from the scoped event log per request),
alternating with the current path in the same process, so the ratio holds on a loaded machine.
Not part of `make test`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from salesops.auth.scoping import Scope, _manager_scope, system_scope  # noqa: E402
from salesops.calendar import quarter_label  # noqa: E402
from salesops.db import make_engine, session_scope  # noqa: E402
from salesops.metrics import runner, scoped  # noqa: E402
from salesops.metrics.engines import materialized  # noqa: E402
from salesops.models import Opportunity, Rep  # noqa: E402
from salesops.models.enums import Role  # noqa: E402
from salesops.web import dashboard, views  # noqa: E402
from salesops.web.filters import Filters  # noqa: E402

PAGES = ("overview", "pipeline", "funnel", "leaderboard", "health")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--before", action="store_true", help="also time the old scoped path")
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    totals: dict[tuple[str, str], list[float]] = {}
    with session_scope(engine) as session:
        today = date.today()
        count = func.count()
        rep_id = (
            session.execute(
                select(Opportunity.owner_id).group_by(Opportunity.owner_id).order_by(count.desc())
            )
            .scalars()
            .first()
        )
        manager = session.execute(
            select(Rep.manager_id).where(Rep.manager_id.is_not(None))
            .group_by(Rep.manager_id).order_by(count.desc())
        ).scalars().first()  # fmt: skip
        if rep_id is None or manager is None:
            sys.exit("no demo company in this database (salesops demo -n N)")
        reps, teams = _manager_scope(session, manager, today)
        scopes = {
            "director": system_scope(),
            "manager": Scope(None, "m", Role.MANAGER, manager, frozenset(reps), frozenset(teams)),
            "rep": Scope(None, "r", Role.SALES_REP, rep_id, frozenset({rep_id}), frozenset()),
        }
        print(f"manager {manager}: {len(reps)} reps; rep {rep_id}")
        filters = Filters(period=quarter_label(today))
        metric_filters = views.metric_filters(session, filters)
        # The copy, the company's kept entries and each scope's account ids, before timing.
        materialized(scoped.open_scoped(session, system_scope()))
        for scope in scopes.values():
            scoped.open_scoped(session, scope)
        literal_ids = scoped._LITERAL_IDS
        for page in PAGES:
            build = getattr(dashboard, f"build_{page}")
            for role, scope in scopes.items():
                modes = ["after"] if role == "director" or not args.before else ["before", "after"]
                for mode in modes:
                    runner._SQL.clear()
                    scoped._LITERAL_IDS = 10**9 if mode == "before" else literal_ids
                    wall, used = time.perf_counter(), cpu()
                    src = scoped.open_scoped(session, scope)
                    if mode == "before":
                        src = replace(src, unscoped=None)
                    build(src, filters, metric_filters, today)
                    wall, used = time.perf_counter() - wall, cpu() - used
                    total = totals.setdefault((role, mode), [0.0, 0.0])
                    total[0] += wall
                    total[1] += used
                    print(f"{page:12} {role:9} {mode:6} cpu {used:7.2f} s  wall {wall:7.2f} s")
        scoped._LITERAL_IDS = literal_ids
    base = totals[("director", "after")][1]
    print("\nall five pages")
    for (role, mode), (wall, used) in totals.items():
        ratio = used / base
        print(f"{role:9} {mode:6} cpu {used:7.2f} s ({ratio:.2f}x director)  wall {wall:7.2f} s")


if __name__ == "__main__":
    main()
