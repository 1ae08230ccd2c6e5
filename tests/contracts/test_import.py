"""Contracts and their line items through `salesops import` (CSV with a mapping)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.ingest import run_import
from salesops.models import Contract, ContractLineItem
from tests.ingest.conftest import write

MAPPING = """
version: 1
source_system: erp
files:
  - match: accounts.csv
    outputs:
      - target: accounts
        key: id
        fields: {name: name}
  - match: products.csv
    outputs:
      - target: products
        key: id
        fields: {name: name}
  - match: contracts.csv
    outputs:
      - target: contracts
        key: id
        fields:
          account: account
          status: status
          start_date: start
          end_date: end
          term_months: months
          value: value
          notice_days: notice
  - match: lines.csv
    outputs:
      - target: contract_line_items
        fields:
          contract: contract
          product: product
          quantity: qty
          list_price: price
          discount: discount
          start_date: start
          end_date: end
"""


def _files(tmp_path: Path, lines: str) -> tuple[Path, list[Path]]:
    mapping = write(tmp_path / "mapping.yaml", MAPPING)
    return mapping, [
        write(tmp_path / "accounts.csv", "id,name\na1,Acme\n"),
        write(tmp_path / "products.csv", "id,name\np1,Seats\np2,Support\n"),
        write(
            tmp_path / "contracts.csv",
            "id,account,status,start,end,months,value,notice\n"
            "c1,a1,active,2026-01-01,2026-12-31,12,9500,30\n",
        ),
        write(tmp_path / "lines.csv", lines),
    ]


LINES = """\
contract,product,qty,price,discount,start,end
c1,p1,10,1200,0.25,2026-01-01,2026-12-31
c1,p2,5,100,0,2026-01-01,2026-12-31
"""


def test_contracts_and_line_items_import_and_reimport_without_duplicates(
    session: Session, tmp_path: Path
) -> None:
    mapping, files = _files(tmp_path, LINES)
    summary = run_import(session, "csv", files, mapping=mapping)
    assert summary.rejected == 0
    assert summary.tables["contract_line_items"].inserted == 2
    contract = session.scalars(select(Contract).where(Contract.external_id == "c1")).one()
    assert (contract.status, contract.notice_days, contract.value) == (
        "active",
        30,
        Decimal("9500.00"),
    )
    lines = session.scalars(
        select(ContractLineItem)
        .where(ContractLineItem.contract_id == contract.id)
        .order_by(ContractLineItem.quantity)
    ).all()
    assert [(ln.quantity, ln.list_price, ln.discount) for ln in lines] == [
        (5, Decimal("100.00"), Decimal("0.0000")),
        (10, Decimal("1200.00"), Decimal("0.2500")),
    ]
    assert lines[0].start_date == date(2026, 1, 1)
    again = run_import(session, "csv", files, mapping=mapping)
    assert again.tables["contract_line_items"].unchanged == 2
    changed = LINES.replace("c1,p2,5,100", "c1,p2,7,100")
    write(files[3], changed)
    third = run_import(session, "csv", files, mapping=mapping)
    assert third.tables["contract_line_items"].updated == 1
