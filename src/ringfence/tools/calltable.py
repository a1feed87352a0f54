"""A call file (CSV, JSON Lines, Parquet) read by columns, for judging millions of rows at once.

The formats and their column mapping are those of call logs (:mod:`ringfence.tools.calllog`):
the same suffixes, an empty CSV cell is an absent field, nested fields are JSON text in CSV, and
any row can be read back as the call request :func:`~ringfence.tools.calllog.read_log` would
make of it (:meth:`CallTable.records_at`). Columns are Arrow arrays: Parquet as stored (its text
as dictionaries), CSV as text.
A JSON Lines file is read line by line into text columns (nested values as their JSON text); a
line whose value has a type its column cannot hold (a number as ``purpose``) is marked
:attr:`CallTable.by_row` and judged from its original record.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ringfence.errors import InputError
from ringfence.tools.calllog import NESTED, LogError, csv_record, jsonl_records, log_format, plain

__all__ = ["CallTable", "decoded", "read_table"]


@dataclass
class CallTable:
    """The readable rows of a call file as columns, and the rows that could not be read.

    ``lines[i]`` is the row number of table row ``i`` (1 = the first data row or line);
    ``errors`` are the rows that are not in the table at all (a CSV row with too many cells, a
    line that is not JSON), with their row numbers.
    """

    table: pa.Table
    fmt: str
    lines: npt.NDArray[np.int64]
    errors: list[LogError] = field(default_factory=list)
    by_row: npt.NDArray[np.bool_] | None = None
    originals: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def records_at(self, indices: npt.NDArray[np.int64]) -> list[dict[str, Any] | LogError]:
        """The rows at ``indices`` as the call requests the call-log readers make of them
        (taken from the table at once)."""
        if self.originals is not None:
            return [self.originals[int(i)] for i in indices]
        rows = decoded(self.table.take(pa.array(indices, pa.int64()))).to_pylist()
        return [self._call(int(i), row) for i, row in zip(indices, rows, strict=True)]

    def records(self) -> Iterator[dict[str, Any] | LogError]:
        """Every row as :meth:`records_at` makes it, in order (converted a batch at a time)."""
        if self.originals is not None:
            yield from self.originals
            return
        index = 0
        for batch in decoded(self.table).to_batches():
            for row in batch.to_pylist():
                yield self._call(index, row)
                index += 1

    def _call(self, index: int, row: dict[str, Any]) -> dict[str, Any] | LogError:
        if self.fmt == "csv":
            found: dict[str, Any] | LogError = csv_record(int(self.lines[index]), row.items())
            return found
        value: dict[str, Any] = plain(row)
        return value


def read_table(path: Path, fmt: str | None = None) -> CallTable:
    """Read a call file by columns. Raises :class:`~ringfence.errors.InputError` when the file
    cannot be read at all (missing, not of its format)."""
    fmt = log_format(path, fmt)
    reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt]
    try:
        return reader(path)
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from None
    except (pa.ArrowException, csv.Error, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a {fmt} file ({err})") from None


def _read_parquet(path: Path) -> CallTable:
    # Text is read as Arrow dictionaries: Parquet stores a repeated value once per page and
    # dictionaries keep it so (decoding every row's text costs more than the rest of the read),
    # and judging groups rows by equal values, which the indices already tell. The number and
    # the id are as many as the rows, and are copied to the answers: read as they are.
    # Read a row group at a time (one chunk each, not one per batch of 128Ki rows: a file of one
    # row group gives whole columns, where chunks would be joined, every chunk's dictionaries
    # unified; the reader makes no chunks of a struct holding dictionaries over row groups).
    schema = pq.read_schema(path)
    file = pq.ParquetFile(path, read_dictionary=[
        name for field in schema if field.name not in ("id", "to")
        for name in _text_paths(field, field.name)])
    groups = range(file.num_row_groups)
    table = pa.concat_tables([file.read_row_group(i) for i in groups]) if groups else file.read()
    return CallTable(table, "parquet", np.arange(1, table.num_rows + 1, dtype=np.int64))


def decoded(table: pa.Table) -> pa.Table:
    """``table`` with its dictionaries decoded, to be read as Python values or written as text
    (a value read from a dictionary costs a hundred times more)."""
    return table.cast(pa.schema([field.with_type(_decoded(field.type)) for field in table.schema]))


def _decoded(kind: pa.DataType) -> pa.DataType:
    """``kind`` with every dictionary in it replaced by the type of its values."""
    if pa.types.is_dictionary(kind):
        return _decoded(kind.value_type)
    if pa.types.is_struct(kind):
        return pa.struct([field.with_type(_decoded(field.type)) for field in kind])
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        field = kind.value_field.with_type(_decoded(kind.value_type))
        return pa.list_(field) if pa.types.is_list(kind) else pa.large_list(field)
    return kind


def _text_paths(field: pa.Field, path: str) -> list[str]:
    """The column paths of ``field``'s text, itself or in its struct fields (``a.b``)."""
    if pa.types.is_string(field.type):
        return [path]
    if pa.types.is_struct(field.type):
        return [name for child in field.type for name in _text_paths(child, f"{path}.{child.name}")]
    return []


def _read_csv(path: Path) -> CallTable:
    with path.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header:
        raise InputError(f"{path}: no header row (the first row names the columns)")
    bad: list[LogError] = []

    def wrong_width(row: Any) -> str:
        # row.number counts the header as row 1 (None when read in parallel); data rows count
        # from 1.
        bad.append(LogError((row.number or 0) - 1, "(row)", "more cells than columns"
                            if row.actual_columns > row.expected_columns else
                            "fewer cells than columns"))
        return "skip"

    def read(threads: bool) -> pa.Table:
        bad.clear()
        return pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(use_threads=threads),
            parse_options=pacsv.ParseOptions(invalid_row_handler=wrong_width),
            # every cell is text (as the row reader sees it); only an empty cell is absent
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True))

    table = read(True)
    if any(error.line < 1 for error in bad):  # only a serial read knows the rows' numbers
        table = read(False)
    lines = np.arange(1, table.num_rows + len(bad) + 1, dtype=np.int64)
    if bad:
        lines = np.delete(lines, [e.line - 1 for e in bad])
    return CallTable(table, "csv", lines, bad)


def _read_jsonl(path: Path) -> CallTable:
    originals: list[dict[str, Any]] = []
    lines: list[int] = []
    errors: list[LogError] = []
    for line, value in jsonl_records(path):
        if isinstance(value, LogError):
            errors.append(value)
        elif not isinstance(value, dict):
            errors.append(LogError(line, "(call)", "a call must be a JSON object"))
        else:
            originals.append(value)
            lines.append(line)
    names = list(dict.fromkeys(key for record in originals for key in record))
    columns: dict[str, list[Any]] = {name: [None] * len(originals) for name in names}
    by_row = np.zeros(len(originals), dtype=bool)
    for index, record in enumerate(originals):
        for key, value in record.items():
            if key in NESTED:
                columns[key][index] = json.dumps(value, sort_keys=True)
            elif isinstance(value, str) or (key == "id" and isinstance(value, int)
                                            and not isinstance(value, bool)):
                columns[key][index] = value
            else:  # not text where text is meant: only this record's own reading says why
                columns[key][index] = json.dumps(value)
                by_row[index] = True
    types = {name: pa.string() for name in names}
    if "id" in columns:
        ids = [v for v in columns["id"] if v is not None]
        if ids and all(isinstance(v, int) for v in ids):
            types["id"] = pa.int64()
        else:  # text ids, or a mix: each as its text
            columns["id"] = [v if v is None or isinstance(v, str) else str(v) for v in columns["id"]]
    table = pa.table({name: pa.array(values, types[name]) for name, values in columns.items()})
    if not names:
        table = pa.table({"to": pa.array([None] * len(originals), pa.string())})
    return CallTable(table, "jsonl", np.array(lines, dtype=np.int64), errors, by_row, originals)

