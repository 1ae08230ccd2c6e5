"""The demo company comes with the methodology, hygiene problems to find and feedback."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.auth.scoping import system_scope
from salesops.db import make_engine
from salesops.demo.generator import DemoSpec
from salesops.demo.loader import load_into_database
from salesops.demo.params import REFERENCE_END
from salesops.models import Feedback, HygieneSnapshot
from salesops.playbooks import gate, inspection, tools
from salesops.playbooks.hygiene import FLAGS
from tests.conftest import scratch_url


def test_the_demo_has_a_playbook_in_force_hygiene_findings_and_feedback(tmp_path: Path) -> None:
    # SQLite only: the demo loader itself runs on both databases in tests/demo.
    engine = make_engine(scratch_url("sqlite", tmp_path, "demo_playbook"))
    load_into_database(engine, DemoSpec(opportunities=600, seed=3, end=REFERENCE_END))
    with Session(engine) as session:
        assert gate.active_playbook(session).methodology == "MEDDICC"  # type: ignore[union-attr]
        found = inspection.inspect(
            session, scope=system_scope(), at=inspection.end_of(REFERENCE_END)
        )
        flagged = [d for d in found.deals if d.flags]
        assert 0 < len(flagged) < len(found.deals)
        codes = {f.code for d in found.deals for f in d.flags}
        assert {"no_next_step", "missing_exit_criteria", "single_threaded", "stale"} <= codes
        assert codes <= set(FLAGS)
        assert session.scalar(select(func.count()).select_from(Feedback)) == 8
        statuses = set(session.scalars(select(Feedback.status)))
        assert {"new", "done", "planned"} <= statuses
        snapshots = session.scalar(select(func.count()).select_from(HygieneSnapshot))
        assert snapshots == len(found.reps)
        stack = tools.stack(session, scope=system_scope())
        by_name = {tool.name: r for tool, r in stack.tools}
        assert by_name["Recorder"].cost_per_active_user is None  # paid for, never used
        assert by_name["Dialer"].unused_seats > by_name["Dialer"].active_users
        assert stack.overlaps["call recording"] == ["Dialer", "Recorder"]
    engine.dispose()
