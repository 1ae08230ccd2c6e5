"""Exchange rates are an import target: once a currency's rates are loaded, rows in it are
accepted (before, `load its rates first` named something no import or command could do)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.ingest import run_import
from salesops.models import FxRate, Opportunity

MAPPING = """\
version: 1
source_system: fx-test
as_of: 2025-04-30T18:00:00Z
files:
  - match: rates.csv
    outputs:
      - target: fx_rates
        fields: {currency: ccy, rate_date: day, rate: usd}
  - match: reps.csv
    outputs:
      - target: reps
        key: rep_id
        fields: {name: full_name}
  - match: deals.csv
    outputs:
      - target: opportunities
        key: deal_no
        fields:
          name: title
          owner: rep
          stage: {value: Prospecting}
          amount: value
          currency: ccy
          close_date: close
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rates_imported_first_let_rows_in_that_currency_in(
    session: Session, tmp_path: Path
) -> None:
    mapping = _write(tmp_path, "m.yaml", MAPPING)
    reps = _write(tmp_path, "reps.csv", "rep_id,full_name\nR1,Ann\n")
    deals = _write(
        tmp_path, "deals.csv", "deal_no,title,rep,value,ccy,close\n1,A,R1,100,EUR,2025-06-30\n"
    )
    refused = run_import(
        session, "csv", [reps, deals], mapping=mapping, rejects=tmp_path / "r1.csv"
    )
    assert refused.tables["opportunities"].rejected == 1
    assert "no exchange rate for 'EUR'" in (tmp_path / "r1.csv").read_text()

    rates = _write(tmp_path, "rates.csv", "ccy,day,usd\nEUR,2025-01-01,1.08\nEUR,2025-02-01,1.1\n")
    loaded = run_import(session, "csv", [rates], mapping=mapping, rejects=tmp_path / "r2.csv")
    assert (loaded.tables["fx_rates"].read, loaded.tables["fx_rates"].inserted) == (2, 2)
    assert sorted(session.scalars(select(FxRate.rate))) == [Decimal("1.08"), Decimal("1.1")]

    accepted = run_import(session, "csv", [reps, deals], mapping=mapping)
    assert accepted.tables["opportunities"].inserted == 1
    (deal,) = session.scalars(select(Opportunity))
    assert (deal.currency, deal.amount) == ("EUR", Decimal("100.00"))
