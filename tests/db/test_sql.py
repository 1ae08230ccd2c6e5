"""`in_subquery` selects the same rows as `IN (SELECT ...)` on both databases, OR-ed or not."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from salesops.db.sql import in_subquery
from salesops.models import Opportunity, Rep
from tests.factories import make_opportunity, make_rep


def test_in_subquery_matches_the_values_the_query_returns_even_under_an_or(
    session: Session,
) -> None:
    ann, bob, cat = (make_rep(session, name=n) for n in ("Ann", "Bob", "Cat"))
    deals = {rep.name: make_opportunity(session, owner=rep) for rep in (ann, bob, cat)}
    anns = select(Rep.id).where(Rep.name == "Ann")
    nobody = select(Rep.id).where(Rep.name == "Nobody")

    def names(*where: object) -> set[str]:
        query = select(Rep.name).join(Opportunity, Opportunity.owner_id == Rep.id).where(*where)
        return set(session.scalars(query))

    assert names(in_subquery(Opportunity.owner_id, anns)) == {"Ann"}
    assert names(in_subquery(Opportunity.owner_id, nobody)) == set()
    either = or_(Opportunity.id == deals["Cat"].id, in_subquery(Opportunity.owner_id, anns))
    assert names(either) == {"Ann", "Cat"}
    sql = str(select(Opportunity.id).where(either).compile(session.get_bind()))
    spelled = "= ANY(ARRAY(SELECT" if session.get_bind().dialect.name == "postgresql" else "IN ("
    assert f"opportunities.owner_id {spelled}" in sql
