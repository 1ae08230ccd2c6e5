"""Deal-scoring features use only what was known at the scoring date (no lifecycle leakage)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from salesops.forecasting.frames import History, normalise
from salesops.forecasting.snapshot import prepare, to_ns
from salesops.learning import FeatureSpec, Params, evaluate
from salesops.scoring.features import (
    LIFECYCLE_NUMERIC,
    DealData,
    features_at,
    mode_of,
    spec_for,
    track_record,
    training_rows,
)

STAGES = pd.DataFrame(
    {
        "name": ["Prospecting", "Proposal", "Closed Won", "Closed Lost"],
        "sort_order": [1, 2, 3, 4],
        "category": ["open", "open", "won", "lost"],
        "default_probability": [0.1, 0.5, 1.0, 0.0],
    }
)
START = datetime(2024, 1, 1)


class Builder:
    """A tiny CRM: deals created, moved, closed, with every change recorded as an event."""

    def __init__(self) -> None:
        self.opps: list[dict[str, object]] = []
        self.events: list[dict[str, object]] = []

    def event(self, opp: int, field: str, old: object, new: object, at: datetime) -> None:
        self.events.append(
            {
                "id": len(self.events) + 1,
                "opportunity_id": opp,
                "field": field,
                "old_value": None if old is None else str(old),
                "new_value": None if new is None else str(new),
                "at": at,
            }
        )

    def deal(
        self,
        *,
        owner: int,
        created: datetime,
        closed: datetime | None,
        won: bool,
        amount: float = 1000.0,
        final_amount: float | None = None,
        changes_at_close: int = 0,
        record_close: bool = True,
    ) -> int:
        opp = len(self.opps) + 1
        stage = "Prospecting" if closed is None else ("Closed Won" if won else "Closed Lost")
        final = amount if final_amount is None else final_amount
        self.opps.append(
            {
                "id": opp,
                "owner_id": owner,
                "team_id": None,
                "account_id": 100 + owner,
                "segment": "smb",
                "type": "new",
                "lead_source": "web",
                "stage": stage,
                "amount": final,
                "currency": "USD",
                "close_date": (created + timedelta(days=60)).date(),
                "forecast_category": "pipeline",
                "created_at": created,
                "closed_at": closed,
            }
        )
        if closed is not None and record_close:
            current = amount
            # Lifecycle noise that only happens as the deal closes: it must never be seen
            # by a row scored before the close.
            for k in range(changes_at_close):
                self.event(opp, "amount", current, current + 1 + k, closed)
                current = current + 1 + k
            if final != current:
                self.event(opp, "amount", current, final, closed)
            self.event(opp, "stage", "Prospecting", stage, closed)
        return opp

    def data(self, static: pd.DataFrame | None = None) -> DealData:
        history = normalise(
            History(pd.DataFrame(self.opps), pd.DataFrame(self.events), STAGES.copy())
        )
        ids = [o["id"] for o in self.opps]
        if static is None:
            static = pd.DataFrame(
                {
                    "id": ids,
                    "product": "P",
                    "industry": None,
                    "country": None,
                    "region": None,
                    "employees": None,
                    "annual_revenue": None,
                }
            )
        return DealData(prepare(history), static)


def test_features_at_a_date_ignore_everything_that_happened_after_it() -> None:
    t = START + timedelta(days=40)
    rows = []
    for outcome in ("won", "lost"):
        crm = Builder()
        # The same deal up to T; after T it is won after 5 amount changes, or lost at 0.
        won = outcome == "won"
        crm.deal(
            owner=1,
            created=START,
            closed=START + timedelta(days=70),
            won=won,
            final_amount=1200.0 if won else 0.0,
            changes_at_close=5 if won else 0,
        )
        rows.append(features_at(crm.data(), to_ns(t), "history"))
    won_row, lost_row = rows
    spec = spec_for(Builder().data(), "history")
    pd.testing.assert_frame_equal(
        won_row[list(spec.names)].reset_index(drop=True),
        lost_row[list(spec.names)].reset_index(drop=True),
    )
    assert won_row["amount_changes"].iloc[0] == 0
    assert won_row["log_amount"].iloc[0] == pytest.approx(np.log1p(1000.0))
    assert won_row["age_days"].iloc[0] == pytest.approx(40.0)


def leaky_world(n: int = 80) -> Builder:
    """Deals whose only difference is what happens at the close: winners get four amount
    changes then, losers none. Nothing known before the close predicts the outcome."""
    rng = np.random.default_rng(3)
    crm = Builder()
    for i in range(n):
        created = START + timedelta(days=int(rng.integers(0, 200)))
        won = bool(rng.random() < 0.5)
        closed = created + timedelta(days=int(rng.integers(20, 90)))
        crm.deal(
            owner=int(rng.integers(1, 4)),
            created=created,
            closed=closed,
            won=won,
            changes_at_close=4 if won else 0,
        )
        del i
    return crm


def test_a_signal_only_complete_after_the_close_does_not_reach_the_model() -> None:
    data = leaky_world().data()
    assert mode_of(data.prep) == "history"
    rows = training_rows(data, "history")
    assert (rows.frame["amount_changes"] == 0).all()
    spec = spec_for(data, "history")
    params = Params(max_iter=30, min_samples_leaf=5)
    honest = evaluate(
        rows.frame, rows.labels, spec, params=params, groups=rows.frame["id"].to_numpy()
    )
    assert honest.model.auc is not None
    assert honest.model.auc < 0.7
    # The same rows with the lifetime total (complete only after the close) as a feature:
    # the outcome is given away, which is what the test above would catch.
    total = pd.Series(
        data.history.events.groupby("opportunity_id")["field"].apply(
            lambda f: int((f == "amount").sum())
        )
    )
    leaky = rows.frame.assign(total_changes=rows.frame["id"].map(total).fillna(0))
    leaky_spec = FeatureSpec(numeric=(*spec.numeric, "total_changes"), categorical=spec.categorical)
    cheat = evaluate(leaky, rows.labels, leaky_spec, params=params, groups=leaky["id"].to_numpy())
    assert cheat.model.auc is not None
    assert cheat.model.auc > 0.95


def test_without_recorded_closes_deals_are_read_as_created() -> None:
    crm = Builder()
    for i in range(30):
        won = i % 2 == 0
        crm.deal(
            owner=1 + i % 3,
            created=START + timedelta(days=i),
            closed=START + timedelta(days=i + 30),
            won=won,
            # A lost deal's amount is zeroed at the close (as in Maven): the final amount
            # would give the outcome away, the amount it was created with does not.
            final_amount=1000.0 if won else 0.0,
            record_close=False,
        )
        crm.event(len(crm.opps), "amount", 1000.0, 1000.0 if won else 0.0, START)
    data = crm.data()
    assert mode_of(data.prep) == "final-state"
    rows = training_rows(data, "final-state")
    assert rows.deals == 30
    assert rows.frame["log_amount"].nunique() == 1
    spec = spec_for(data, "final-state")
    assert not set(LIFECYCLE_NUMERIC) & set(spec.names)
    assert "stage" not in spec.names


def test_track_record_counts_only_deals_closed_strictly_before() -> None:
    closed = pd.DataFrame(
        {
            "owner_id": [1, 1, 1, 2],
            "closed_at": pd.to_datetime(["2024-01-10", "2024-02-10", "2024-03-10", "2024-01-01"]),
            "won": [True, False, True, True],
        }
    )
    at = pd.to_datetime(["2024-02-10", "2024-03-11", "2024-01-01", "2023-12-31"]).to_numpy()
    won, count = track_record(np.array([1, 1, 2, 2]), at, closed, "owner_id")
    # The close on 2024-02-10 itself is not yet known at 2024-02-10.
    assert count.tolist() == [1.0, 3.0, 0.0, 0.0]
    assert won.tolist() == [1.0, 2.0, 0.0, 0.0]


def test_custom_attributes_become_typed_features() -> None:
    crm = Builder()
    for i in range(4):
        crm.deal(owner=1, created=START, closed=START + timedelta(days=9), won=i < 2)
    static = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "product": "P",
            "industry": None,
            "country": None,
            "region": None,
            "employees": None,
            "annual_revenue": None,
            "attr:client_size": ["Large", "Small", "Large", None],
            "attr:seats": [10, 25.5, 3, None],
            "account:tier": ["gold", "gold", "gold", "gold"],  # one value: says nothing
        }
    )
    spec = spec_for(crm.data(static), "history")
    assert "attr:client_size" in spec.categorical
    assert "attr:seats" in spec.numeric
    assert "account:tier" not in spec.names
