"""Trained models stored in the database: versions, fingerprint, checksum."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy.orm import Session

from salesops.errors import NotFound, ValidationFailed
from salesops.learning import fingerprint, fit, latest, load, loads, save
from tests.learning.test_model import PARAMS, SPEC, synthetic

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def test_models_are_versioned_and_load_back_predicting_the_same(session: Session) -> None:
    frame, y = synthetic(200)
    model = fit(frame, y, SPEC, params=PARAMS)
    assert model is not None
    print_ = fingerprint(frame, y)
    first = save(session, "test_model", model, as_of=AS_OF, fingerprint=print_)
    second = save(session, "test_model", model, as_of=AS_OF, fingerprint=print_)
    assert (first.version, second.version) == (1, 2)
    row = latest(session, "test_model")
    assert row.id == second.id
    assert row.params["max_iter"] == 40
    assert row.features == {"numeric": ["x", "noise"], "categorical": ["colour"]}
    np.testing.assert_allclose(load(row).predict(frame), model.predict(frame))
    assert latest(session, "test_model", version=1).id == first.id
    with pytest.raises(NotFound):
        latest(session, "no_such_model")


def test_a_damaged_blob_is_refused() -> None:
    frame, y = synthetic(200)
    model = fit(frame, y, SPEC, params=PARAMS)
    assert model is not None
    from salesops.learning import dumps

    blob, checksum = dumps(model)
    with pytest.raises(ValidationFailed, match="checksum"):
        loads(blob[:-1] + b"x", checksum)


def test_the_fingerprint_changes_with_any_value_or_label() -> None:
    frame, y = synthetic(50)
    base = fingerprint(frame, y)
    assert fingerprint(frame.copy(), y.copy()) == base
    changed = frame.copy()
    changed.loc[3, "x"] = 99.0
    assert fingerprint(changed, y) != base
    flipped = y.copy()
    flipped[0] = 1 - flipped[0]
    assert fingerprint(frame, flipped) != base
