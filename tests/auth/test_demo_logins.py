"""Demo sign-ins (a public password) exist only on the demo company, and are audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from salesops.auth import demo
from salesops.auth import service as auth
from salesops.db import session_scope
from salesops.demo.generator import DemoSpec
from salesops.demo.loader import load_into_database
from salesops.demo.params import REFERENCE_END
from salesops.ingest import export_database, run_import
from salesops.models import Account, AuditEntry, DemoBuild, User
from salesops.pipeline import stages
from tests.conftest import run_cli, scratch_url
from tests.databases import migrated_engine

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SPEC = DemoSpec(opportunities=150, seed=11, end=REFERENCE_END)


@pytest.fixture
def blank(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """An empty migrated database of the kind of `engine`."""
    target = migrated_engine(scratch_url(engine.dialect.name, tmp_path, "logins"))
    yield target
    target.dispose()


@pytest.fixture
def demo_db(blank: Engine) -> Engine:
    load_into_database(blank, SPEC)
    return blank


def _real_company(engine: Engine) -> None:
    """Real users, as `salesops users create` or an import leaves them."""
    with session_scope(engine) as session:
        auth.create_user(session, "admin", role="sales_rep", password="their-own-pass")
        auth.create_user(session, "jo", role="manager", password="their-own-pass")
        auth.disable_user(session, auth.get_user(session, "admin"))


def test_demo_logins_are_refused_on_a_database_the_demo_did_not_build(blank: Engine) -> None:
    _real_company(blank)
    with session_scope(blank) as session:
        before = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    with session_scope(blank) as session, pytest.raises(demo.NotTheDemoCompany) as refused:
        demo.ensure_demo_logins(session)
    assert "not built by `salesops demo`" in str(refused.value)
    with session_scope(blank) as session:
        admin = auth.get_user(session, "admin")
        assert (admin.role, admin.is_active) == ("sales_rep", False)
        assert not auth.passwords.verify_password(admin.password_hash, demo.DEMO_PASSWORD)
        assert auth.passwords.verify_password(admin.password_hash, "their-own-pass")
        assert session.scalar(select(User).where(User.username == "director")) is None
        last = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
        assert last == before


def test_the_command_refuses_with_one_clear_line_and_exit_code_5(
    blank: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    _real_company(blank)
    url = blank.url.render_as_string(hide_password=False)
    code, _out, err = run_cli(capsys, url, "users", "demo-logins")
    assert code == 5
    assert "not built by `salesops demo`" in err
    assert "Traceback" not in err


def test_demo_logins_on_the_demo_company_give_every_role_the_password_and_are_audited(
    demo_db: Engine,
) -> None:
    with session_scope(demo_db) as session:
        logins = demo.ensure_demo_logins(session, password="demo-pass-1")
    assert [login.role for login in logins] == [
        "admin",
        "director",
        "analyst",
        "ops_rep",
        "manager",
        "sales_rep",
    ]
    with session_scope(demo_db) as session:
        for login in logins:
            user = auth.authenticate(session, login.username, "demo-pass-1", ip=None)
            assert user.role == login.role
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.changes).where(
                AuditEntry.entity == "user"
            )
        ).all()
        via_demo = [e for e in entries if e.changes.get("via") == "demo-logins"]
        changed = {
            session.get(User, int(e.entity_id)).username  # type: ignore[union-attr]
            for e in via_demo
        }
        assert changed == {login.username for login in logins}
        assert all("password" in e.changes for e in via_demo)
        build = session.scalars(select(AuditEntry).where(AuditEntry.entity == "demo_company")).one()
        assert build.changes["opportunities"]["new"] == 150
    # A second run (every `make run`) changes nothing and records nothing.
    with session_scope(demo_db) as session:
        count = len(session.scalars(select(AuditEntry.id)).all())
        demo.ensure_demo_logins(session, password="demo-pass-1")
    with session_scope(demo_db) as session:
        assert len(session.scalars(select(AuditEntry.id)).all()) == count


def test_demo_logins_are_refused_once_real_data_was_imported_into_the_demo(
    demo_db: Engine,
) -> None:
    with session_scope(demo_db) as session:
        session.add(Account(name="Real Customer", source_system="salesforce", external_id="001"))
    with session_scope(demo_db) as session, pytest.raises(demo.NotTheDemoCompany) as refused:
        demo.ensure_demo_logins(session)
    assert "1 from salesforce" in str(refused.value)


def test_only_the_demo_generator_leaves_the_demo_mark(demo_db: Engine) -> None:
    with session_scope(demo_db) as session:
        build = session.scalars(select(DemoBuild)).one()
        assert (build.seed, build.end_date, build.opportunities) == (11, SPEC.end, 150)


def test_restoring_another_companys_export_into_the_demo_removes_the_mark(
    demo_db: Engine, engine: Engine, tmp_path: Path
) -> None:
    other = migrated_engine(scratch_url(engine.dialect.name, tmp_path, "other"))
    try:
        with session_scope(other) as session:
            stages.ensure_stages(session)
            export_database(session, tmp_path / "other-export")
    finally:
        other.dispose()
    with session_scope(demo_db) as session:
        run_import(session, "salesops", [tmp_path / "other-export"])
    with session_scope(demo_db) as session, pytest.raises(demo.NotTheDemoCompany):
        demo.ensure_demo_logins(session)
