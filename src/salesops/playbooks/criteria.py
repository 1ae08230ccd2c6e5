"""Exit criteria, the pure part: which items a deal still lacks to leave its stage.

No database here: the service gathers a deal's facts (`DealFacts`) and the stage order, this
module says what is missing and whether the playbook blocks the move or only warns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from salesops.playbooks.definition import REQUIRABLE_FIELDS, Playbook, StagePlay


@dataclass(frozen=True)
class DealFacts:
    """What the criteria look at: which fields are filled, which checklist items are ticked,
    how many activities of each kind the deal has."""

    filled: frozenset[str] = frozenset()
    checked: frozenset[str] = frozenset()
    activities: Mapping[str, int] | None = None

    def count(self, kind: str) -> int:
        return (self.activities or {}).get(kind, 0)


@dataclass(frozen=True)
class Missing:
    """One unmet exit criterion of one stage."""

    stage: str
    kind: str  # field, checklist or activity
    key: str
    label: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.label}"


@dataclass(frozen=True)
class Verdict:
    """The result of checking a move: what is missing, and whether that stops the move."""

    from_stage: str
    to_stage: str
    checked_stages: tuple[str, ...]
    missing: tuple[Missing, ...]
    blocked: bool

    @property
    def ok(self) -> bool:
        return not self.missing

    def summary(self) -> str:
        return "; ".join(str(m) for m in self.missing)


def missing_for(play: StagePlay, facts: DealFacts) -> list[Missing]:
    """The exit criteria of `play` that `facts` do not meet, in the playbook's order."""
    out = [
        Missing(play.stage, "field", name, REQUIRABLE_FIELDS.get(name, name))
        for name in play.fields
        if name not in facts.filled
    ]
    out += [
        Missing(play.stage, "checklist", item.key, item.label)
        for item in play.checklist
        if item.key not in facts.checked
    ]
    for rule in play.activities:
        have = facts.count(rule.kind)
        if have < rule.at_least:
            label = f"{rule.at_least} {rule.kind}(s) logged (has {have})"
            out.append(Missing(play.stage, "activity", rule.kind, label))
    return out


def stages_left(
    order: Sequence[tuple[str, str]], from_stage: str, to_stage: str
) -> tuple[str, ...]:
    """The open stages a move from `from_stage` to `to_stage` leaves, in funnel order.

    `order` is every stage as (name, category) in funnel order. Moving forward through open
    stages, or to a won stage, leaves the current stage and every open stage skipped on the way;
    moving back, sideways, or to a lost stage leaves nothing that needs its criteria met.
    """
    names = [name for name, _ in order]
    category = dict(order)
    if from_stage not in category or to_stage not in category:
        return ()
    if category.get(from_stage) != "open" or category[to_stage] == "lost":
        return ()
    start, end = names.index(from_stage), names.index(to_stage)
    if category[to_stage] == "won":
        return tuple(n for n in names[start:] if category[n] == "open")
    if end <= start:
        return ()
    return tuple(n for n in names[start:end] if category[n] == "open")


def check_move(
    playbook: Playbook,
    order: Sequence[tuple[str, str]],
    from_stage: str,
    to_stage: str,
    facts: DealFacts,
) -> Verdict:
    """What the deal lacks to move from `from_stage` to `to_stage`; blocked when any stage
    with a missing item enforces `block`."""
    left = stages_left(order, from_stage, to_stage)
    missing: list[Missing] = []
    blocked = False
    for name in left:
        play = playbook.play(name)
        if play is None:
            continue
        lacking = missing_for(play, facts)
        missing += lacking
        blocked = blocked or (bool(lacking) and play.enforcement == "block")
    return Verdict(from_stage, to_stage, left, tuple(missing), blocked)
