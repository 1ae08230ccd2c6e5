"""Request and response bodies of the playbook, hygiene and feedback endpoints."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from salesops.playbooks.criteria import Missing, Verdict
from salesops.playbooks.definition import Playbook, StagePlay
from salesops.playbooks.service import DealPlay

MAX_PLAYBOOK_CHARS = 200_000


class RevisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    methodology: str
    revision: int
    description: str
    checksum: str
    is_active: bool
    loaded_at: datetime
    loaded_by_id: int | None


class PlaybookUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1, max_length=MAX_PLAYBOOK_CHARS, description="the playbook file (YAML)"
    )
    name: str = Field("playbook.yaml", min_length=1, max_length=80, pattern=r"^\w[\w.-]*$")


class LinkRead(BaseModel):
    title: str
    url: str


class ChecklistItemRead(BaseModel):
    key: str
    label: str
    help: str


class ActivityRuleRead(BaseModel):
    kind: str
    at_least: int


class StagePlayRead(BaseModel):
    stage: str
    guidance: str
    links: list[LinkRead]
    enforcement: str
    fields: list[str]
    checklist: list[ChecklistItemRead]
    activities: list[ActivityRuleRead]

    @classmethod
    def of(cls, play: StagePlay) -> StagePlayRead:
        return cls(
            stage=play.stage,
            guidance=play.guidance,
            links=[LinkRead(title=x.title, url=x.url) for x in play.links],
            enforcement=play.enforcement,
            fields=list(play.fields),
            checklist=[
                ChecklistItemRead(key=i.key, label=i.label, help=i.help) for i in play.checklist
            ],
            activities=[
                ActivityRuleRead(kind=a.kind, at_least=a.at_least) for a in play.activities
            ],
        )


class PlaybookRead(BaseModel):
    revision: RevisionRead
    methodology: str
    enforcement: str
    stages: list[StagePlayRead]

    @classmethod
    def of(cls, revision: RevisionRead, playbook: Playbook) -> PlaybookRead:
        return cls(
            revision=revision,
            methodology=playbook.methodology,
            enforcement=playbook.enforcement,
            stages=[StagePlayRead.of(p) for p in playbook.stages],
        )


class MissingRead(BaseModel):
    stage: str
    kind: str
    key: str
    label: str

    @classmethod
    def of(cls, m: Missing) -> MissingRead:
        return cls(stage=m.stage, kind=m.kind, key=m.key, label=m.label)


class VerdictRead(BaseModel):
    from_stage: str
    to_stage: str
    checked_stages: list[str]
    missing: list[MissingRead]
    blocked: bool

    @classmethod
    def of(cls, v: Verdict) -> VerdictRead:
        return cls(
            from_stage=v.from_stage,
            to_stage=v.to_stage,
            checked_stages=list(v.checked_stages),
            missing=[MissingRead.of(m) for m in v.missing],
            blocked=v.blocked,
        )


class ChecklistLineRead(BaseModel):
    stage: str
    key: str
    label: str
    help: str
    done: bool
    note: str | None


class DealPlayRead(BaseModel):
    opportunity_id: int
    stage: str
    playbook_revision_id: int | None
    play: StagePlayRead | None
    missing_to_leave_stage: list[MissingRead]
    checklist: list[ChecklistLineRead]

    @classmethod
    def of(cls, opp_id: int, stage: str, found: DealPlay) -> DealPlayRead:
        return cls(
            opportunity_id=opp_id,
            stage=stage,
            playbook_revision_id=found.revision.id if found.revision else None,
            play=StagePlayRead.of(found.play) if found.play else None,
            missing_to_leave_stage=[MissingRead.of(m) for m in found.missing],
            checklist=[
                ChecklistLineRead(
                    stage=c.stage, key=c.key, label=c.label, help=c.help, done=c.done, note=c.note
                )
                for c in found.checklist
            ],
        )


class ChecklistUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    done: bool
    note: str | None = Field(None, max_length=255)


class FlagRead(BaseModel):
    code: str
    label: str
    detail: str


class DealHygieneRead(BaseModel):
    opportunity_id: int
    name: str
    owner_id: int
    owner: str
    stage: str
    amount: Decimal
    close_date: date | None
    flags: list[FlagRead]
    open_notes: int


class RepHygieneRead(BaseModel):
    rep_id: int
    rep: str
    open_deals: int
    flagged_deals: int
    flags: dict[str, int]
    score: Decimal


class SnapshotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    taken_on: date
    rep_id: int
    open_deals: int
    flagged_deals: int
    score: Decimal


class SnapshotCount(BaseModel):
    reps: int


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    flag: str | None = Field(None, max_length=30)


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    opportunity_id: int
    author_id: int | None
    at: datetime
    flag: str | None
    text: str
    resolved_at: datetime | None


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    topic: str
    frequency: str
    created_at: datetime


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frequency: Literal["daily", "weekly"] = "daily"
