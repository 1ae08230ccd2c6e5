"""A demo company generated once per worker into memory, as pandas frames per table."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from salesops.demo.generator import DemoSpec, generate
from salesops.demo.params import REFERENCE_END


class MemorySink:
    """Collects what the generator writes, table by table."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pa.Table]] = {}

    def write(self, name: str, data: pa.Table) -> None:
        self.parts.setdefault(name, []).append(data)

    def close(self) -> None:
        pass

    def table(self, name: str) -> pa.Table:
        return pa.concat_tables(self.parts[name])

    def frames(self) -> dict[str, pd.DataFrame]:
        return {name: self.table(name).to_pandas() for name in self.parts}


def build(opportunities: int, seed: int = 7) -> MemorySink:
    sink = MemorySink()
    generate(DemoSpec(opportunities=opportunities, seed=seed, end=REFERENCE_END), sink)
    return sink


@pytest.fixture(scope="session")
def company() -> dict[str, pd.DataFrame]:
    """A mid-sized company (large enough for stable rates, small enough to be quick)."""
    return build(6_000).frames()
