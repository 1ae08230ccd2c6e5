"""The exit-criteria core on hand-built deals: which stages a move leaves, what is missing."""

from __future__ import annotations

from salesops.playbooks.criteria import DealFacts, check_move, missing_for, stages_left
from salesops.playbooks.definition import ActivityRule, ChecklistItem, Playbook, StagePlay

ORDER = [
    ("Qualification", "open"),
    ("Discovery", "open"),
    ("Proposal", "open"),
    ("Closed Won", "won"),
    ("Closed Lost", "lost"),
]
PLAYBOOK = Playbook(
    methodology="T",
    revision=1,
    stages=(
        StagePlay(
            "Qualification",
            fields=("amount", "next_step"),
            checklist=(ChecklistItem("champion", "Champion found"),),
        ),
        StagePlay(
            "Discovery",
            checklist=(ChecklistItem("economic_buyer", "Economic buyer met"),),
            activities=(ActivityRule("meeting", 2),),
            enforcement="block",
        ),
    ),
)


def test_moving_forward_leaves_the_current_stage_and_every_skipped_open_stage() -> None:
    assert stages_left(ORDER, "Qualification", "Discovery") == ("Qualification",)
    assert stages_left(ORDER, "Qualification", "Proposal") == ("Qualification", "Discovery")
    assert stages_left(ORDER, "Discovery", "Closed Won") == ("Discovery", "Proposal")


def test_moving_back_to_lost_or_from_a_closed_stage_leaves_nothing_to_check() -> None:
    assert stages_left(ORDER, "Proposal", "Qualification") == ()
    assert stages_left(ORDER, "Qualification", "Closed Lost") == ()
    assert stages_left(ORDER, "Closed Won", "Proposal") == ()
    assert stages_left(ORDER, "Nowhere", "Proposal") == ()


def test_missing_items_are_named_in_the_playbooks_order() -> None:
    facts = DealFacts(filled=frozenset({"amount"}), activities={"meeting": 1})
    missing = missing_for(PLAYBOOK.stages[0], facts)
    assert [(m.kind, m.key) for m in missing] == [("field", "next_step"), ("checklist", "champion")]
    missing = missing_for(PLAYBOOK.stages[1], facts)
    assert [str(m) for m in missing] == [
        "Discovery: Economic buyer met",
        "Discovery: 2 meeting(s) logged (has 1)",
    ]


def test_a_warn_stage_with_gaps_warns_and_a_block_stage_with_gaps_blocks() -> None:
    facts = DealFacts(filled=frozenset({"amount"}))
    warned = check_move(PLAYBOOK, ORDER, "Qualification", "Discovery", facts)
    assert not warned.blocked
    assert len(warned.missing) == 2
    blocked = check_move(PLAYBOOK, ORDER, "Qualification", "Proposal", facts)
    assert blocked.blocked
    assert len(blocked.missing) == 4


def test_a_deal_that_meets_every_criterion_moves_without_remark() -> None:
    facts = DealFacts(
        filled=frozenset({"amount", "next_step"}),
        checked=frozenset({"champion", "economic_buyer"}),
        activities={"meeting": 2},
    )
    verdict = check_move(PLAYBOOK, ORDER, "Qualification", "Closed Won", facts)
    assert verdict.ok
    assert not verdict.blocked
    assert verdict.checked_stages == ("Qualification", "Discovery", "Proposal")
