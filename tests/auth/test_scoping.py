"""Scopes from the organisation chart: reports, sub-teams and effective-dated membership."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from salesops.auth import service as auth
from salesops.auth.scoping import scope_for
from salesops.models import Team, TeamMembership
from tests.factories import make_rep
from tests.orgchart import Org


def test_a_manager_sees_reports_and_members_of_managed_sub_teams(
    session: Session, org: Org
) -> None:
    scope = scope_for(session, org.users["mia"])
    assert scope.rep_ids == {org.reps[n].id for n in ("mia", "ann", "bob", "dan")}
    assert scope.team_ids == {org.teams["east"].id, org.teams["smb"].id}


def test_a_membership_that_ended_no_longer_grants_visibility(session: Session, org: Org) -> None:
    gone = make_rep(session, name="Eve")
    session.add(
        TeamMembership(
            rep_id=gone.id,
            team_id=org.teams["smb"].id,
            valid_from=date(2020, 1, 1),
            valid_to=date(2024, 12, 31),
        )
    )
    session.flush()
    assert gone.id not in (scope_for(session, org.users["mia"]).rep_ids or set())
    past = scope_for(session, org.users["mia"], today=date(2024, 6, 1))
    assert past.rep_ids is not None
    assert gone.id in past.rep_ids


def test_reports_of_reports_roll_up_to_the_top_manager(session: Session, org: Org) -> None:
    vp_user = auth.create_user(session, "vp", role="manager")
    vp = make_rep(session, name="VP", user=vp_user)
    org.reps["mia"].manager_id = vp.id
    org.reps["will"].manager_id = vp.id
    top = Team(name="Sales", manager_id=vp.id)
    session.add(top)
    session.flush()
    scope = scope_for(session, vp_user)
    assert scope.rep_ids == {vp.id, *(r.id for r in org.reps.values())}


def test_a_rep_without_a_linked_rep_record_sees_nothing(session: Session) -> None:
    lonely = auth.create_user(session, "lonely", role="sales_rep")
    scope = scope_for(session, lonely)
    assert scope.rep_ids == frozenset()
    assert not scope.sees_all


def test_read_all_roles_see_everything(session: Session, org: Org) -> None:
    for role in ("director", "analyst", "ops_rep", "admin"):
        assert scope_for(session, org.users[role]).sees_all


def test_a_manager_of_a_sub_team_sees_exactly_that_subtree(session: Session, org: Org) -> None:
    """Sue manages East SMB (under East): she sees its members and its own sub-team's, not
    East's direct members, not West, not a membership that has ended."""
    sue_user = auth.create_user(session, "sue", role="manager")
    sue = make_rep(session, name="Sue", user=sue_user)
    org.teams["smb"].manager_id = sue.id
    north = Team(name="East SMB North", parent_id=org.teams["smb"].id)
    session.add(north)
    session.flush()
    nia, ola, old = (make_rep(session, name=n) for n in ("Nia", "Ola", "Old"))
    since = date(2020, 1, 1)
    session.add_all(
        [
            TeamMembership(rep_id=nia.id, team_id=north.id, valid_from=since),
            TeamMembership(rep_id=ola.id, team_id=org.teams["east"].id, valid_from=since),
            TeamMembership(
                rep_id=old.id, team_id=north.id, valid_from=since, valid_to=date(2021, 1, 1)
            ),
        ]
    )
    session.flush()
    scope = scope_for(session, sue_user, today=date(2025, 6, 1))
    assert scope.rep_ids == {sue.id, org.reps["dan"].id, nia.id}
    assert scope.team_ids == {org.teams["smb"].id, north.id}
    # Mia manages East: its members and every sub-team's, Sue's North included. (Sue herself
    # is neither Mia's report nor a member of a team, so she is not in Mia's scope.)
    mia = scope_for(session, org.users["mia"], today=date(2025, 6, 1))
    assert mia.rep_ids is not None
    assert {org.reps["dan"].id, nia.id, ola.id} <= mia.rep_ids
    assert old.id not in mia.rep_ids
    assert mia.team_ids == {org.teams["east"].id, org.teams["smb"].id, north.id}


def test_a_cycle_in_the_reporting_chain_or_the_team_tree_ends(session: Session, org: Org) -> None:
    org.reps["mia"].manager_id = org.reps["ann"].id  # Ann reports to Mia, Mia now to Ann
    org.teams["east"].parent_id = org.teams["smb"].id  # East under East SMB under East
    session.flush()
    scope = scope_for(session, org.users["mia"])
    assert scope.rep_ids == {org.reps[n].id for n in ("mia", "ann", "bob", "dan")}
    assert scope.team_ids == {org.teams["east"].id, org.teams["smb"].id}


def test_a_manager_scope_is_two_queries_whatever_the_size_of_the_organisation(
    session: Session, org: Org
) -> None:
    for i in range(30):
        make_rep(session, name=f"Other {i}")
    session.flush()
    seen: list[str] = []
    connection = session.connection()

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(connection, "before_cursor_execute", record)
    try:
        scope_for(session, org.users["mia"])
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert len(seen) == 2, seen
