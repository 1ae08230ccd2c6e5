"""Each hygiene flag on hand-built deals, the won-deal percentile and the rep score."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from salesops.playbooks.hygiene import (
    FLAGS,
    AmountChange,
    DealFlags,
    DealRecord,
    Thresholds,
    flags_of,
    percentile,
    rep_scores,
    stage_durations,
    stage_limits,
)

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)


def clean(**changes: object) -> DealRecord:
    """A deal that raises no flag; each test breaks one thing."""
    values: dict[str, object] = {
        "id": 1,
        "owner_id": 7,
        "stage": "Proposal",
        "close_date": date(2025, 8, 31),
        "next_step": "Call the CFO",
        "created_at": NOW - timedelta(days=60),
        "stage_entered_at": NOW - timedelta(days=10),
        "last_activity_at": NOW - timedelta(days=3),
        "contacts": 3,
    }
    values.update(changes)
    return DealRecord(**values)  # type: ignore[arg-type]


LIMITS = {"Proposal": 20.0}


def codes(deal: DealRecord, thresholds: Thresholds = Thresholds()) -> list[str]:
    return [f.code for f in flags_of(deal, now=NOW, limits=LIMITS, thresholds=thresholds)]


def test_a_clean_deal_raises_no_flag() -> None:
    assert codes(clean()) == []


def test_no_next_step() -> None:
    assert codes(clean(next_step=None)) == ["no_next_step"]
    assert codes(clean(next_step="   ")) == ["no_next_step"]


def test_close_date_in_the_past_but_not_today() -> None:
    assert codes(clean(close_date=date(2025, 6, 29))) == ["past_close_date"]
    assert codes(clean(close_date=date(2025, 6, 30))) == []


def test_no_activity_for_the_stale_days() -> None:
    assert codes(clean(last_activity_at=NOW - timedelta(days=14))) == ["stale"]
    assert codes(clean(last_activity_at=NOW - timedelta(days=13, hours=23))) == []
    # No activity at all: counted from creation.
    assert codes(clean(last_activity_at=None)) == ["stale"]
    fresh = clean(last_activity_at=None, created_at=NOW - timedelta(days=2))
    assert codes(fresh) == []
    assert codes(clean(last_activity_at=NOW - timedelta(days=8)), Thresholds(stale_days=7)) == [
        "stale"
    ]


def test_time_in_stage_beyond_the_won_deals_limit() -> None:
    assert codes(clean(stage_entered_at=NOW - timedelta(days=21))) == ["stuck_in_stage"]
    assert codes(clean(stage_entered_at=NOW - timedelta(days=19))) == []
    # A stage without enough won deals to know has no limit.
    assert codes(clean(stage="Discovery", stage_entered_at=NOW - timedelta(days=400))) == []


def test_amount_changed_late() -> None:
    late = AmountChange(datetime(2025, 8, 20, tzinfo=UTC), Decimal(100), Decimal(60))
    assert codes(clean(amount_changes=(late,))) == ["late_amount_change"]
    small = AmountChange(datetime(2025, 8, 20, tzinfo=UTC), Decimal(100), Decimal(85))
    early = AmountChange(datetime(2025, 8, 1, tzinfo=UTC), Decimal(100), Decimal(60))
    assert codes(clean(amount_changes=(small, early))) == []
    (flag,) = flags_of(clean(amount_changes=(late,)), now=NOW, limits=LIMITS)
    assert flag.detail == "100 -> 60 on 2025-08-20, 11 days before the close date"


def test_missing_exit_criteria() -> None:
    (flag,) = flags_of(clean(missing_exit=("Economic buyer met",)), now=NOW, limits=LIMITS)
    assert (flag.code, flag.detail, flag.label) == (
        "missing_exit_criteria",
        "Economic buyer met",
        "exit criteria of passed stages not met",
    )


def test_single_threaded_is_one_contact_or_none() -> None:
    assert codes(clean(contacts=1)) == ["single_threaded"]
    assert codes(clean(contacts=0)) == ["single_threaded"]
    assert codes(clean(contacts=2)) == []


def test_the_percentile_interpolates_between_ranks() -> None:
    assert percentile([1, 2, 3, 4], 0.9) == 3.7
    assert percentile([10, 0, 5, 20, 15], 0.9) == 18.0  # rank 3.6 between 15 and 20
    assert percentile([4], 0.9) == 4


def test_won_deal_durations_give_per_stage_limits_only_with_enough_deals() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    deals = [
        [(t0, "Proposal"), (t0 + timedelta(days=d), "Closed Won")] for d in (10, 20, 30, 40, 50)
    ]
    deals.append([(t0, "Discovery"), (t0 + timedelta(days=3), "Closed Won")])
    durations = stage_durations(deals)
    assert durations == {"Proposal": [10, 20, 30, 40, 50], "Discovery": [3]}
    assert stage_limits(durations) == {"Proposal": 46.0}  # rank 3.6: 40 + 0.6 * 10


def test_the_rep_score_is_the_share_of_checks_passed() -> None:
    deals = [
        DealFlags(clean(id=1), ()),
        DealFlags(
            clean(id=2), tuple(flags_of(clean(next_step=None, contacts=1), now=NOW, limits={}))
        ),
        DealFlags(clean(id=3, owner_id=8), ()),
    ]
    rep7, rep8 = rep_scores(deals)
    assert (rep7.open_deals, rep7.flagged_deals) == (2, 1)
    assert rep7.flag_counts == {"no_next_step": 1, "single_threaded": 1}
    # 2 flags over 2 deals x 7 checks: 1 - 2/14
    assert rep7.score == Decimal("0.8571")
    assert rep8.score == Decimal(1)
    assert len(FLAGS) == 7
