"""`salesops metrics query --format csv` writes no spreadsheet formula: a rep named like one is
quoted, numbers (a negative change) stay numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from salesops.cli.main import app
from salesops.models import Rep
from salesops.pipeline import stages
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.metrics.scenario import build


def test_query_csv_quotes_formula_text_and_leaves_negative_numbers(tmp_path: Path) -> None:
    url = fresh_sqlite_url(tmp_path, "csv_safety")
    engine = migrated_engine(url)
    with Session(engine) as session:
        stages.ensure_stages(session)
        build(session)
        ann = session.scalars(select(Rep).where(Rep.name == "Ann Seller")).one()
        ann.name = '=HYPERLINK("http://evil","x")'
        session.commit()
    engine.dispose()

    def run(*args: str) -> list[list[str]]:
        result = CliRunner().invoke(app, ["--database-url", url, "metrics", "query", *args])
        assert result.exit_code == 0, result.output
        return list(csv.reader(io.StringIO(result.output)))

    by_owner = run("win_rate", "--by", "owner", "--format", "csv")
    assert by_owner[1] == ['\'=HYPERLINK("http://evil","x")', "0.6666666666666666"]
    # February's bookings 600 against January's 2,500: the delta is a number, not quoted.
    compared = run(
        "bookings", "--grain", "month", "--from", "2025-02-01", "--to", "2025-02-28",
        "--compare", "previous", "--format", "csv",
    )  # fmt: skip
    assert compared[1][:4] == ["2025-02-01", "600.0", "2500.0", "-1900.0"]
