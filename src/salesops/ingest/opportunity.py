"""Opportunity rules of the importer: defaults, and the events that make history rebuildable.

On insert, the events say how the deal got to its current state: a `created` event, then
either the dated stages of a `stage_history` (HubSpot's "Date entered <stage>" columns) or,
for sources that keep no history, the `lifecycle` of the mapping (the open stage a closed
deal was in and, optionally, its amount and unknown close date while open). On update (a
newer export of the same records), every change of a tracked field becomes one event at the
import's timestamp, so diffing successive exports builds history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesops.errors import Problem, ValidationFailed
from salesops.ingest.convert import converter
from salesops.ingest.mapping import FileSpec, OutputSpec
from salesops.ingest.resolve import StageInfo
from salesops.ingest.targets import target
from salesops.models import EventField
from salesops.pipeline.service import event_value

if TYPE_CHECKING:
    from salesops.ingest.records import Context, Record

EXAMPLES = 5


class DateTally:
    """Deals of one kind: how many, and a few examples (id and dates)."""

    def __init__(self) -> None:
        self.count = 0
        self.examples: list[str] = []

    def add(self, record: Record, detail: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"{record.key!r} line {record.line}: {detail}")

    def text(self) -> str:
        return "; ".join(self.examples)


TRACKED = ("stage_id", "amount", "close_date", "forecast_category", "owner_id", "closed_at")
EVENT_FIELDS = (
    ("stage_id", EventField.STAGE),
    ("amount", EventField.AMOUNT),
    ("close_date", EventField.CLOSE_DATE),
    ("forecast_category", EventField.FORECAST_CATEGORY),
    ("owner_id", EventField.OWNER),
)


class OpportunityRules:
    """Defaults and event synthesis for one opportunities output of one file."""

    tracked = TRACKED

    def __init__(
        self, ctx: Context, output: OutputSpec, index: dict[str, int], file: FileSpec
    ) -> None:
        self.ctx = ctx
        self.output = output
        self.fields = output.fields
        self.source = f"import:{ctx.mapping.source_system}"
        self.events_counts = ctx.summary.table("opportunity_events")
        stage_spec = output.fields.get("stage")
        value_map = stage_spec.value_map if stage_spec else {}
        self.history: list[tuple[int, StageInfo]] = []
        self.history_convert = None
        if output.stage_history is not None:
            spec = output.stage_history
            problems = []
            for name, position in index.items():
                match = spec.header_pattern.search(name)
                if not match:
                    continue
                source_stage = match.group(1).strip()
                stage = ctx.stages.get(value_map.get(source_stage.casefold(), source_stage))
                if stage is None:
                    problems.append(Problem(
                        f"names stage {source_stage!r}, which is neither a known stage nor in the"
                        f" stage map (known: {ctx.stages.known()})",
                        f"{file.location} column {name!r}",
                    ))  # fmt: skip
                else:
                    self.history.append((position, stage))
            if problems:
                raise ValidationFailed("stage history columns do not match the stages", problems)
            from salesops.ingest.mapping import FieldSpec

            self.history_convert = converter(
                FieldSpec("created_at", formats=spec.formats),
                target("opportunities").fields["created_at"],
                file.dates,
            )
        lifecycle = output.lifecycle
        self.open_stage = (
            ctx.stages.get(lifecycle.open_stage) if lifecycle and lifecycle.open_stage else None
        )
        self.close_date_known = lifecycle.close_date_known if lifecycle else True
        self.open_amount = lifecycle.open_amount if lifecycle else None
        self.knows_history = bool(self.history) or self.open_stage is not None
        self.keep_impossible = output.impossible_dates == "keep"
        self.impossible = DateTally()  # closed before created
        self.closed_without_history = DateTally()  # closed deals inserted with no events

    # -- while building and resolving a record --------------------------------------------
    def build(self, record: Record, values: list[str]) -> list[str]:
        if not self.history or self.history_convert is None:
            return []
        timeline = []
        for position, stage in self.history:
            text = values[position].strip() if position < len(values) else ""
            if not text:
                continue
            try:
                timeline.append((self.history_convert(text), stage))
            except ValueError as exc:
                return [f"stage history: {exc}"]
        timeline.sort(key=lambda item: item[0])
        record.extra["timeline"] = timeline
        return []

    def prepare(self, record: Record, attrs: dict[str, dict[str, Any]]) -> list[str]:
        """Fill the defaults of an opportunity (currency, category, dates of closing).

        Returns the row's problems: a deal that closed before it was created (unless the
        mapping keeps such dates).
        """
        cols = record.cols
        stage = self.ctx.stages.by_id.get(cols.get("stage_id") or -1)
        if stage is None:
            return []
        if cols.get("currency") is None:
            cols["currency"] = self.ctx.mapping.currency
        if cols.get("forecast_category") is None:
            cols["forecast_category"] = stage.forecast_category
        if cols.get("amount") is None:
            cols["amount"] = Decimal("0.00")
        if cols.get("created_at") is None:
            cols.pop("created_at", None)
            record.insert_only.setdefault("created_at", self.ctx.as_of)
        if stage.category == "open":
            cols["closed_at"] = None
        elif cols.get("closed_at") is None:
            cols.pop("closed_at", None)
            close_date = cols.get("close_date")
            if close_date is not None:
                cols["closed_at"] = datetime.combine(close_date, time(0), tzinfo=UTC)
            else:
                record.insert_only["closed_at"] = self.ctx.as_of
        if self.open_amount is not None and self.open_amount.derive:
            ref, attribute = self.open_amount.derive
            record.extra["open_amount"] = attrs.get(ref, {}).get(attribute)
        if stage.category == "open":
            return []
        problem = self.check_dates(record, cols.get("created_at"))
        return [problem] if problem else []

    def check_dates(self, record: Record, created: datetime | None) -> str | None:
        """A problem if the deal's file says it closed on a day before the day it was created.

        Only dates the files gave count (a creation defaulted to the export's time does not),
        and same-day closes are fine (a close date has no time of day).
        """
        closed = record.cols.get("closed_at")
        if created is None or closed is None or closed.date() >= created.date():
            return None
        self.impossible.add(record, f"closed {closed.date()}, created {created.date()}")
        if self.keep_impossible:
            return None
        return (
            f"closed ({closed.date()}) before it was created ({created.date()}):"
            " `impossible_dates: keep` imports such deals"
        )

    def report(self, file_name: str) -> None:
        """Warnings on history the summary's counts do not show."""
        summary = self.ctx.summary
        if self.impossible.count:
            outcome = (
                "imported as given (`impossible_dates: keep`)"
                if self.keep_impossible
                else "rejected (`impossible_dates: keep` imports them)"
            )
            summary.warn(
                "closed_before_created",
                self.impossible.count,
                f"{file_name}: {self.impossible.count:,} deal(s) closed before they were created"
                f" (e.g. {self.impossible.text()}): {outcome}",
            )
        if self.closed_without_history.count:
            tally = self.closed_without_history
            summary.warn(
                "closed_without_history",
                tally.count,
                f"{file_name}: {tally.count:,} closed deal(s) were imported with no history (e.g."
                f" {tally.text()}): without `lifecycle` or `stage_history` a deal counts as"
                " won or lost from the day it was created, not from the day it closed; add"
                " `lifecycle: {open_stage: <its open stage>}` to the output to give them an open"
                " period",
            )

    def update_extras(
        self, record: Record, old: dict[str, Any], changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Columns to set beyond the mapped ones: when a deal closes, when it closed."""
        extra: dict[str, Any] = {}
        if "closed_at" in record.insert_only and old.get("closed_at") is None:
            stage = self.ctx.stages.by_id.get(record.cols.get("stage_id") or -1)
            if stage is not None and stage.category != "open":
                extra["closed_at"] = self.ctx.as_of
        return extra

    # -- events ---------------------------------------------------------------------------
    def _event(
        self, opp_id: int, field: EventField, old: Any, new: Any, at: datetime
    ) -> dict[str, Any]:
        return {
            "opportunity_id": opp_id,
            "field": field.value,
            "old_value": event_value(field, old),
            "new_value": event_value(field, new),
            "at": at,
            "by_user_id": None,
            "source": self.source,
        }

    def _timeline(
        self, record: Record, stage: StageInfo, created: datetime
    ) -> list[tuple[datetime, StageInfo]]:
        timeline: list[tuple[datetime, StageInfo]] = record.extra.get("timeline") or []
        if timeline:
            if timeline[-1][1].id != stage.id:
                timeline = [*timeline, (max(self.ctx.as_of, timeline[-1][0]), stage)]
            return timeline
        closed_at = record.cols.get("closed_at") or record.insert_only.get("closed_at")
        if self.open_stage is not None and stage.category != "open" and closed_at is not None:
            return [(created, self.open_stage), (max(closed_at, created), stage)]
        return [(created, stage)]

    def note_inserts(self, records: Sequence[Record]) -> None:
        """Count closed deals inserted without history that existed open for a while."""
        by_id = self.ctx.stages.by_id
        for record in records:
            cols = record.cols
            stage = by_id.get(cols.get("stage_id") or -1)
            if stage is None or stage.category == "open":
                continue
            created = cols.get("created_at") or record.insert_only.get("created_at")
            closed = cols.get("closed_at") or record.insert_only.get("closed_at")
            if created is not None and closed is not None and closed.date() > created.date():
                self.closed_without_history.add(
                    record, f"created {created.date()}, {stage.name} {closed.date()}"
                )

    def after_insert(self, records: Sequence[Record], ids: dict[Any, int]) -> None:
        # Only the current state is known unless the mapping says how deals got there; then
        # no event is invented (created_at still says since when the deal existed).
        if not self.knows_history:
            self.note_inserts(records)
            return
        events: list[dict[str, Any]] = []
        for record in records:
            opp_id = ids.get(record.key)
            cols = record.cols
            stage = self.ctx.stages.by_id.get(cols["stage_id"])
            if opp_id is None or stage is None:
                continue
            created = cols.get("created_at") or record.insert_only["created_at"]
            timeline = self._timeline(record, stage, created)
            events.append(
                self._event(opp_id, EventField.CREATED, None, timeline[0][1].name, created)
            )
            previous = timeline[0][1]
            fc = previous.forecast_category
            for at, current in timeline[1:]:
                if current.id == previous.id:
                    continue
                events.append(
                    self._event(opp_id, EventField.STAGE, previous.name, current.name, at)
                )
                new_fc = (
                    current.forecast_category if current is not stage else cols["forecast_category"]
                )
                if new_fc != fc:
                    events.append(self._event(opp_id, EventField.FORECAST_CATEGORY, fc, new_fc, at))
                    fc = new_fc
                previous = current
            if len(timeline) > 1 and self.open_stage is not None and stage.category != "open":
                closed = timeline[-1][0]
                open_amount = record.extra.get("open_amount")
                if open_amount is not None and open_amount != cols["amount"]:
                    events.append(
                        self._event(opp_id, EventField.AMOUNT, open_amount, cols["amount"], closed)
                    )
                if not self.close_date_known and cols.get("close_date") is not None:
                    events.append(
                        self._event(opp_id, EventField.CLOSE_DATE, None, cols["close_date"], closed)
                    )
        self._write(events)

    def _known_times(
        self, record: Record, old: dict[str, Any], changes: dict[str, Any]
    ) -> tuple[datetime | None, datetime | None]:
        """When the file says an update's stage changed, and when it closed the deal.

        The stage changed when the file's stage history says the deal entered its new stage
        or, for a deal this update closes, when the file says it closed. Neither is earlier
        than the deal's creation. None: the file does not say (the export's time is used).
        """
        by_id = self.ctx.stages.by_id
        if "stage_id" not in changes:
            return None, None
        before, after = by_id.get(old.get("stage_id") or -1), by_id.get(changes["stage_id"])
        if after is None:
            return None, None
        closes = after.category != "open" and (before is None or before.category == "open")
        closed: datetime | None = record.cols.get("closed_at") if closes else None
        timeline: list[tuple[datetime, StageInfo]] = record.extra.get("timeline") or []
        entered = next((at for at, stage in reversed(timeline) if stage.id == after.id), None)
        created: datetime | None = old.get("created_at")
        times = [t if t is None or created is None else max(t, created) for t in (entered, closed)]
        stage_at = times[0] or times[1]
        return stage_at, (stage_at if closes and stage_at is not None else None)

    def after_update(
        self, updates: Sequence[tuple[Record, dict[str, Any]]], existing: dict[Any, dict[str, Any]]
    ) -> None:
        events = []
        as_of = self.ctx.as_of
        for record, changes in updates:
            old = existing[record.key]
            # A change the file dates is recorded then, not when the file was exported: the
            # stage (and category) when the deal entered it; for a deal this update closes,
            # its amount and close date as of the close too. The owner's change is undated.
            stage_at, closing = self._known_times(record, old, changes)
            for column, field in EVENT_FIELDS:
                if column not in changes:
                    continue
                if column in {"stage_id", "forecast_category"}:
                    at = stage_at or as_of
                elif column in {"amount", "close_date"}:
                    at = closing or as_of
                else:
                    at = as_of
                before, after = old.get(column), changes[column]
                if column == "stage_id":
                    before = (
                        self.ctx.stages.by_id[before].name
                        if before in self.ctx.stages.by_id
                        else before
                    )
                    after = self.ctx.stages.by_id[after].name
                elif column == "owner_id":
                    before, after = str(before), str(after)
                events.append(self._event(old["id"], field, before, after, at))
        self._write(events)

    def _write(self, events: list[dict[str, Any]]) -> None:
        if events:
            self.ctx.inserter("opportunity_events").insert(events)
            self.events_counts.inserted += len(events)
