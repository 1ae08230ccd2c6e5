"""Opportunity history exports (Salesforce OpportunityHistory): dated snapshots -> events.

Each row is a snapshot of one opportunity (stage, amount, close date, forecast category) at
a time. Snapshots are grouped per opportunity and ordered by time; every field that differs
from the previous snapshot becomes one event at the later snapshot's time. Events already
in the database (same opportunity, field, time and new value) are not written again, so
importing the same history twice changes nothing. The snapshots of one file are held in
memory until the end of the file (a few hundred bytes per row).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from sqlalchemy import select

from salesops.ingest.engine import OutputRunner
from salesops.ingest.records import Record, Rejected
from salesops.ingest.resolve import IN_CHUNK
from salesops.models import EventField, OpportunityEvent
from salesops.pipeline.service import event_value

SNAPSHOT_FIELDS = (
    ("stage_id", EventField.STAGE),
    ("amount", EventField.AMOUNT),
    ("close_date", EventField.CLOSE_DATE),
    ("forecast_category", EventField.FORECAST_CATEGORY),
)
_FIELD_OF = dict(SNAPSHOT_FIELDS)


class HistoryRunner(OutputRunner):
    """Collects snapshots while the file is read; writes the events they imply at the end."""

    def _process(self, chunk: list[tuple[int, list[str]]]) -> None:
        records: list[Record] = []
        for line, values in chunk:
            self.counts.read += 1
            if self.joiner is not None:
                values = self.joiner.extend(values)
            try:
                records.append(self.build(line, values))
            except Rejected as exc:
                self.reject(Record(line, values), str(exc))
        for record in self.resolve(records):
            self.snapshots.append(record.cols)

    def _text(self, column: str, value: Any) -> str | None:
        if column == "stage_id":
            stage = self.ctx.stages.by_id.get(value)
            return stage.name if stage else None
        return event_value(_FIELD_OF[column], value)

    def finish(self) -> None:
        snapshots: dict[int, list[dict[str, Any]]] = {}
        for cols in self.snapshots:
            snapshots.setdefault(cols["opportunity_id"], []).append(cols)
        self.snapshots = []
        counts = self.ctx.summary.table("opportunity_events")
        source = f"import:{self.ctx.mapping.source_system}"
        events: list[dict[str, Any]] = []
        for opp_id, rows in snapshots.items():
            rows.sort(key=lambda cols: cols["at"])
            for before, after in pairwise(rows):
                for column, field in SNAPSHOT_FIELDS:
                    if column not in after or column not in before:
                        continue
                    old, new = self._text(column, before[column]), self._text(column, after[column])
                    if old != new:
                        events.append(
                            {
                                "opportunity_id": opp_id,
                                "field": field.value,
                                "old_value": old,
                                "new_value": new,
                                "at": after["at"],
                                "by_user_id": after.get("by_user_id"),
                                "source": source,
                            }
                        )
        existing = self._existing_events(list(snapshots))
        new_events = [
            e
            for e in events
            if (e["opportunity_id"], e["field"], e["at"], e["new_value"]) not in existing
        ]
        counts.unchanged += len(events) - len(new_events)
        counts.inserted += len(new_events)
        self.ctx.inserter("opportunity_events").insert(new_events)

    def _existing_events(self, ids: list[int]) -> set[tuple[Any, ...]]:
        found: set[tuple[Any, ...]] = set()
        for start in range(0, len(ids), IN_CHUNK):
            query = select(
                OpportunityEvent.opportunity_id,
                OpportunityEvent.field,
                OpportunityEvent.at,
                OpportunityEvent.new_value,
            ).where(OpportunityEvent.opportunity_id.in_(ids[start : start + IN_CHUNK]))
            found.update(tuple(row) for row in self.ctx.connection.execute(query))
        return found
