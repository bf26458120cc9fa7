"""Reading case tables in bounded chunks: CSV, JSON Lines, Parquet files and Parquet datasets.

Every chunk carries the 1-based row number of each record (``_row``) and its file (``_file``),
so that every input row ends up either in the output or in the errors, with its number.

CSV and JSON Lines are parsed by Polars a block of lines at a time. A block Polars cannot parse
(a truncated last line, a ragged row, broken JSON) is split in halves until the bad lines are
isolated: the good lines are still parsed by Polars, and only a bad line is looked at alone, to
say what is wrong with it. (A CSV record must therefore sit on one line, as writers produce it.)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

import polars as pl

from safethird.facts import CaseError, parse_case

ROW, FILE, LINE = "_row", "_file", "_line"
BLOCK_BYTES = 32 << 20


class UnusableInput(ValueError):
    """The input cannot be read at all (exit 2): no row can be accounted for."""


@dataclass
class Chunk:
    frame: pl.DataFrame  # raw columns + _row, _file
    errors: list[dict] = field(default_factory=list)  # rows that could not even be parsed
    rows: int = 0  # input rows in this chunk (parsed + unparsable)
    progress: int = 0  # bytes or rows consumed, for the progress bar


def input_kind(path: Path) -> str:
    if path.is_dir():
        if not any(path.glob("*.parquet")):
            raise UnusableInput(f"{path}: a folder must hold Parquet files (a dataset)")
        return "dataset"
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet", ".jsonl"):
        return suffix[1:]
    if suffix == ".ndjson":
        return "jsonl"
    raise UnusableInput(f"{path}: unknown input type (use .csv, .jsonl, .parquet or a folder of "
                        f"Parquet files)")


def dataset_files(path: Path) -> list[Path]:
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path]


def total_size(path: Path) -> tuple[int, str]:
    """(total, unit) for the progress bar: rows for Parquet, bytes for text."""
    kind = input_kind(path)
    if kind in ("parquet", "dataset"):
        return sum(parquet_rows(f) for f in dataset_files(path)), "rows"
    return path.stat().st_size, "bytes"


def parquet_rows(path: Path) -> int:
    """Rows of a Parquet file, from its footer (nothing else is read)."""
    try:
        return pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as exc:  # not Parquet, a truncated footer
        raise UnusableInput(f"{path}: not a readable Parquet file ({exc})") from None


BOMS = {b"\xef\xbb\xbf": None, b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def _open_text(path: Path) -> BinaryIO:
    """A text input opened past its UTF-8 byte-order mark (Excel's "CSV UTF-8" writes one);
    UTF-16 ("Unicode text") is refused with what to do instead."""
    fh = path.open("rb")
    start = fh.read(3)
    for bom, encoding in BOMS.items():
        if start.startswith(bom):
            if encoding:
                fh.close()
                raise UnusableInput(f"{path}: {encoding} text; save it as UTF-8 (in a "
                                    f"spreadsheet program: \"CSV UTF-8\")")
            fh.seek(len(bom))
            return fh
    fh.seek(0)
    return fh


def input_columns(path: Path) -> list[tuple[str, list[str]]]:
    """(file, column names) of each table of the input, for the header check; none for JSON
    Lines (each line has its own keys)."""
    kind = input_kind(path)
    if kind == "jsonl":
        return []
    if kind == "csv":
        with _open_text(path) as fh:
            header = fh.readline()
        try:
            text = header.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnusableInput(f"{path}: line 1 (header): not UTF-8 text (byte "
                                f"0x{header[exc.start]:02X}); save it as UTF-8") from None
        if not text.strip():
            raise UnusableInput(f"{path}: empty CSV file (no header line)")
        return [(str(path), next(csv.reader([text])))]
    out = []
    for f in dataset_files(path):
        try:
            schema = pl.read_parquet_schema(f)
        except Exception as exc:  # not Parquet, a truncated footer
            raise UnusableInput(f"{f}: not a readable Parquet file ({exc})") from None
        names = []
        for name, dtype in schema.items():
            if name in ("arrival", "fear_of_receiving_country") and isinstance(dtype, pl.Struct):
                prefix = "arrival." if name == "arrival" else "fear_of_receiving_country."
                names += [prefix + f.name for f in dtype.fields]
            else:
                names.append(name)
        out.append((str(f), names))
    return out


def read_chunks(path: Path, chunk_rows: int = 1_000_000) -> Iterator[Chunk]:
    for task in chunk_tasks(path, chunk_rows):
        yield task()


def chunk_tasks(path: Path, chunk_rows: int = 1_000_000) -> Iterator[Callable[[], Chunk]]:
    """One deferred read per chunk, in input order. Only the sequential part (where each chunk
    starts) runs while iterating; reading and parsing run when a task is called, so that
    chunks can be read on worker threads while earlier ones are decided and written."""
    kind = input_kind(path)
    if kind in ("parquet", "dataset"):
        for f, offset, n, start in parquet_slices(path, chunk_rows):
            yield partial(read_parquet_slice, f, offset, n, start)
    else:
        yield from _text_tasks(path, kind)


def parquet_slices(path: Path, chunk_rows: int) -> Iterator[tuple[Path, int, int, int]]:
    """(file, offset in the file, rows, rows before it in the input) for each chunk."""
    start = 0
    for f in dataset_files(path):
        n_rows = parquet_rows(f)
        for offset in range(0, n_rows, chunk_rows):
            n = min(chunk_rows, n_rows - offset)
            yield f, offset, n, start
            start += n


def read_parquet_slice(f: Path, offset: int, n: int, start: int) -> Chunk:
    """Rows ``offset .. offset + n`` of one Parquet file (Polars reads only the row groups
    that hold them), numbered from ``start + 1`` in the whole input."""
    try:
        frame = pl.scan_parquet(f).slice(offset, n).collect()
    except Exception as exc:  # a damaged page, a truncated file
        raise UnusableInput(f"{f}: cannot read Parquet data after row {start} ({exc})"
                            ) from None
    if frame.height != n:
        raise UnusableInput(f"{f}: expected {n} rows after row {start}, read {frame.height}")
    frame = frame.with_columns(
        pl.int_range(start + 1, start + n + 1, dtype=pl.Int64).alias(ROW),
        pl.lit(str(f)).alias(FILE))
    return Chunk(frame, [], n, n)


def _text_tasks(path: Path, kind: str) -> Iterator[Callable[[], Chunk]]:
    with _open_text(path) as fh:
        header = b""
        if kind == "csv":
            header = fh.readline()
            if not header.strip():
                raise UnusableInput(f"{path}: empty CSV file (no header line)")
            if not header.endswith(b"\n"):
                header += b"\n"
        start = 0
        line = 1 if kind == "csv" else 0  # physical lines before the block (header = line 1)
        rest = b""
        while True:
            block = fh.read(BLOCK_BYTES)
            data = rest + block
            if not block:
                if not data.strip():
                    break
                last, rest = data, b""
            else:
                cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                last, rest = data[:cut + 1], data[cut + 1:]
            lines = last.splitlines(keepends=True)
            yield partial(_parse_lines, lines, header, kind, path, start, len(last), line)
            start += sum(not _blank(ln) for ln in lines)
            line += len(lines)
            if not block:
                break


def _parse_block(data: bytes, header: bytes, kind: str) -> pl.DataFrame:
    if kind == "csv":
        return pl.read_csv(io.BytesIO(header + data), infer_schema=False)
    return pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)


def _csv_fields(*lines: bytes) -> tuple[list[int], list[bool]]:
    """Per line: the number of comma-separated fields outside quotes, and whether its quotes
    are balanced (an odd count means the line was cut inside a quoted field); a line that is
    not UTF-8 counts 0 fields."""
    stripped = [ln.rstrip(b"\r\n") for ln in lines]
    try:  # the usual case, checked for the whole block at once
        b"\n".join(stripped).decode("utf-8")
    except UnicodeDecodeError:
        stripped = [ln if _utf8(ln) else None for ln in stripped]
    text = pl.Series(stripped, dtype=pl.Binary).cast(pl.String)
    unquoted = text.str.replace_all(r'"(?:[^"]|"")*"', "")
    fields = (unquoted.str.count_matches(",") + 1).fill_null(0).to_list()
    balanced = (text.str.count_matches('"') % 2 == 0).fill_null(False).to_list()
    return fields, balanced


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _blank(line: bytes) -> bool:
    return not line.strip()


def _parse_lines(lines: list[bytes], header: bytes, kind: str, path: Path, start: int,
                 progress: int = 0, line: int = 0) -> Chunk:
    """Parse lines (1 record each; blank lines are not records) with the bisection fallback.
    ``line``: the physical lines before these (a row's line in the file is kept beside its
    row number, for the errors: a spreadsheet shows line numbers, the header as line 1)."""
    frames: list[pl.DataFrame] = []
    errors: list[dict] = []
    kept = [(line + k + 1, ln) for k, ln in enumerate(lines) if not _blank(ln)]
    line_of = {i: at for i, (at, _) in enumerate(kept, start=start + 1)}
    numbered = [(i, ln) for i, (_, ln) in enumerate(kept, start=start + 1)]
    n_records = len(numbered)
    if kind == "csv" and numbered:
        # Polars fills a short row with nulls: a cut-off line would pass as unknown facts.
        # Count each line's fields (outside quotes), vectorized, and keep whole rows only.
        n_fields = _csv_fields(header)[0][0]
        fields, balanced = _csv_fields(*(ln for _, ln in numbered))
        good = []
        for (i, ln), k, ok in zip(numbered, fields, balanced, strict=True):
            if k == n_fields and ok:
                good.append((i, ln))
            else:
                errors.extend(_diagnose(i, ln, header, kind, path, ValueError(
                    f"{k} fields, header has {n_fields}")))
        numbered = good

    def parse(part: list[tuple[int, bytes]]) -> None:
        if not part:
            return
        try:
            frame = _parse_block(b"".join(ln if ln.endswith(b"\n") else ln + b"\n"
                                          for _, ln in part), header, kind)
            if frame.height != len(part):
                raise ValueError("record count differs from line count")
            frames.append(frame.with_columns(
                pl.Series(ROW, [i for i, _ in part], dtype=pl.Int64),
                pl.Series(LINE, [line_of[i] for i, _ in part], dtype=pl.Int64),
                pl.lit(str(path)).alias(FILE)))
        except Exception as exc:
            if len(part) == 1:
                errors.extend(_diagnose(part[0][0], part[0][1], header, kind, path, exc))
            else:
                mid = len(part) // 2
                parse(part[:mid])
                parse(part[mid:])

    parse(numbered)
    for e in errors:
        e["line"] = line_of[e["row"]]
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(
        {ROW: [], LINE: [], FILE: []}, schema={ROW: pl.Int64, LINE: pl.Int64, FILE: pl.String})
    return Chunk(frame.sort(ROW), errors, n_records, progress)


def _diagnose(row: int, line: bytes, header: bytes, kind: str, path: Path,
              exc: Exception) -> list[dict]:
    """Why one line cannot be read: every field and message when we can tell."""
    text = line.decode("utf-8", errors="replace").rstrip("\n")
    if kind == "jsonl":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            return [_error(path, row, None, "(row)",
                           f"not valid JSON ({e.msg}; truncated line?)")]
        except RecursionError:
            return [_error(path, row, None, "(row)", "not valid JSON (nested too deeply)")]
        case_id = data.get("id") if isinstance(data, dict) else None
        try:
            parse_case(data)
        except CaseError as e:
            return [_error(path, row, case_id, f, m) for f, m in e.problems]
        return [_error(path, row, case_id, "(row)",
                       f"could not be read as a table row ({exc})")]
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        return [_error(path, row, None, "(row)",
                       f"not UTF-8 text (byte 0x{line[e.start]:02X}); save the file as UTF-8 "
                       f"(in a spreadsheet program: \"CSV UTF-8\"): {text[:80]!r}")]
    return [_error(path, row, None, "(row)",
                   f"malformed CSV row ({exc}; truncated line or an unbalanced quote?): "
                   f"{text[:80]!r}")]


def _error(path: Path, row: int, case_id: object, field_: str, message: str) -> dict:
    return {"file": str(path), "row": row, "id": case_id if isinstance(case_id, str) else None,
            "field": field_, "message": message}
