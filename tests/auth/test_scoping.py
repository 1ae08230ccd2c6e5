"""Scopes from the organisation chart: reports, sub-teams and effective-dated membership."""

from __future__ import annotations

from datetime import date

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
