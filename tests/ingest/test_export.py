"""Export every table and import it back: the round trip must reproduce the database exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from salesops.auth import service as auth
from salesops.db import session_scope
from salesops.errors import PermissionDenied, ValidationFailed
from salesops.ingest import export_database, run_import
from salesops.ingest.export import DERIVED_TABLES
from salesops.models import Base, Lead
from salesops.pipeline import service
from tests.conftest import scratch_url
from tests.databases import migrated_engine
from tests.factories import T0, make_account, make_opportunity, make_rep, make_team


@pytest.fixture
def empty_engine(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty database of the same kind as `engine`."""
    target = migrated_engine(scratch_url(engine.dialect.name, tmp_path, "roundtrip"))
    yield target
    target.dispose()


def snapshot(session: Session) -> dict[str, list[dict[str, Any]]]:
    result = {}
    for table in Base.metadata.sorted_tables:
        order = list(table.primary_key.columns)
        rows = session.connection().execute(select(table).order_by(*order)).mappings()
        result[table.name] = [dict(r) for r in rows]
    return result


def populate(session: Session) -> None:
    team = make_team(session, name="EMEA")
    boss = make_rep(session, name="Boss")
    rep = make_rep(session, name="Zoë Ünal", manager=boss)
    parent = make_account(session, name="Parent Co")
    child = make_account(session, name='Child, "quoted"\nand multi-line')
    child.parent_id = parent.id
    team.manager_id = boss.id
    deal = make_opportunity(session, owner=rep, account=child, amount=Decimal("1234.56"))
    service.change_amount(session, deal, Decimal("99.99"), at=T0)
    won = make_opportunity(session, owner=boss, amount=0)
    service.close_opportunity(session, won, won=True, at=T0)
    session.add(Lead(first_name="Null", attributes={"score": 3, "tags": ["a", "b"]}, created_at=T0))
    session.flush()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_an_export_imported_into_an_empty_database_reproduces_it_exactly(
    session: Session, empty_engine: Engine, tmp_path: Path, fmt: str
) -> None:
    populate(session)
    manifest = export_database(session, tmp_path / "export", format=fmt, include_secrets=True)
    # Every table but the trained models and their scores (pickles: never exported).
    assert {t["table"] for t in manifest["tables"]} == set(Base.metadata.tables) - set(
        DERIVED_TABLES
    )
    rows = {t["table"]: t["rows"] for t in manifest["tables"]}
    assert rows["opportunities"] == 2
    assert rows["opportunity_events"] == 5  # 2 created, 1 amount, 1 stage, 1 forecast category
    with session_scope(empty_engine) as target:
        summary = run_import(target, "salesops", [tmp_path / "export"])
        assert summary.tables["opportunities"].inserted == 2
    with session_scope(empty_engine) as target:
        assert snapshot(target) == snapshot(session)
        again = run_import(target, "salesops", [tmp_path / "export"])
        assert again.changed == 0
        # new rows after a restore get fresh ids (sequences moved past the restored ones)
        extra = make_rep(target, name="After restore")
        assert extra.id > max(r["id"] for r in snapshot(session)["reps"])


def test_the_manifest_lists_rows_schema_and_a_checksum_per_table(
    session: Session, tmp_path: Path
) -> None:
    populate(session)
    export_database(session, tmp_path, format="csv")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    accounts = next(t for t in manifest["tables"] if t["table"] == "accounts")
    assert accounts["rows"] == 2
    assert len(accounts["sha256"]) == 64
    assert {"name": "annual_revenue", "type": "decimal128(18, 2)", "nullable": True} in accounts[
        "columns"
    ]


def test_a_tampered_export_is_refused_before_anything_is_written(
    session: Session, tmp_path: Path
) -> None:
    populate(session)
    export_database(session, tmp_path, format="csv")
    with (tmp_path / "reps.csv").open("a") as handle:
        handle.write("999,extra\n")
    with pytest.raises(ValidationFailed, match="checksum mismatch"):
        run_import(session, "salesops", [tmp_path])


def test_a_small_demo_company_survives_the_round_trip(
    engine: Engine, empty_engine: Engine, tmp_path: Path
) -> None:
    from salesops.demo.generator import DemoSpec
    from salesops.demo.loader import load_into_database
    from salesops.demo.params import REFERENCE_END

    source = migrated_engine(scratch_url(engine.dialect.name, tmp_path, "demo_source"))
    try:
        result = load_into_database(source, DemoSpec(opportunities=150, seed=11, end=REFERENCE_END))
        with session_scope(source) as session:
            manifest = export_database(session, tmp_path / "demo-export")
            before = snapshot(session)
        rows = {t["table"]: t["rows"] for t in manifest["tables"]}
        assert rows["opportunities"] == 150
        assert rows["opportunity_events"] == result.events
        with session_scope(empty_engine) as target:
            run_import(target, "salesops", [tmp_path / "demo-export"])
        with session_scope(empty_engine) as target:
            assert snapshot(target) == before
    finally:
        source.dispose()


def add_credentials(session: Session) -> dict[str, str]:
    """A user with a password, an API token, a browser session and sign-in attempts; returns
    the secrets as they are stored."""
    user = auth.create_user(session, "root", role="admin", password="right-password")
    token = auth.create_token(session, user, name="ci")
    opened = auth.open_session(session, user, ip="10.0.0.1")
    with pytest.raises(PermissionDenied):
        auth.authenticate(session, "root", "wrong-guess", ip="10.0.0.66")
    session.flush()
    return {
        "password_hash": str(user.password_hash),
        "token_hash": token.record.token_hash,
        "session_hash": opened.record.token_hash,
        "csrf_token": opened.record.csrf_token,
        "attacker_ip": "10.0.0.66",
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_data_export_leaves_credentials_out_and_the_manifest_says_so(
    session: Session, tmp_path: Path, fmt: str
) -> None:
    populate(session)
    secrets = add_credentials(session)
    manifest = export_database(session, tmp_path, format=fmt)
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for name, secret in secrets.items():
        assert secret.encode() not in written, f"{name} leaked into the export"
    assert {p.stem for p in tmp_path.iterdir()} == (
        set(Base.metadata.tables)
        - {"api_tokens", "web_sessions", "login_attempts"}
        - set(DERIVED_TABLES)
    ) | {"manifest"}
    assert manifest["includes_secrets"] is False
    assert manifest["left_out"]["tables"] == ["api_tokens", "web_sessions", "login_attempts"]
    assert manifest["left_out"]["columns"] == {"users": ["password_hash"]}
    users = next(t for t in manifest["tables"] if t["table"] == "users")
    assert users["rows"] == 1
    assert "password_hash" not in [c["name"] for c in users["columns"]]
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk["left_out"] == manifest["left_out"]


def test_an_export_without_secrets_restores_everything_else_and_keeps_existing_passwords(
    session: Session, empty_engine: Engine, tmp_path: Path
) -> None:
    populate(session)
    add_credentials(session)
    export_database(session, tmp_path / "export", format="csv")
    source = snapshot(session)
    with session_scope(empty_engine) as target:
        run_import(target, "salesops", [tmp_path / "export"])
    with session_scope(empty_engine) as target:
        restored = snapshot(target)
        for name in ("api_tokens", "web_sessions", "login_attempts"):
            assert restored[name] == []
        assert [u["password_hash"] for u in restored["users"]] == [None]
        assert [{**u, "password_hash": None} for u in source["users"]] == restored["users"]
        for name, rows in source.items():
            if name not in ("users", "api_tokens", "web_sessions", "login_attempts"):
                assert restored[name] == rows, name
    # Restored over the database it came from: nothing changes, passwords stay.
    again = run_import(session, "salesops", [tmp_path / "export"])
    assert again.changed == 0
    assert auth.authenticate(session, "root", "right-password", ip=None)


def test_a_full_backup_keeps_the_credentials(session: Session, tmp_path: Path) -> None:
    populate(session)
    secrets = add_credentials(session)
    manifest = export_database(session, tmp_path, format="csv", include_secrets=True)
    assert manifest["includes_secrets"] is True
    assert manifest["left_out"] == {"tables": [], "columns": {}}
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secrets["password_hash"].encode() in written
    assert secrets["token_hash"].encode() in written
