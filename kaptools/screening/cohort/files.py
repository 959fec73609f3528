"""Reading a cohort: CSV, JSON Lines and Parquet files, or records, into the wide layout."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kaptools.errors import InvalidInputError, RecordError
from kaptools.limits import size_limit
from kaptools.protocol import ProtocolInfo
from kaptools.screening.layout import INPUT_ERROR_COLUMN, record_to_row, typed_frame, wide_columns
from kaptools.screening.record import ScreeningRecord

__all__ = ["frame_from_records", "read_cohort", "write_parquet"]


def frame_from_records(
    items: Iterable[ScreeningRecord | Mapping[str, Any] | Exception],
) -> pd.DataFrame:
    """Records (or the errors met reading them) as a wide frame, one row each.

    A record that fails validation, or an exception in place of a record, becomes a
    row carrying its reason in the ``input_error`` column: reported, never screened.
    """
    rows: list[dict[str, Any]] = []
    dx_n = tr_n = md_n = 0
    for item in items:
        if isinstance(item, Exception):
            rows.append({INPUT_ERROR_COLUMN: str(item)})
            continue
        try:
            record = ScreeningRecord.parse(item)
        except RecordError as exc:
            rows.append({INPUT_ERROR_COLUMN: str(exc)})
            continue
        rows.append(record_to_row(record))
        dx_n = max(dx_n, len(record.diagnoses or ()))
        tr_n = max(tr_n, len(record.antidepressant_trials or ()))
        md_n = max(md_n, len(record.current_medications or ()))
    cols = wide_columns(diagnosis_slots=dx_n, trial_slots=tr_n, medication_slots=md_n)
    frame = typed_frame(rows, cols)
    frame.index = pd.RangeIndex(1, len(rows) + 1, name="row")
    return frame


def _read_jsonl(path: Path) -> pd.DataFrame:
    _check_file_size(path)
    line_max = size_limit("jsonl_line_max_chars")

    def items() -> Iterable[ScreeningRecord | Exception]:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if len(line) > line_max:
                    yield RecordError(
                        f"line {number} has {len(line):,} characters; the limit is "
                        f"{line_max:,} (jsonl_line_max_chars): one screening record per line"
                    )
                    continue
                if not line.strip():
                    yield RecordError(f"line {number} is empty: write one JSON record per line")
                    continue
                try:
                    yield ScreeningRecord.parse_json(line)
                except RecordError as exc:
                    yield exc

    return frame_from_records(items())


_CSV_OPTIONS: dict[str, Any] = {
    "dtype": "category",
    "keep_default_na": False,
    "na_values": [""],
    "skipinitialspace": True,
}


def _check_file_size(path: Path) -> None:
    limit = size_limit("input_file_max_bytes")
    size = path.stat().st_size
    if size > limit:
        msg = (
            f"input {str(path)!r} is {size:,} bytes; the limit is {limit:,} bytes "
            f"(input_file_max_bytes): split the cohort into smaller files"
        )
        raise InvalidInputError(msg)


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and every non-blank row with its file line, read by the csv module.

    Raises InvalidInputError for a file that breaks a size limit (columns, cell length)
    or that the csv module cannot read, naming the line.
    """
    cell_max = size_limit("csv_cell_max_chars")
    columns_max = size_limit("csv_columns_max")
    old_limit = csv.field_size_limit()
    csv.field_size_limit(cell_max)
    rows: list[tuple[int, list[str]]] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, skipinitialspace=True)
            try:
                for cells in reader:
                    if not cells:
                        continue
                    if len(cells) > columns_max:
                        msg = (
                            f"input {str(path)!r} line {reader.line_num} has {len(cells):,} "
                            f"cells; the limit is {columns_max:,} (csv_columns_max): check the "
                            f"separator, or drop unused slot columns"
                        )
                        raise InvalidInputError(msg)
                    rows.append((reader.line_num, cells))
            except csv.Error as exc:
                msg = (
                    f"input {str(path)!r} line {reader.line_num} cannot be read as CSV ({exc}); "
                    f"a cell may hold at most {cell_max:,} characters (csv_cell_max_chars): "
                    f"check the quoting"
                )
                raise InvalidInputError(msg) from None
    finally:
        csv.field_size_limit(old_limit)
    if not rows:
        msg = f"input {str(path)!r} is empty: it needs a header row in the screening layout"
        raise InvalidInputError(msg)
    return rows[0][1], rows[1:]


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a wide-layout CSV. A row with fewer or more cells than the header is malformed.

    The csv module first counts each row's cells (a cut-short row must never be read as
    if its missing answers were blank); a file whose rows all fit is then read by
    pandas' fast parser, and the rows of one that does not are read one by one.
    """
    _check_file_size(path)
    header, body = _csv_rows(path)
    width = len(header)
    fits = all(len(cells) == width for _, cells in body)
    frame = None
    if fits:
        try:
            frame = pd.read_csv(path, encoding="utf-8-sig", **_CSV_OPTIONS)
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            frame = None
        if frame is not None and len(frame) != len(body):
            frame = None  # pandas and csv disagree on the rows: trust the row-by-row read
    if frame is None:
        frame = _frame_from_rows(header, body)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame


def _frame_from_rows(header: list[str], body: list[tuple[int, list[str]]]) -> pd.DataFrame:
    """A frame of the rows that have as many cells as the header; the others become errors."""
    width = len(header)
    good: list[list[str]] = []
    errors: list[str | None] = []
    for line, cells in body:
        if len(cells) == width:
            good.append(cells)
            errors.append(None)
        else:
            good.append([""] * width)
            short = "missing cells are never read as blank" if len(cells) < width else ""
            errors.append(
                f"line {line} has {len(cells)} cells but the header has {width}"
                + (f" ({short})" if short else "")
                + ": check separators and quoting, and that the row was not cut short"
            )
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *good])
    buffer.seek(0)
    frame = pd.read_csv(buffer, **_CSV_OPTIONS)
    if INPUT_ERROR_COLUMN in frame.columns:
        given = frame[INPUT_ERROR_COLUMN].astype(object).to_numpy()
        errors = [e if e is not None else g for e, g in zip(errors, given, strict=True)]
    frame[INPUT_ERROR_COLUMN] = pd.array(errors, dtype=object)
    return frame


def read_cohort(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a cohort file into the wide layout, indexed by row number (1-based).

    ``.csv``: the wide layout (README.md lists the columns). ``.jsonl`` / ``.ndjson``:
    one screening record per line, as the JSON Schema describes; a line that is not a
    valid record becomes a row with its reason in ``input_error``.

    Raises:
        InvalidInputError: the file is missing, unreadable, or of another type.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"input {str(p)!r} does not exist or is not a file: give the path of a .csv or .jsonl"
        raise InvalidInputError(msg)
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(p)
        if suffix in (".jsonl", ".ndjson"):
            return _read_jsonl(p)
        if suffix == ".parquet":
            return _read_parquet(p)
    except UnicodeDecodeError as exc:
        msg = (
            f"input {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}): "
            f"re-save it as UTF-8"
        )
        raise InvalidInputError(msg) from None
    except OSError as exc:
        msg = f"input {str(p)!r} cannot be read: {exc.strerror or exc}"
        raise InvalidInputError(msg) from None
    msg = (
        f"input {str(p)!r}: use a .csv or .parquet (wide layout) or .jsonl (one JSON record "
        f"per line) file"
    )
    raise InvalidInputError(msg)


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file in the wide layout, read with pyarrow, indexed by row number."""
    import pyarrow as pa

    _check_file_size(path)  # the same input size limit as CSV (limits.toml)
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except (pa.ArrowException, ValueError) as exc:
        msg = f"input {str(path)!r} cannot be read as Parquet ({exc}); write it with pandas/pyarrow"
        raise InvalidInputError(msg) from None
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def write_parquet(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, protocol: ProtocolInfo | None = None
) -> Path:
    """Write ``frame`` to Parquet (pyarrow), recording the protocol in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if protocol is not None:
        meta = dict(table.schema.metadata or {})
        meta[b"kaptools.protocol"] = json.dumps(
            {"name": protocol.name, "version": protocol.version, "sha256": protocol.sha256}
        ).encode()
        table = table.replace_schema_metadata(meta)
    pq.write_table(table, out)
    return out
