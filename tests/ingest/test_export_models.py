"""Trained models never leave in an export nor come back from a file (they are pickles)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from salesops.errors import ValidationFailed
from salesops.ingest import export_database, run_import
from salesops.models import TrainedModel


def test_models_and_their_scores_are_left_out_and_refused_back(
    session: Session, tmp_path: Path
) -> None:
    session.add(
        TrainedModel(
            name="deal_win", version=1, algorithm="test", as_of=datetime(2025, 1, 1, tzinfo=UTC),
            fingerprint="0" * 64, blob=b"not a model", checksum="0" * 64,
        )
    )  # fmt: skip
    session.flush()
    manifest = export_database(session, tmp_path, format="csv")
    assert manifest["derived_left_out"] == ["trained_models", "deal_scores"]
    assert not {"trained_models", "deal_scores"} & {t["table"] for t in manifest["tables"]}
    assert not (tmp_path / "trained_models.csv").exists()

    # A hand-made export that carries a model is refused before anything is written.
    (tmp_path / "trained_models.csv").write_text("id\n1\n", encoding="utf-8")
    data = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    data["tables"].append(
        {"table": "trained_models", "file": "trained_models.csv", "rows": 1, "columns": []}
    )
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        run_import(session, "salesops", [tmp_path])
    assert any("never restored from a file" in p.message for p in caught.value.problems)
