"""The playbook file: one methodology's stages, each with guidance, content links and the
criteria a deal must meet to leave it.

A playbook is a definition file like an import mapping and is read by the same machinery
(`ingest.definitions.read_yaml` and `DefinitionParser`): every problem is collected with
its location (`meddicc.yaml: stages.Discovery.exit.fields[1]`) before anything is stored.
The format is documented with a worked example in docs/playbooks.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesops.errors import ValidationFailed
from salesops.ingest.definitions import read_yaml, relocated
from salesops.ingest.mapping import DefinitionParser
from salesops.models import ActivityKind

ENFORCEMENTS = ("warn", "block")
# The deal fields an exit criterion may require, and what "filled" means for each.
REQUIRABLE_FIELDS = {
    "amount": "an amount above zero",
    "close_date": "an expected close date",
    "next_step": "a next step",
    "account": "an account",
    "product": "a product",
    "competitor": "the competitor named",
    "lead_source": "a lead source",
    "probability": "the rep's probability",
}


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    help: str = ""


@dataclass(frozen=True)
class ActivityRule:
    kind: str
    at_least: int = 1


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class StagePlay:
    """What the playbook says about one stage."""

    stage: str
    guidance: str = ""
    links: tuple[Link, ...] = ()
    fields: tuple[str, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    activities: tuple[ActivityRule, ...] = ()
    enforcement: str = "warn"

    @property
    def has_criteria(self) -> bool:
        return bool(self.fields or self.checklist or self.activities)


@dataclass(frozen=True)
class Playbook:
    """A validated playbook file."""

    methodology: str
    revision: int
    description: str = ""
    enforcement: str = "warn"
    stages: tuple[StagePlay, ...] = field(default_factory=tuple)

    def play(self, stage: str) -> StagePlay | None:
        return next((s for s in self.stages if s.stage == stage), None)

    def checklist_keys(self) -> set[str]:
        return {item.key for s in self.stages for item in s.checklist}


class _PlaybookParser(DefinitionParser):
    def __init__(self, name: str, stage_names: Iterable[str] | None) -> None:
        super().__init__(name)
        # None: a stored revision read back, checked when it was loaded (stages may be renamed).
        self.stage_names = None if stage_names is None else list(stage_names)

    def playbook(self, data: Any) -> Playbook:
        if not isinstance(data, dict):
            self.problem("", "a playbook must be a YAML dictionary with `methodology` and `stages`")
            raise ValidationFailed("invalid playbook", self.problems)
        self.keys(
            data, {"version", "methodology", "revision", "description", "enforcement", "stages"}, ""
        )
        if data.get("version", 1) != 1:
            self.problem("version", "only version 1 of the playbook format exists")
        methodology = (self.text(data, "methodology", "") or "").strip()
        if not methodology:
            self.problem("methodology", "required: the methodology's name, such as MEDDICC")
        elif len(methodology) > 80:
            self.problem("methodology", "at most 80 characters")
        revision = self.whole(data.get("revision", 1), "revision")
        if revision < 1:
            self.problem("revision", "a revision is a whole number from 1 up")
        enforcement = self.enforcement(data.get("enforcement", "warn"), "enforcement") or "warn"
        stages_data = data.get("stages")
        if not isinstance(stages_data, dict) or not stages_data:
            self.problem("stages", "required: a dictionary of stage name -> what to do in it")
            stages_data = {}
        plays = [
            self.stage_play(str(name), body, f"stages.{name}", enforcement)
            for name, body in stages_data.items()
        ]
        keys: dict[str, str] = {}
        for play in plays:
            for i, item in enumerate(play.checklist):
                where = f"stages.{play.stage}.exit.checklist[{i}]"
                if item.key in keys:
                    self.problem(where, f"checklist item {item.key!r} is also in {keys[item.key]}")
                keys.setdefault(item.key, play.stage)
        if self.problems:
            raise ValidationFailed(f"invalid playbook {self.name}", self.problems)
        order = {name: i for i, name in enumerate(self.stage_names or [])}
        return Playbook(
            methodology=methodology,
            revision=revision,
            description=str(data.get("description") or ""),
            enforcement=enforcement,
            stages=tuple(sorted(plays, key=lambda p: order.get(p.stage, len(order)))),
        )

    def enforcement(self, value: Any, where: str) -> str | None:
        if value not in ENFORCEMENTS:
            self.problem(where, f"expected one of {', '.join(ENFORCEMENTS)}, got {value!r}")
            return None
        return str(value)

    def stage_play(self, name: str, data: Any, where: str, default: str) -> StagePlay:
        if self.stage_names is not None and name not in self.stage_names:
            self.problem(
                where, f"unknown stage {name!r} (stages: {', '.join(self.stage_names) or 'none'})"
            )
        if data is None:
            return StagePlay(name, enforcement=default)
        if not isinstance(data, dict):
            self.problem(where, "expected a dictionary with `guidance`, `links` and `exit`")
            return StagePlay(name, enforcement=default)
        self.keys(data, {"guidance", "links", "exit"}, where)
        links = tuple(
            self.link(item, f"{where}.links[{i}]") for i, item in enumerate(data.get("links") or [])
        )
        exit_data = data.get("exit") or {}
        if not isinstance(exit_data, dict):
            self.problem(f"{where}.exit", "expected a dictionary with fields/checklist/activities")
            exit_data = {}
        self.keys(exit_data, {"fields", "checklist", "activities", "enforcement"}, f"{where}.exit")
        fields = self.texts(exit_data.get("fields"), f"{where}.exit.fields")
        for i, name_ in enumerate(fields):
            if name_ not in REQUIRABLE_FIELDS:
                self.problem(
                    f"{where}.exit.fields[{i}]",
                    f"unknown field {name_!r} (allowed: {', '.join(sorted(REQUIRABLE_FIELDS))})",
                )
        checklist = tuple(
            self.item(item, f"{where}.exit.checklist[{i}]")
            for i, item in enumerate(exit_data.get("checklist") or [])
        )
        activities = tuple(
            self.activity(item, f"{where}.exit.activities[{i}]")
            for i, item in enumerate(exit_data.get("activities") or [])
        )
        enforcement = default
        if "enforcement" in exit_data:
            where_ = f"{where}.exit.enforcement"
            enforcement = self.enforcement(exit_data["enforcement"], where_) or default
        return StagePlay(
            stage=name,
            guidance=str(data.get("guidance") or "").strip(),
            links=tuple(link for link in links if link is not None),
            fields=fields,
            checklist=tuple(item for item in checklist if item is not None),
            activities=tuple(rule for rule in activities if rule is not None),
            enforcement=enforcement,
        )

    def link(self, data: Any, where: str) -> Link | None:
        if not isinstance(data, dict):
            self.problem(where, "expected a dictionary with `title` and `url`")
            return None
        self.keys(data, {"title", "url"}, where)
        title, url = self.text(data, "title", where) or "", self.text(data, "url", where) or ""
        if not title:
            self.problem(f"{where}.title", "required")
        if not url.startswith(("https://", "http://", "/")):
            self.problem(f"{where}.url", f"expected an http(s) address or a path, got {url!r}")
        return Link(title, url)

    def item(self, data: Any, where: str) -> ChecklistItem | None:
        if isinstance(data, str):
            data = {"key": data}
        if not isinstance(data, dict):
            self.problem(where, "expected a key or a dictionary with `key`, `label`, `help`")
            return None
        self.keys(data, {"key", "label", "help"}, where)
        key = (self.text(data, "key", where) or "").strip()
        if not key or len(key) > 60 or not key.replace("_", "").replace("-", "").isalnum():
            self.problem(f"{where}.key", f"expected a short identifier (a-z, 0-9, _), got {key!r}")
        label = self.text(data, "label", where) or key.replace("_", " ").capitalize()
        return ChecklistItem(key, label, self.text(data, "help", where) or "")

    def activity(self, data: Any, where: str) -> ActivityRule | None:
        if not isinstance(data, dict):
            self.problem(where, "expected a dictionary with `kind` and `at_least`")
            return None
        self.keys(data, {"kind", "at_least"}, where)
        kinds = [k.value for k in ActivityKind]
        kind = self.text(data, "kind", where) or ""
        if kind not in kinds:
            self.problem(f"{where}.kind", f"expected one of {', '.join(kinds)}, got {kind!r}")
        at_least = self.whole(data.get("at_least", 1), f"{where}.at_least")
        if at_least < 1:
            self.problem(f"{where}.at_least", "at least 1")
        return ActivityRule(kind, at_least)


def parse_playbook(
    data: Any, *, stage_names: Iterable[str] | None, name: str = "playbook"
) -> Playbook:
    """Validate playbook `data` (already parsed from YAML) against the pipeline's stages."""
    return _PlaybookParser(name, stage_names).playbook(data)


def load_playbook(path: Path, *, stage_names: Iterable[str]) -> tuple[Playbook, str]:
    """The validated playbook at `path` and its text (stored with the revision)."""
    document = read_yaml(path, "playbook")
    try:
        playbook = parse_playbook(document.data, stage_names=stage_names, name=path.name)
    except ValidationFailed as exc:
        raise relocated(exc, document) from None
    return playbook, path.read_text("utf-8")
