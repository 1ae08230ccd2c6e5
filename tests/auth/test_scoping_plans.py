"""Scoped lists reach the big tables through indexes, never a per-row correlated check.

Each test runs a scoped list the way the API does (the page and its count), captures the
statements it sends, and asks the database how it would run them: SQLite's `EXPLAIN QUERY
PLAN`, PostgreSQL's `EXPLAIN` with sequential scans priced out (the test tables hold a few rows,
so on its own PostgreSQL would rightly read them whole; pricing scans out shows whether an index
can serve every table instead).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from itertools import takewhile
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from salesops.auth.scoping import scope_for
from salesops.crm import records
from salesops.crm.records import Resource
from salesops.crm.resources import (
    ACCOUNTS,
    ACTIVITIES,
    CONTACTS,
    CONTRACTS,
    LEADS,
    OPPORTUNITIES,
    QUOTAS,
)
from salesops.models import AccountOwner, Activity, Contact, Contract, Lead, Quota
from tests.factories import make_account
from tests.orgchart import Org

# The tables that grow with the company: none of them may be read whole for a scoped list.
BIG_TABLES = (
    "accounts",
    "account_owners",
    "contacts",
    "contracts",
    "opportunities",
    "activities",
    "leads",
    "quotas",
)
SCOPED = [ACCOUNTS, CONTACTS, CONTRACTS, ACTIVITIES, OPPORTUNITIES, LEADS, QUOTAS]


def _statements(session: Session, run: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SQL statements (with their parameters) that `run` sends through the session."""
    connection = session.connection()
    seen: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        seen.append((args[2], args[3]))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    return seen


def _plan(session: Session, statement: str, parameters: Any) -> list[str]:
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return [str(row[3]) for row in rows]
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
    return [str(row[0]) for row in rows]


def _problems(dialect: str, plan: list[str], *, sorted_page: bool) -> list[str]:
    """The lines of `plan` that read a big table whole or run a subquery once per row.

    On PostgreSQL an index scan without an `Index Cond` walks the whole index; that is a fair
    choice only for a sorted page (it walks in the page's order and stops after `LIMIT` rows),
    never for a count.
    """
    tables = "|".join(BIG_TABLES)
    if dialect == "sqlite":
        # SEARCH is an index lookup; SCAN of a table (even "USING INDEX") walks all of it.
        full = re.compile(rf"^SCAN ({tables})\b")
        return [line for line in plan if full.search(line.strip()) or "CORRELATED" in line]
    scan = re.compile(
        rf"(Seq Scan|Index Only Scan|Index Scan)( Backward)?( using \S+)? on ({tables})\b"
    )
    # "hashed SubPlan" runs once; a condition on a plain "SubPlan N" runs it for every row.
    correlated = re.compile(r"(?<!hashed )SubPlan \d+")
    node = re.compile(r"->|^\s*(SubPlan|InitPlan)")
    problems = []
    for i, line in enumerate(plan):
        if correlated.search(line) and not re.fullmatch(r"\s*SubPlan \d+", line):
            problems.append(line)
        found = scan.search(line)
        if found is None:
            continue
        details = list(takewhile(lambda text: not node.search(text), plan[i + 1 :]))
        walks = found[1] == "Seq Scan" or not any("Index Cond" in d for d in details)
        if walks and not (sorted_page and found[1] != "Seq Scan"):
            problems.append(line)
    return problems


def _add_records(session: Session, org: Org) -> None:
    """Two of every scoped record per rep, so a one-row page is full and the count runs."""
    for name in ("ann", "cat"):
        rep = org.reps[name]
        account = org.accounts["acme" if name == "ann" else "globex"]
        second = make_account(session, name=f"{name} second")
        session.add(AccountOwner(account_id=second.id, rep_id=rep.id, valid_from=date(2020, 1, 1)))
        for i in range(2):
            session.add(Contact(account_id=account, last_name=f"{name} {i}"))
            session.add(
                Contract(
                    account_id=account,
                    start_date=org.opps[name][0].close_date,
                    end_date=org.opps[name][0].close_date,
                    term_months=12,
                    value=100,
                )
            )
            session.add(
                Activity(
                    kind="call",
                    occurred_at=org.opps[name][0].created_at,
                    rep_id=rep.id if i == 0 else None,
                    opportunity_id=org.opps[name][0].id,
                )
            )
            session.add(Lead(first_name=f"{name} {i}", owner_id=rep.id))
            session.add(
                Quota(
                    rep_id=rep.id,
                    period_start=org.opps[name][0].close_date,
                    period_end=org.opps[name][0].close_date,
                    amount=100,
                )
            )
    session.flush()


@pytest.mark.parametrize("who", ["ann", "mia"])
@pytest.mark.parametrize("resource", SCOPED, ids=lambda r: r.name)
def test_a_scoped_list_and_its_count_use_indexes_and_no_per_row_subquery(
    session: Session, org: Org, who: str, resource: Resource[Any]
) -> None:
    _add_records(session, org)
    scope = scope_for(session, org.users[who])

    def run() -> None:
        page = records.list_records(session, resource, scope=scope, limit=1)
        assert page.total >= 2, "the page must be full so that the count runs too"

    statements = _statements(session, run)
    assert len(statements) == 2, [s for s, _ in statements]  # the page, then the count
    dialect = session.get_bind().dialect.name
    for (statement, parameters), sorted_page in zip(statements, (True, False), strict=True):
        plan = _plan(session, statement, parameters)
        problems = _problems(dialect, plan, sorted_page=sorted_page)
        assert problems == [], "\n".join([statement, *plan])
