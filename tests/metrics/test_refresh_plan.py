"""Which large tables the default engine keeps, appends to, patches or reads again."""

from __future__ import annotations

from salesops.metrics.refresh import plan

EVENTS_BEFORE = ("opportunity_events", "100")
OPPS_BEFORE = ("opportunities", "10", "10", "5000.00")
LEADS = ("leads", "3", "3")


def test_unchanged_tables_are_kept_and_a_grown_event_log_is_appended_to() -> None:
    steps = plan(
        (EVENTS_BEFORE, OPPS_BEFORE, LEADS),
        (("opportunity_events", "104"), ("opportunities", "11", "11", "5900.00"), LEADS),
    )
    assert steps == {"opportunity_events": "append", "opportunities": "patch", "leads": "keep"}


def test_a_shrunk_event_log_is_read_again_and_so_are_the_deals() -> None:
    steps = plan(
        (EVENTS_BEFORE, OPPS_BEFORE),
        (("opportunity_events", "90"), ("opportunities", "10", "10", "5100.00")),
    )
    assert steps == {"opportunity_events": "reload", "opportunities": "reload"}


def test_an_empty_earlier_copy_is_read_again_whole() -> None:
    steps = plan(
        (("opportunity_events", "None"), ("opportunities", "0", "None", "None")),
        (("opportunity_events", "7"), ("opportunities", "2", "2", "300.00")),
    )
    assert steps == {"opportunity_events": "reload", "opportunities": "reload"}


def test_a_table_the_earlier_copy_lacks_is_read_again() -> None:
    steps = plan((EVENTS_BEFORE,), (EVENTS_BEFORE, LEADS))
    assert steps == {"opportunity_events": "keep", "leads": "reload"}
