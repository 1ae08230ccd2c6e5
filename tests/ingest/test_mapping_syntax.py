"""The mapping syntax of joins, conditions, constant keys and the default owner.

Bad syntax is reported before anything runs, every problem at once, each with its location.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.errors import ValidationFailed
from salesops.ingest import run_import
from salesops.ingest.mapping import load_mapping, parse_mapping
from salesops.ingest.records import getter
from salesops.models import Opportunity, Rep
from tests.ingest.conftest import write

AS_OF = datetime(2025, 4, 30, tzinfo=UTC)


def deals_output(fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "source_system": "x",
        "files": [
            {
                "match": "deals.csv",
                "outputs": [{"target": "opportunities", "key": "id", "fields": fields, **extra}],
            }
        ],
    }


def problems(data: dict[str, Any]) -> set[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as failure:
        parse_mapping(data, name="m.yaml")
    return {(p.location or "", p.message) for p in failure.value.problems}


def test_bad_conditions_are_all_reported_with_their_field_and_position() -> None:
    found = problems(
        deals_output(
            {
                "name": "title",
                "stage": {"if_present": "won", "else": "Prospecting"},
                "amount": {"cases": [{"if": {"column": "v", "bigger": 3}, "then": "1"}]},
                "close_date": {
                    "cases": [
                        {"if": [{"column": "a", "present": True}, {"column": "b"}], "then": "x"},
                        {"if": {"column": "c", "matches": "(["}, "then": {"col": "c"}},
                    ]
                },
                "probability": {"column": "p", "else": "0"},
                "next_step": {"if_empty": "d", "cases": [], "then": "x"},
            }
        )
    )
    where = "m.yaml: files[0].outputs[0].fields"
    locations = {loc for loc, _ in found}
    assert (f"{where}.stage", "`if_present` needs `then` (and optionally `else`)") in found
    assert f"{where}.amount.cases[0].if" in locations  # unknown test 'bigger'
    assert f"{where}.close_date.cases[0].if[1]" in locations  # a condition without a test
    assert f"{where}.close_date.cases[1].if.matches" in locations  # bad regular expression
    assert f"{where}.close_date.cases[1].then" in locations  # unknown key 'col'
    assert (
        f"{where}.probability",
        "`then` and `else` belong to if_present, if_empty or cases",
    ) in found
    assert (f"{where}.next_step", "give either `cases` or `if_empty`, not both") in found
    assert len(found) >= 8


def test_bad_joins_keys_owner_and_options_are_all_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.yaml",
        """\
        source_system: x
        default_owner: {nickname: Ana}
        files:
          - match: deals.csv
            join:
              - {match: won.csv, as: "won deals", duplicates: maybe}
              - {on: id}
            outputs:
              - target: opportunities
                key: {value: "{id}"}
                impossible_dates: ignore
                fields:
                  name: title
                  stage: Stage
                  owner: {column: rep, missing: nobody}
                  account: {column: acct, missing: default}
              - target: accounts
                key: {value: "   "}
                fields: {name: n}
        """,
    )
    with pytest.raises(ValidationFailed) as failure:
        load_mapping(path)
    # (without the line numbers a loaded file's locations may carry: `m.yaml:12: files[0]`)
    located = [
        (re.sub(r"^m\.yaml:\d+:", "m.yaml:", p.location), p.message) for p in failure.value.problems
    ]
    found = {(loc, message.split(" (")[0]) for loc, message in located}
    found |= set(located)
    out = "m.yaml: files[0].outputs[0]"
    # (the unknown key is located at its parent, or at itself where the checker does that)
    assert any(
        loc.startswith("m.yaml: default_owner") and message == "unknown key 'nickname'"
        for loc, message in found
    )
    assert ("m.yaml: default_owner", "give at least `key` or `name`") in found
    assert ("m.yaml: files[0].join[0].on", "required: the key column") in found
    assert ("m.yaml: files[0].join[0].as", "expected a short name") in found
    assert ("m.yaml: files[0].join[0].duplicates", "expected one of error, first, last") in found
    assert ("m.yaml: files[0].join[1].match", "required: the joined file's name pattern") in found
    assert (f"{out}.key.value", "a constant id cannot hold { or }: use a template instead") in found
    assert (f"{out}.impossible_dates", "expected reject or keep") in found
    assert (f"{out}.fields.owner.missing", "expected reject, null or default") in found
    assert (
        f"{out}.fields.account.missing",
        "`default` (the default owner) is for reps only",
    ) in found
    assert ("m.yaml: files[0].outputs[1].key.value", "expected the constant id as text") in found


def test_conditions_choose_the_first_case_that_holds_and_ignore_case() -> None:
    mapping = parse_mapping(
        deals_output(
            {
                "name": "title",
                "stage": {
                    "cases": [
                        {
                            "if": {"column": "status", "equals": ["won", "signed"]},
                            "then": "Closed Won",
                        },
                        {
                            "if": [
                                {"column": "status", "not_equals": "lost"},
                                {"column": "demo", "present": True},
                            ],
                            "then": {"template": "Stage {demo}"},
                        },
                        {"if": {"column": "status", "matches": "^lost"}, "then": "Closed Lost"},
                    ],
                    "else": {"column": "status"},
                },
            }
        )
    )
    spec = mapping.files[0].outputs[0].fields["stage"]
    get = getter(spec, {"status": 0, "demo": 1}, "deals.csv")
    assert get([" WON ", ""], 2) == "Closed Won"
    assert get(["Signed", "x"], 2) == "Closed Won"
    assert get(["open", "2"], 2) == "Stage 2"
    assert get(["lost - price", ""], 2) == "Closed Lost"
    assert get(["open", ""], 2) == "open"
    assert mapping.stage_names() >= {"Closed Won", "Closed Lost"}


def test_constant_keys_and_fields_need_no_column(session: Session, tmp_path: Path) -> None:
    mapping = write(
        tmp_path / "m.yaml",
        """\
        source_system: shop
        files:
          - match: orders.csv
            outputs:
              - target: reps
                key: {value: webshop}
                duplicates: merge
                fields: {name: {value: Web shop}}
              - target: opportunities
                key: order
                fields:
                  name: {template: "Order {order}"}
                  owner: {value: webshop}
                  stage: {value: Closed Won}
                  close_date: date
                  created_at: date
        """,
    )
    orders = write(tmp_path / "orders.csv", "order,date\n1,2025-01-05\n2,2025-02-07\n")
    summary = run_import(session, "csv", [orders], mapping=mapping, as_of=AS_OF)
    assert (summary.tables["reps"].inserted, summary.tables["reps"].skipped) == (1, 1)
    rep = session.scalars(select(Rep)).one()
    assert (rep.external_id, rep.name) == ("webshop", "Web shop")
    deals = session.scalars(select(Opportunity)).all()
    assert {(d.name, d.owner_id, d.stage.name) for d in deals} == {
        ("Order 1", rep.id, "Closed Won"),
        ("Order 2", rep.id, "Closed Won"),
    }
