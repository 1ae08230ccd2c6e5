"""A small sales organisation with a user of every role, for permission tests.

    East (managed by Mia East)            West (managed by Will West)
      Mia East  <- Ann, Bob (report to Mia)     Will West <- Cat (reports to Will)
      East SMB (sub-team): Dan (no manager link, a member only)

Ann owns 2 deals, Bob 1, Dan 1, Mia 1, Cat 2 (7 in all). Ann owns account "Acme"; Cat owns
"Globex", and "Initech" carries one of Cat's deals without an owner record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from salesops.auth import service as auth
from salesops.models import AccountOwner, Lead, Opportunity, Rep, Team, TeamMembership, User
from tests.factories import make_account, make_opportunity, make_rep

PASSWORD = "correct horse battery"
# Users get no password here (hashing costs ~60 ms each); sign-in tests set the ones they need.


@dataclass
class Org:
    users: dict[str, User] = field(default_factory=dict)
    reps: dict[str, Rep] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    opps: dict[str, list[Opportunity]] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    leads: dict[str, Lead] = field(default_factory=dict)

    def opp_ids(self, *reps: str) -> set[int]:
        return {o.id for r in reps for o in self.opps.get(r, [])}

    @property
    def all_opp_ids(self) -> set[int]:
        return {o.id for opps in self.opps.values() for o in opps}


def build_org(session: Session) -> Org:
    org = Org()
    for role in ("director", "analyst", "ops_rep", "admin"):
        org.users[role] = auth.create_user(session, f"t_{role}", role=role)
    for username, role in (
        ("mia", "manager"),
        ("will", "manager"),
        ("ann", "sales_rep"),
        ("bob", "sales_rep"),
        ("cat", "sales_rep"),
        ("dan", "sales_rep"),
    ):
        org.users[username] = auth.create_user(session, f"t_{username}", role=role)
    u = org.users
    org.reps["mia"] = make_rep(session, name="Mia East", user=u["mia"])
    org.reps["will"] = make_rep(session, name="Will West", user=u["will"])
    org.reps["ann"] = make_rep(session, name="Ann", manager=org.reps["mia"], user=u["ann"])
    org.reps["bob"] = make_rep(session, name="Bob", manager=org.reps["mia"], user=u["bob"])
    org.reps["cat"] = make_rep(session, name="Cat", manager=org.reps["will"], user=u["cat"])
    org.reps["dan"] = make_rep(session, name="Dan", user=u["dan"])
    east = Team(name="East", manager_id=org.reps["mia"].id)
    west = Team(name="West", manager_id=org.reps["will"].id)
    session.add_all([east, west])
    session.flush()
    smb = Team(name="East SMB", parent_id=east.id)
    session.add(smb)
    session.flush()
    org.teams = {"east": east, "west": west, "smb": smb}
    session.add(
        TeamMembership(rep_id=org.reps["dan"].id, team_id=smb.id, valid_from=date(2020, 1, 1))
    )
    acme = make_account(session, name="Acme")
    globex = make_account(session, name="Globex")
    initech = make_account(session, name="Initech")
    org.accounts = {"acme": acme.id, "globex": globex.id, "initech": initech.id}
    session.add_all(
        [
            AccountOwner(
                account_id=acme.id, rep_id=org.reps["ann"].id, valid_from=date(2020, 1, 1)
            ),
            AccountOwner(
                account_id=globex.id, rep_id=org.reps["cat"].id, valid_from=date(2020, 1, 1)
            ),
        ]
    )
    plan = {"ann": 2, "bob": 1, "dan": 1, "mia": 1, "cat": 2}
    for name, count in plan.items():
        org.opps[name] = [
            make_opportunity(
                session,
                owner=org.reps[name],
                amount=1000 * (i + 1),
                name=f"{name} deal {i + 1}",
                account=acme if name == "ann" else (initech if i == 1 else None),
            )
            for i in range(count)
        ]
    for name in ("ann", "cat"):
        lead = Lead(first_name=name, company=f"{name} Co", owner_id=org.reps[name].id)
        session.add(lead)
        org.leads[name] = lead
    session.flush()
    return org
