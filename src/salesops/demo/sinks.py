"""Where generated rows go: a database (bulk inserts, COPY on PostgreSQL) or Parquet files.

The generator hands over column arrays in a few plain conventions (numpy int64 seconds for
timestamps, days for dates, cents for money, 1/10000 for ratios, NULL_INT for null); `conform`
turns them into an Arrow table with exactly the columns and types of the SQLAlchemy table, so
that every sink writes the same rows.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import JSON, Boolean, Connection, Date, Float, Integer, String, Table, func, select

from salesops.db.types import Money, Ratio, UTCDateTime
from salesops.models import Base

NULL_INT = np.iinfo(np.int64).min
Column: TypeAlias = (
    pa.Array | pa.ChunkedArray | npt.NDArray[Any] | list[Any] | str | int | float | bool | None
)

TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
RATIO = pa.decimal128(7, 4)


def arrow_type(column: Any) -> pa.DataType:
    """The Arrow type a column of `Base.metadata` is written as."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return TS
    if isinstance(kind, Money):
        return MONEY
    if isinstance(kind, Ratio):
        return RATIO
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, String | JSON):  # JSON travels as its text
        return pa.string()
    raise TypeError(f"no Arrow type for {column.table.name}.{column.name} ({kind!r})")


def decimal_array(units: npt.NDArray[np.int64], typ: pa.DataType) -> pa.Array:
    """Decimals from integer units (cents for money). A decimal128 is a little-endian 128-bit
    integer: the units, sign-extended."""
    raw = np.empty((len(units), 2), dtype=np.int64)
    raw[:, 0] = units
    raw[:, 1] = np.where(units < 0, -1, 0)
    return pa.Array.from_buffers(typ, len(units), [None, pa.py_buffer(raw)])


def _from_numpy(values: npt.NDArray[Any], typ: pa.DataType) -> pa.Array:
    if (values.dtype == np.bool_ or values.dtype.kind == "f") and typ in (pa.float64(), pa.bool_()):
        return pa.array(values, typ, from_pandas=True)
    units = values.astype(np.int64, copy=False)
    mask = units == NULL_INT
    safe = np.where(mask, 0, units)
    if typ == TS:
        array = pa.array(safe * 1_000_000, pa.int64()).cast(TS)
    elif typ == pa.date32():
        array = pa.array(safe.astype(np.int32), pa.int32()).cast(pa.date32())
    elif typ in (MONEY, RATIO):
        array = decimal_array(safe, typ)
    else:
        array = pa.array(safe, typ)
    if mask.any():
        array = pc.if_else(pa.array(mask), pa.nulls(len(units), typ), array)
    return array


def conform(table: Table, columns: Mapping[str, Column], rows: int) -> pa.Table:
    """An Arrow table with every column of `table`, in order, built from `columns`."""
    unknown = set(columns) - set(table.columns.keys())
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {sorted(unknown)}")
    arrays = []
    for column in table.columns:
        typ = arrow_type(column)
        value = columns.get(column.name)
        if value is None and column.name == "version":
            # Every row starts at version 1 (models.base.Versioned); the generator need not say.
            array = pa.array(np.ones(rows, dtype=np.int64), typ)
        elif value is None:
            if not column.nullable:
                raise ValueError(f"{table.name}.{column.name} needs a value")
            array = pa.nulls(rows, typ)
        elif isinstance(value, list):
            if typ in (TS, MONEY, RATIO, pa.date32()):
                units = np.array([NULL_INT if v is None else v for v in value], dtype=np.int64)
                array = _from_numpy(units, typ)
            else:
                array = pa.array(value, typ)
        elif isinstance(value, np.ndarray):
            array = _from_numpy(value, typ)
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            array = value if value.type == typ else value.cast(typ)
        else:
            array = pa.repeat(pa.scalar(value, typ), rows)
        if len(array) != rows:
            raise ValueError(f"{table.name}.{column.name} has {len(array)} values, not {rows}")
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=[c.name for c in table.columns])


class Sink(Protocol):
    """Receives conformed tables, chunk by chunk, in foreign-key order."""

    def write(self, name: str, data: pa.Table) -> None: ...

    def close(self) -> None: ...


class ParquetSink:
    """One Parquet file per table in `directory`, written chunk by chunk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, name: str, data: pa.Table) -> None:
        writer = self._writers.get(name)
        if writer is None:
            writer = pq.ParquetWriter(self.directory / f"{name}.parquet", data.schema)
            self._writers[name] = writer
        writer.write_table(data)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _sqlite_values(array: pa.ChunkedArray) -> list[Any]:
    """Python values for one column, as SQLAlchemy's SQLite dialect stores them (timestamps
    and dates as ISO text, formatted by numpy, which is far faster than one by one)."""
    typ = array.type
    if typ == TS:
        micros = array.fill_null(0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        text = np.char.replace(np.datetime_as_string(micros.astype("datetime64[us]")), "T", " ")
        return _with_nulls(array, text.astype(object))
    if typ == pa.date32():
        days = array.fill_null(0).cast(pa.int32()).to_numpy(zero_copy_only=False)
        return _with_nulls(
            array, np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
        )
    if pa.types.is_decimal(typ):
        array = array.cast(pa.float64())
    if pa.types.is_string(typ):  # numpy turns Arrow strings (and nulls) into objects quickly
        return array.to_numpy(zero_copy_only=False).tolist()  # type: ignore[no-any-return]
    if pa.types.is_boolean(typ):
        values = array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        values = array.fill_null(0).to_numpy(zero_copy_only=False)
    return _with_nulls(array, values.astype(object))


def _with_nulls(array: pa.ChunkedArray, values: npt.NDArray[Any]) -> list[Any]:
    if array.null_count:
        values[np.asarray(array.is_null().to_numpy(zero_copy_only=False))] = None
    return values.tolist()  # type: ignore[no-any-return]


class DatabaseSink:
    """Bulk inserts into the operational store inside the caller's transaction.

    SQLite gets one `executemany` per chunk with values already in its storage format;
    PostgreSQL gets `COPY ... FROM STDIN` with CSV rendered by Arrow, and its id sequences are
    moved past the inserted ids on close. On PostgreSQL the COPYs run in a writer thread, so
    the server loads one chunk while the generator computes the next (both release the GIL
    in their C parts); at most QUEUED_CHUNKS chunks wait, which bounds the memory.
    """

    QUEUED_CHUNKS = 2

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self._touched: set[str] = set()
        self._failure: BaseException | None = None
        self._stopping = False
        self._queue: queue.Queue[tuple[str, pa.Table] | None] = queue.Queue(self.QUEUED_CHUNKS)
        self._thread: threading.Thread | None = None
        if self.dialect == "postgresql":
            self._thread = threading.Thread(target=self._copy_chunks, name="demo-copy", daemon=True)
            self._thread.start()

    def write(self, name: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        self._touched.add(name)
        if self._thread is not None:
            self._raise_failure()
            self._queue.put((name, data))
            return
        if self.dialect == "postgresql":
            self._copy(name, data)
            return
        columns = ", ".join(f'"{c}"' for c in data.column_names)
        values = [_sqlite_values(data.column(i)) for i in range(data.num_columns)]
        marks = ", ".join("?" * data.num_columns)
        self.connection.exec_driver_sql(
            f'INSERT INTO "{name}" ({columns}) VALUES ({marks})', list(zip(*values, strict=True))
        )

    def _copy(self, name: str, data: pa.Table) -> None:
        columns = ", ".join(f'"{c}"' for c in data.column_names)
        buffer = io.BytesIO()
        pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
        raw = self.connection.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN (FORMAT csv)') as copy,
        ):
            copy.write(buffer.getbuffer())

    def _copy_chunks(self) -> None:
        """The writer thread: COPY chunks in order until told to stop; keep the first error."""
        while (item := self._queue.get()) is not None:
            if self._failure is None and not self._stopping:
                try:
                    self._copy(*item)
                except BaseException as exc:  # re-raised in the generating thread
                    self._failure = exc

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def drain(self) -> None:
        """Wait until every chunk handed over is written; raise what writing raised."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise_failure()

    def abort(self) -> None:
        """Stop writing (the load failed): skip the queued chunks, wait for the thread."""
        self._stopping = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        self.drain()
        if self.dialect != "postgresql":
            return
        for name in sorted(self._touched):
            self.connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'),"
                f' (SELECT max(id) FROM "{name}"))'
            )


def from_rows(rows: list[dict[str, Column]]) -> tuple[dict[str, Column], int]:
    """Column lists from row dicts (for the few small tables built row by row)."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return {name: [row.get(name) for row in rows] for name in names}, len(rows)


def table(name: str) -> Table:
    """The SQLAlchemy table called `name`."""
    return Base.metadata.tables[name]


def max_ids(connection: Connection, names: list[str]) -> dict[str, int]:
    """The largest id in each table (0 when empty): generated ids start after it."""
    result = {}
    for name in names:
        result[name] = connection.scalar(select(func.max(table(name).c.id))) or 0
    return result
