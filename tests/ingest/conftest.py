"""Helpers for import tests: write small CSV files and mappings next to each test."""

from __future__ import annotations

import textwrap
from pathlib import Path

DEALS_MAPPING = """
version: 1
source_system: crm
files:
  - match: reps.csv
    outputs:
      - target: reps
        key: rep_id
        fields:
          name: name
  - match: deals*.csv
    dates: ["%d/%m/%Y"]
    outputs:
      - target: opportunities
        key: id
        fields:
          name: name
          owner: rep
          stage:
            column: stage
            map: {Won: Closed Won, Lost: Closed Lost, Proposal Sent: Proposal}
          amount: amount
          close_date: close
          created_at: created
"""


def write(path: Path, text: str, *, encoding: str = "utf-8", newline: str = "\n") -> Path:
    """Write dedented `text` with the given encoding and line ending."""
    body = textwrap.dedent(text).lstrip("\n").replace("\n", newline)
    path.write_bytes(body.encode(encoding))
    return path


def deals_files(directory: Path, deals: str) -> tuple[Path, list[Path]]:
    """A mapping, a reps file with r1 and r2, and a deals file with `deals` (CSV text)."""
    mapping = write(directory / "mapping.yaml", DEALS_MAPPING)
    reps = write(directory / "reps.csv", "rep_id,name\nr1,Ana Alves\nr2,Ben Berg\n")
    data = write(directory / "deals.csv", deals)
    return mapping, [reps, data]
