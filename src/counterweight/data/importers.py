"""Read the user's own data files (CSV or Parquet) into validated frames.

Every reader accepts CSV (optionally gzip-compressed) or Parquet, maps common column names
(``Date``/``date``, ``Adj Close``/``adj_close``, ``Symbol``/``Ticker``, ...) onto canonical ones,
and validates: each problem raises :class:`~counterweight.errors.InputError` naming the file, the
row (1-based as in an editor: the CSV header is row 1, so the first data row is row 2; for
Parquet, the record number) and the column, and what was expected.

Layouts: *long* (one row per date and ticker: ``date, ticker, value``) or *wide* (a date column
and one column per ticker). Layout is detected from the columns: a ticker column means long.

Readers and what they return:

* :func:`read_prices` -> wide DataFrame (DatetimeIndex x ticker) of positive prices
* :func:`read_caps` -> long DataFrame (date, ticker, market_cap | shares)
* :func:`read_securities` -> DataFrame indexed by ticker (name, issuer, sector, industry)
* :func:`read_membership` -> DataFrame (ticker, start, end) with end exclusive (NaT = still in)
* :func:`read_fundamentals` -> long DataFrame (date, ticker, numeric fields ...)
* :func:`read_french` -> DataFrame (DatetimeIndex x factor) in fractions, from Ken French's files
"""

from __future__ import annotations

import csv
import datetime
import functools
import gzip
import re
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from counterweight.errors import CounterweightError, InputError
from counterweight.market import normalize_ticker

ALIASES: dict[str, tuple[str, ...]] = {
    "date": (
        "date",
        "dates",
        "datetime",
        "timestamp",
        "time",
        "as_of",
        "asof",
        "as_of_date",
        "snapshot_date",
        "month_end",
        "trade_date",
        "pricing_date",
        "period",
    ),
    "ticker": (
        "ticker",
        "symbol",
        "tic",
        "ric",
        "code",
        "security",
        "sym",
        "ticker_symbol",
        "instrument",
    ),
    "price": (
        "adj_close",
        "adjclose",
        "adjusted_close",
        "adj_close_price",
        "total_return",
        "total_return_index",
        "tr",
        "tri",
        "price",
        "close",
        "last",
        "px_last",
        "close_price",
    ),
    "close": ("close", "close_price", "px_last", "last"),
    "market_cap": (
        "market_cap",
        "market_cap_usd",
        "marketcap",
        "mkt_cap",
        "mktcap",
        "cap",
        "market_value",
        "market_capitalization",
        "cur_mkt_cap",
    ),
    "shares": ("shares", "shares_outstanding", "shares_out", "sharesoutstanding", "so", "shrout"),
    "name": (
        "name",
        "security_name",
        "company",
        "company_name",
        "security",
        "description",
        "long_name",
    ),
    "issuer": ("issuer", "issuer_name", "company_id", "issuer_id", "parent"),
    "sector": ("sector", "gics_sector", "gics_sector_name"),
    "industry": (
        "industry",
        "gics_sub_industry",
        "sub_industry",
        "gics_industry",
        "sub_industry_or_sector",
    ),
    "cik": ("cik", "cik_code"),
    "start": (
        "start",
        "start_date",
        "opt_in",
        "date_added",
        "added",
        "entry_date",
        "join_date",
        "from",
    ),
    "end": (
        "end",
        "end_date",
        "opt_out",
        "date_removed",
        "removed",
        "exit_date",
        "leave_date",
        "to",
    ),
}

MAX_ERRORS_SHOWN = 1

MIN_DATE = pd.Timestamp("1900-01-01")
"""Earliest date any file may carry (Ken French's factors start in 1926)."""
FUTURE_DAYS = 366
"""Latest date: today + this many days (snapshots and membership ends may be a little ahead)."""

MAX_MARKET_CAP = 1e14
"""USD; the largest company is about 5e12, so a larger value is a unit error."""
MAX_SHARES = 1e13
"""Shares outstanding of one class; the most of any listed class is about 3e10."""
MAX_FACTOR_FRACTION = 1.0
"""A factor return beyond +-100% in one period, in a file read as fractions, is percent."""
MAX_FRENCH_PERCENT = 1000.0

MISSING_TOKENS = frozenset(
    {"", "NA", "N/A", "NAN", "NULL", "NONE", "-", "#N/A", "NAT", "<NA>", "N.A.", "NAN%"}
)
NULL_SPELLINGS = frozenset(
    {"nan", "NaN", "None", "none", "null", "NaT", "<NA>", "#N/A", "N/A", "n/a", "na"}
)
"""How a missing value is spelled when software writes it as text. A *ticker* in one of these
spellings is refused as missing; upper-case words are tickers (NA, NAN, NAT are listed)."""
NON_FINITE_TOKENS = frozenset({"INF", "+INF", "-INF", "INFINITY", "+INFINITY", "-INFINITY"})
TICKER_PATTERN = re.compile(r"^[A-Z0-9^$][A-Z0-9\-=^$]{0,19}$")
"""A normalised ticker: letters, digits, '-' (class separator), '^' (indices), '=' and '$'."""

_DATE_FORMATS: dict[str, re.Pattern[str]] = {
    "YYYY-MM-DD": re.compile(
        r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
        r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d{1,9})?)?)?"
        r"\s*(?P<tz>Z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
    ),
    "YYYYMMDD": re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
    "YYYY/MM/DD": re.compile(r"^(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})$"),
}
"""Accepted date spellings. A file uses one of them throughout; day-month orders such as
``05.01.2024`` or ``01/05/2024`` are ambiguous and refused. A time of day and a UTC offset
may follow an ISO date; the date is the *local trading date as written*: the offset is not
applied (``2024-01-02T00:00:00+05:00`` is 2024-01-02)."""


_R = TypeVar("_R")


def one_line_errors(reader: Callable[..., _R]) -> Callable[..., _R]:
    """Last line of defence for the one-line promise: an exception that is not an
    :class:`InputError` (a bug, or a fault no check anticipates) still reaches the user as one
    line naming the file, marked as an internal error so that tests count it as a defect."""

    @functools.wraps(reader)
    def wrapper(path: str | Path, *args: Any, **kwargs: Any) -> _R:
        try:
            return reader(path, *args, **kwargs)
        except CounterweightError:
            raise
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise InputError(
                f"could not be read (internal error {type(exc).__name__}: {_first_line(exc)}); "
                "please report it",
                file=path,
            ) from exc

    return wrapper


def canonical(name: str) -> str:
    """Column-name key: lower case, non-alphanumerics collapsed to '_' (``Adj Close`` -> adj_close)."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def find_column(columns: Iterable[str], field: str) -> str | None:
    """The first column whose canonical name is an alias of ``field`` (aliases in priority order)."""
    by_key = {canonical(c): c for c in columns}
    for alias in ALIASES[field]:
        if alias in by_key:
            return by_key[alias]
    return None


def _row(values: pd.Series | pd.DataFrame, i: int) -> int:
    """The user-facing row of positional record ``i`` (frames are indexed by row number)."""
    return int(values.index[i])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_header(names: list[str], p: Path, row: int = 1) -> list[str]:
    """Header names stripped; refuses empty names (but a wide file's first column) and names
    that are the same field twice (``PE`` and ``pe``, ``AAPL`` and ``AAPL``, ``BRK.B`` and ``BRK-B``)."""
    out = [str(n).strip() for n in names]
    seen: dict[str, int] = {}
    for j, name in enumerate(out):
        if not name:
            if j == 0:
                continue
            raise InputError(
                f"column {j + 1} has an empty name in the header; every column needs a name",
                file=p,
                row=row,
            )
        key = canonical(name) or name
        if key in seen:
            first = out[seen[key]]
            raise InputError(
                f"duplicate column: '{first}' (column {seen[key] + 1}) and '{name}' (column {j + 1}) "
                "name the same field; keep one",
                file=p,
                row=row,
                column=name,
            )
        seen[key] = j
    return out


def _read_csv(p: Path, sep: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    opener = gzip.open if p.name.lower().endswith(".gz") else open
    with opener(p, "rt", encoding="utf-8-sig", newline="") as fh:  # type: ignore[operator]
        first = fh.readline()
    if not first.strip():
        raise InputError(
            "the file is empty or starts with a blank line; expected a header row", file=p
        )
    names = _check_header(next(csv.reader([first], delimiter=sep)), p)
    cols = [f"c{j}" for j in range(len(names))]
    invalid: list[tuple[int, int, int]] = []

    def on_invalid(row: Any) -> str:
        if not invalid:
            invalid.append((row.number or 0, row.actual_columns, row.expected_columns))
        return "skip"

    table = pacsv.read_csv(
        p,
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=cols, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter=sep, invalid_row_handler=on_invalid, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in cols},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if invalid:
        number, actual, expected = invalid[0]
        what = "is missing field(s)" if actual < expected else "has extra field(s)"
        raise InputError(
            f"{what}: {actual} field(s), the header has {expected}",
            file=p,
            row=number or None,
        )
    frame = table.to_pandas()
    frame.columns = pd.Index(names)
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # row numbers as an editor counts lines
    text = frame.astype(str)
    blank = (text.apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
    return frame.loc[~blank] if blank.any() else frame


def _read_parquet(p: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    schema = pq.read_schema(p)
    _check_header([n for n in schema.names if not n.startswith("__index_level_")], p)
    frame = pq.read_table(p).to_pandas()
    if not isinstance(frame.index, pd.RangeIndex):  # a stored index (dates) becomes a column
        frame = frame.reset_index()
    _check_header([str(c) for c in frame.columns], p)
    frame.columns = pd.Index([str(c).strip() for c in frame.columns])
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # record numbers
    return frame


def read_table(path: str | Path, *, default_csv: bool = False) -> tuple[pd.DataFrame, bool]:
    """Read a CSV (.csv, .csv.gz, .txt, .tsv) or Parquet file; returns (frame, is_csv).

    CSV cells are strings. The frame is indexed by the row as the user sees it: the line
    number for CSV (header = row 1; rows that are entirely empty are dropped but the numbering
    is kept), the 1-based record number for Parquet. Refused here: empty and duplicate column
    names, rows with missing or extra fields, unreadable or truncated (gzip) content.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("is a directory, expected a CSV or Parquet file", file=p)
    name = p.name.lower()
    is_parquet = name.endswith((".parquet", ".pq"))
    is_csv = name.endswith((".csv", ".csv.gz", ".txt", ".tsv", ".tsv.gz", ".gz"))
    if not (is_parquet or is_csv or default_csv):
        raise InputError("unknown file type: expected .csv, .csv.gz, .tsv or .parquet", file=p)
    try:
        if is_parquet:
            return _read_parquet(p), False
        return _read_csv(p, "\t" if ".tsv" in name else ","), True
    except InputError:
        raise
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text: save the file as UTF-8 CSV", file=p) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"the compressed file is truncated or corrupt ({_first_line(exc)})", file=p
        ) from None
    except Exception as exc:  # pyarrow's and the OS's errors: the user's file, not our bug
        msg = _first_line(exc)
        if "UTF8" in msg or "UTF-8" in msg:
            raise InputError("not UTF-8 text: save the file as UTF-8 CSV", file=p) from None
        if name.endswith(".gz") and ("compress" in msg.lower() or "gzip" in msg.lower()):
            raise InputError(
                f"the compressed file is truncated or corrupt ({msg})", file=p
            ) from None
        kind = "Parquet" if is_parquet else "CSV"
        raise InputError(f"cannot read the file as {kind}: {msg}", file=p) from None


def _date_key_error(text: str) -> str:
    if re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", text):
        return f"ambiguous date {text!r}: day-month orders are refused; write dates as YYYY-MM-DD"
    return f"cannot parse date {text!r} (expected YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)"


def _parse_dates(values: pd.Series, p: Path, column: str) -> pd.DatetimeIndex:
    """Dates of a column as midnight timestamps: one accepted format per file, calendar-valid,
    within MIN_DATE .. today + FUTURE_DAYS, every row present. Time zones are not applied."""
    if len(values) == 0:
        return pd.DatetimeIndex([])
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)  # wall-clock (local) date, no shift
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.DatetimeIndex(values)
        bad = np.flatnonzero(out.isna())
        if len(bad):
            raise InputError("missing date", file=p, row=_row(values, int(bad[0])), column=column)
        return _date_range_check(out.normalize(), values, p, column)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_float_dtype(values):
        raise InputError(
            f"expected dates, got numbers ({values.iloc[0]!r})",
            file=p,
            row=_row(values, 0),
            column=column,
        )
    if values.dtype == object:
        non_null = values[values.notna()]
        if len(non_null) and all(isinstance(v, (datetime.date, pd.Timestamp)) for v in non_null):
            stamps = [
                pd.Timestamp(v).tz_localize(None) if pd.Timestamp(v).tzinfo else pd.Timestamp(v)
                for v in non_null
            ]
            full = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
            full[non_null.index] = pd.DatetimeIndex(stamps).as_unit("ns")
            return _parse_dates(full, p, column)
    nulls = values.isna().to_numpy()
    text = values.astype(str).str.strip()
    text[nulls] = ""
    codes, uniques = pd.factorize(text.to_numpy(dtype=object), sort=False)
    uniq = [str(u) for u in uniques]
    fmt_name: str | None = None
    fmt_row = 0
    parsed = np.empty(len(uniq), dtype="datetime64[ns]")
    first_pos: dict[int, int] = {int(c): i for i, c in reversed(list(enumerate(codes)))}
    for k, raw in sorted(enumerate(uniq), key=lambda kv: first_pos[kv[0]]):
        i = first_pos[k]
        if raw.upper() in MISSING_TOKENS:
            raise InputError("missing date", file=p, row=_row(values, i), column=column)
        names = [n for n, rx in _DATE_FORMATS.items() if rx.match(raw)]
        if not names:
            raise InputError(_date_key_error(raw), file=p, row=_row(values, i), column=column)
        if fmt_name is None:
            fmt_name, fmt_row = names[0], _row(values, i)
        elif fmt_name not in names:
            raise InputError(
                f"date {raw!r} is not in this file's format {fmt_name} (set by row {fmt_row}); "
                "use one date format throughout",
                file=p,
                row=_row(values, i),
                column=column,
            )
        m = _DATE_FORMATS[fmt_name].match(raw)
        assert m is not None
        parts = m.groupdict()
        hour, minute, sec = (int(parts.get(x) or 0) for x in ("H", "M", "S"))
        try:
            if hour > 23 or minute > 59 or sec > 60:
                raise ValueError
            stamp = pd.Timestamp(year=int(parts["y"]), month=int(parts["m"]), day=int(parts["d"]))
        except ValueError:
            raise InputError(
                f"cannot parse date {raw!r}: not a calendar date",
                file=p,
                row=_row(values, i),
                column=column,
            ) from None
        parsed[k] = stamp.to_datetime64()
    out = pd.DatetimeIndex(parsed[codes])
    return _date_range_check(out, values, p, column)


def _date_range_check(
    out: pd.DatetimeIndex, values: pd.Series, p: Path, column: str
) -> pd.DatetimeIndex:
    hi = pd.Timestamp.today().normalize() + pd.Timedelta(days=FUTURE_DAYS)
    bad = np.flatnonzero((out < MIN_DATE) | (out > hi))
    if len(bad):
        i = int(bad[0])
        raise InputError(
            f"date {out[i].date()} is outside {MIN_DATE.date()} .. {hi.date()}",
            file=p,
            row=_row(values, i),
            column=column,
        )
    return out


THOUSANDS_PATTERN = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?$")
"""The one accepted use of ',' in a number: thousands groups (``1,234,567.5``)."""


def _parse_numbers(
    values: pd.Series, p: Path, column: str, *, allow_missing: bool = True
) -> np.ndarray:
    """Finite floats of a column; missing tokens (empty, NA, NaN, ...) are NaN unless refused.
    Thousands separators only in their standard form (``1,234,567.5``)."""
    if pd.api.types.is_bool_dtype(values):
        raise InputError("expected numbers, got true/false values", file=p, column=column)
    if pd.api.types.is_numeric_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        raw = values  # only read at an offending position
    else:
        raw = values.astype(str).str.strip()
        raw[values.isna().to_numpy()] = ""
        upper = raw.str.upper()
        missing = upper.isin(MISSING_TOKENS).to_numpy()
        nonfinite = upper.isin(NON_FINITE_TOKENS).to_numpy()
        if nonfinite.any():
            i = int(np.flatnonzero(nonfinite)[0])
            raise InputError(
                f"expected a finite number, got {raw.iloc[i]!r}",
                file=p,
                row=_row(values, i),
                column=column,
            )
        clean = raw.where(~missing, "")
        commas = clean.str.contains(",", regex=False).to_numpy()
        if commas.any():
            ok = clean[commas].str.match(THOUSANDS_PATTERN).to_numpy()
            if not ok.all():
                i = int(np.flatnonzero(commas)[int(np.flatnonzero(~ok)[0])])
                raise InputError(
                    f"expected a number, got {raw.iloc[i]!r} (decimal point '.', thousands ',')",
                    file=p,
                    row=_row(values, i),
                    column=column,
                )
            clean = clean.str.replace(",", "", regex=False)
        num = pd.to_numeric(clean.where(~missing), errors="coerce")
        arr = num.to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(np.isnan(arr) & ~missing)
        if len(bad):
            i = int(bad[0])
            raise InputError(
                f"expected a number, got {raw.iloc[i]!r}",
                file=p,
                row=_row(values, i),
                column=column,
            )
    inf = np.flatnonzero(np.isinf(arr))
    if len(inf):
        i = int(inf[0])
        raise InputError(
            f"expected a finite number, got {raw.iloc[i]!r}",
            file=p,
            row=_row(values, i),
            column=column,
        )
    if not allow_missing:
        miss = np.flatnonzero(np.isnan(arr))
        if len(miss):
            raise InputError("missing value", file=p, row=_row(values, int(miss[0])), column=column)
    return arr


def _check_range(
    arr: np.ndarray,
    values: pd.Series,
    p: Path,
    column: str,
    what: str,
    *,
    positive: bool = True,
    upper: float | None = None,
    unit: str = "",
) -> None:
    """Every present value > 0 (or >= 0) and <= upper; the first offender names row and column."""
    with np.errstate(invalid="ignore"):
        low = (arr <= 0) if positive else (arr < 0)
        high = (arr > upper) if upper is not None else np.zeros(len(arr), dtype=bool)
    bad = np.flatnonzero(low | high)
    if len(bad):
        i = int(bad[0])
        if low[i]:
            need = "positive" if positive else "non-negative"
            msg = f"{what} must be {need}, got {arr[i]:g}"
        else:
            msg = f"{what} {arr[i]:g}{unit} is implausibly large (at most {upper:g}{unit})"
        raise InputError(msg, file=p, row=_row(values, i), column=column)


def _tickers(values: pd.Series, p: Path, column: str) -> pd.Series:
    nulls = values.isna().to_numpy()
    text = values.astype(str).str.strip()
    empty = nulls | (text == "").to_numpy() | text.isin(NULL_SPELLINGS).to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError("empty ticker", file=p, row=_row(values, i), column=column)
    codes, uniques = pd.factorize(text.to_numpy(dtype=object))
    norm = np.array([normalize_ticker(str(u)) for u in uniques], dtype=object)
    for k, t in enumerate(norm):
        if not TICKER_PATTERN.match(t):
            i = int(np.flatnonzero(codes == k)[0])
            raise InputError(
                f"not a ticker: {uniques[k]!r} (expected letters, digits and '.', '-', '^', '='; "
                "at most 20 characters)",
                file=p,
                row=_row(values, i),
                column=column,
            )
    return pd.Series(norm[codes], index=values.index)


def _check_duplicates(dates: pd.DatetimeIndex, tickers: pd.Series, p: Path, column: str) -> None:
    key = pd.DataFrame({"d": dates.to_numpy(), "t": tickers.to_numpy()})
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(
            np.flatnonzero(
                ((key["d"] == key["d"].iloc[i]) & (key["t"] == key["t"].iloc[i])).to_numpy()
            )[0]
        )
        raise InputError(
            f"duplicate (date, ticker) = ({dates[i].date()}, {tickers.iloc[i]}), first seen at row "
            f"{_row(tickers, first)}",
            file=p,
            row=_row(tickers, i),
            column=column,
        )


def _check_unique_dates(dates: pd.DatetimeIndex, values: pd.Series, p: Path, column: str) -> None:
    if dates.has_duplicates:
        i = int(np.flatnonzero(dates.duplicated())[0])
        first = int(np.flatnonzero(dates == dates[i])[0])
        raise InputError(
            f"duplicate date {dates[i].date()}, first seen at row {_row(values, first)}",
            file=p,
            row=_row(values, i),
            column=column,
        )


def _long_values(
    frame: pd.DataFrame, p: Path, value_field: str, value_col: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Validate a long table into columns date, ticker, <value_field> (indexed by row)."""
    dcol = find_column(frame.columns, "date")
    tcol = find_column(frame.columns, "ticker")
    vcol = value_col or find_column(frame.columns, value_field)
    if dcol is None or tcol is None or vcol is None:
        missing = [
            n for n, c in (("date", dcol), ("ticker", tcol), (value_field, vcol)) if c is None
        ]
        raise InputError(
            f"missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns[:12]))}",
            file=p,
        )
    dates = _parse_dates(frame[dcol], p, dcol)
    tick = _tickers(frame[tcol], p, tcol)
    vals = _parse_numbers(frame[vcol], p, vcol)
    _check_duplicates(dates, tick, p, tcol)
    out = pd.DataFrame(
        {"date": dates, "ticker": tick.to_numpy(), value_field: vals}, index=frame.index
    )
    return out, vcol


LONG_MAX_COLUMNS = 40


def _is_long(frame: pd.DataFrame) -> bool:
    """Long layout: a ticker column beside a date column, in a table of few columns (a wide
    table of thousands of tickers may well have a ticker called CODE or SYM)."""
    return (
        find_column(frame.columns, "ticker") is not None and len(frame.columns) <= LONG_MAX_COLUMNS
    )


def _wide_values(
    frame: pd.DataFrame, p: Path, value_field: str
) -> tuple[pd.DataFrame, pd.Series, dict[str, str]]:
    """A wide table validated: (dates x tickers values, the file row of each date,
    {ticker: column name})."""
    dcol = find_column(frame.columns, "date")
    if dcol is None:
        if len(frame.columns) and canonical(frame.columns[0]) in ("", "unnamed_0", "index"):
            dcol = frame.columns[0]
        else:
            raise InputError(
                "unknown layout: expected a long table (date, ticker, value columns) or a wide table "
                "whose first column is a date",
                file=p,
            )
    dates = _parse_dates(frame[dcol], p, dcol)
    _check_unique_dates(dates, frame[dcol], p, dcol)
    value_cols = [c for c in frame.columns if c != dcol]
    if not value_cols:
        raise InputError("no ticker columns next to the date column", file=p)
    header = pd.Series(value_cols, index=pd.RangeIndex(1, len(value_cols) + 1))
    try:
        norm = list(_tickers(header, p, "header"))
    except InputError as exc:
        bad = value_cols[int(exc.row or 1) - 1]
        raise InputError(
            f"column name {bad!r} is not a ticker (a wide file has a date column and one column "
            "per ticker)",
            file=p,
            row=1,
            column=str(bad),
        ) from None
    seen: dict[str, str] = {}
    for raw, t in zip(value_cols, norm, strict=True):
        if t in seen:
            raise InputError(
                f"duplicate ticker column {t} (also as {seen[t]!r})", file=p, row=1, column=str(raw)
            )
        seen[t] = str(raw)
    values = np.empty((len(frame), len(norm)), dtype=float)
    for j, c in enumerate(value_cols):
        values[:, j] = _parse_numbers(frame[c], p, str(c))
    wide = pd.DataFrame(
        values, index=pd.DatetimeIndex(dates, name="date"), columns=pd.Index(norm, name="ticker")
    )
    return (
        wide,
        pd.Series(frame.index.to_numpy(), index=wide.index),
        dict(zip(norm, map(str, value_cols), strict=True)),
    )


def _wide_to_long(
    frame: pd.DataFrame, p: Path, value_field: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """A wide table as long rows (indexed by the file's row); also {ticker: column name}."""
    wide, rows, columns = _wide_values(frame, p, value_field)
    n = wide.shape[1]
    long = pd.DataFrame(
        {
            "date": np.repeat(wide.index.to_numpy(), n),
            "ticker": np.tile(wide.columns.to_numpy(dtype=object), len(wide)),
            value_field: wide.to_numpy().ravel(),
        },
        index=pd.Index(np.repeat(rows.to_numpy(), n)),
    )
    return long, columns


def _check_wide_range(
    wide: pd.DataFrame, rows: pd.Series, field: str, p: Path, columns: dict[str, str]
) -> None:
    """Every present value of a wide panel > 0; the first offender names row, column, ticker, date."""
    arr = wide.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = arr <= 0
    if not bad.any():
        return
    i, j = (int(k[0]) for k in np.nonzero(bad))
    ticker = str(wide.columns[j])
    raise InputError(
        f"{field.replace('_', ' ')} must be positive, got {arr[i, j]:g} for {ticker} on "
        f"{wide.index[i].date()}",
        file=p,
        row=int(rows.iloc[i]),
        column=columns.get(ticker, ticker),
    )


def _check_long_range(
    long: pd.DataFrame,
    field: str,
    p: Path,
    columns: str | dict[str, str],
    *,
    positive: bool = True,
    upper: float | None = None,
    what: str | None = None,
) -> None:
    """Range check on a long frame; names row, column (the ticker's column if wide), ticker, date."""
    arr = long[field].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        low = (arr <= 0) if positive else (arr < 0)
        high = (arr > upper) if upper is not None else np.zeros(len(arr), dtype=bool)
    bad = np.flatnonzero(low | high)
    if not len(bad):
        return
    i = int(bad[0])
    ticker = str(long["ticker"].iloc[i])
    label = what or field.replace("_", " ")
    when = f"for {ticker} on {pd.Timestamp(long['date'].iloc[i]).date()}"
    if low[i]:
        msg = f"{label} must be {'positive' if positive else 'non-negative'}, got {arr[i]:g} {when}"
    else:
        msg = f"{label} {arr[i]:g} {when} is implausibly large (at most {upper:g})"
    column = columns if isinstance(columns, str) else columns.get(ticker, ticker)
    raise InputError(msg, file=p, row=int(long.index[i]), column=column)


def _require_rows(frame: pd.DataFrame, p: Path) -> None:
    if frame.empty or len(frame.columns) == 0:
        raise InputError("no data rows (expected a header row and data rows)", file=p)


@one_line_errors
def read_prices(path: str | Path, field: str = "price") -> pd.DataFrame:
    """Prices (total-return or close) as a wide frame (dates x tickers), every value > 0 or NaN."""
    p = Path(path)
    frame, _ = read_table(p)
    _require_rows(frame, p)
    if _is_long(frame):
        long, column = _long_values(frame, p, field)
        long = long.dropna(subset=[field])
        if long.empty:
            raise InputError("no prices in the file (every value is missing)", file=p)
        _check_long_range(long, field, p, column)
        wide = long.pivot(index="date", columns="ticker", values=field).sort_index()
    else:
        wide, rows, columns = _wide_values(frame, p, field)
        _check_wide_range(wide, rows, field, p, columns)
        present = np.isfinite(wide.to_numpy())
        if not present.any():
            raise InputError("no prices in the file (every value is missing)", file=p)
        wide = wide.loc[present.any(axis=1), present.any(axis=0)]
        wide = wide.sort_index().sort_index(axis=1)
    wide.index.name = "date"
    wide.columns.name = "ticker"
    return wide


@one_line_errors
def read_caps(path: str | Path) -> pd.DataFrame:
    """Market caps (USD) or shares outstanding, long: date, ticker, market_cap | shares (+ price).

    Snapshots are allowed (any dates). Wide files are read as market caps unless their name
    contains 'shares'. Values must be positive and plausible (caps <= 1e14 USD, shares <= 1e13);
    a missing value is an empty cell, never a zero. A long file's close/price column must be
    positive too.
    """
    p = Path(path)
    frame, _ = read_table(p)
    _require_rows(frame, p)
    columns: str | dict[str, str]
    if _is_long(frame):
        if find_column(frame.columns, "market_cap") is not None:
            field = "market_cap"
        elif find_column(frame.columns, "shares") is not None:
            field = "shares"
        else:
            raise InputError(
                "expected a market_cap (USD) or shares column; found "
                + ", ".join(map(str, frame.columns[:12])),
                file=p,
            )
        long, columns = _long_values(frame, p, field)
    else:
        field = "shares" if "shares" in p.name.lower() else "market_cap"
        long, columns = _wide_to_long(frame, p, field)
    long = long.dropna(subset=[field])
    if long.empty:
        raise InputError(f"no {field.replace('_', ' ')} values in the file", file=p)
    upper = MAX_MARKET_CAP if field == "market_cap" else MAX_SHARES
    _check_long_range(long, field, p, columns, upper=upper)
    extra = find_column(frame.columns, "close") if _is_long(frame) else None
    if extra is not None and field == "market_cap":
        px = _parse_numbers(frame[extra], p, extra)
        _check_range(px, frame[extra], p, extra, "close")
        long["price"] = pd.Series(px, index=frame.index).loc[long.index].to_numpy()
    return long.sort_values(["date", "ticker"]).reset_index(drop=True)


@one_line_errors
def read_securities(path: str | Path) -> pd.DataFrame:
    """Security master indexed by ticker with columns name, issuer, sector, industry (+ cik)."""
    p = Path(path)
    frame, _ = read_table(p)
    _require_rows(frame, p)
    tcol = find_column(frame.columns, "ticker")
    if tcol is None:
        raise InputError("missing column ticker (or symbol)", file=p)
    tick = _tickers(frame[tcol], p, tcol)
    dup = tick.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(f"duplicate ticker {tick.iloc[i]}", file=p, row=_row(tick, i), column=tcol)
    out = pd.DataFrame(index=pd.Index(tick.to_numpy(), name="ticker"))
    for field in ("name", "issuer", "sector", "industry", "cik"):
        col = find_column([c for c in frame.columns if c != tcol], field)
        if col is None:
            out[field] = np.nan
            continue
        raw = frame[col]
        vals = raw.astype(str).str.strip().to_numpy(dtype=object)
        vals[raw.isna().to_numpy()] = ""
        missing = np.isin(np.char.upper(vals.astype(str)), list(MISSING_TOKENS))
        out[field] = np.where(missing, np.nan, vals)
    if out["issuer"].isna().all() and out["cik"].notna().any():
        cik = out["cik"].astype(str).str.lstrip("0")
        names = out["name"].fillna(pd.Series(out.index, index=out.index))
        base = names.str.replace(r"\s*\((Class|Series) [A-Z]\)\s*$", "", regex=True)
        out["issuer"] = np.where(out["cik"].notna(), base.groupby(cik).transform("first"), np.nan)
    from counterweight.groups import KNOWN_SHARE_CLASSES

    fallback = pd.Series([KNOWN_SHARE_CLASSES.get(t, t) for t in out.index], index=out.index)
    out["issuer"] = out["issuer"].astype(object).where(out["issuer"].notna(), fallback)
    return out


@one_line_errors
def read_membership(path: str | Path) -> pd.DataFrame:
    """Index membership intervals: ticker, start, end (end exclusive; empty end = still a member).

    Refused: an end before its start (an end equal to the start is an empty interval) and a
    repeated interval. Overlapping intervals of one ticker are kept: membership is their union
    (real lists reuse tickers: AGN, AN and SUN each name two companies with overlapping spans).
    """
    p = Path(path)
    frame, _ = read_table(p)
    _require_rows(frame, p)
    tcol = find_column(frame.columns, "ticker")
    scol = find_column(frame.columns, "start")
    ecol = find_column(frame.columns, "end")
    if tcol is None or scol is None:
        missing = [n for n, c in (("ticker", tcol), ("start", scol)) if c is None]
        raise InputError(
            f"missing column(s) {', '.join(missing)} (expected ticker, start, end)", file=p
        )
    tick = _tickers(frame[tcol], p, tcol)
    start = _parse_dates(frame[scol], p, scol)
    end = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    if ecol is not None:
        raw_end = frame[ecol]
        if pd.api.types.is_datetime64_any_dtype(raw_end):
            present = raw_end.notna().to_numpy()
        else:
            present = (
                ~raw_end.isna().to_numpy()
                & ~raw_end.astype(str).str.strip().str.upper().isin(MISSING_TOKENS).to_numpy()
            )
        if present.any():
            end[present] = _parse_dates(raw_end[present], p, ecol).to_numpy()
        bad = np.flatnonzero((end.notna() & (end.to_numpy() < start.to_numpy())).to_numpy())
        if len(bad):  # end == start is an empty interval (joined and left on one day): allowed
            i = int(bad[0])
            raise InputError(
                f"end {end.iloc[i].date()} is before start {start[i].date()} (end is the first "
                "day out of the index)",
                file=p,
                row=_row(frame, i),
                column=ecol,
            )
    out = pd.DataFrame(
        {"ticker": tick.to_numpy(), "start": start, "end": pd.DatetimeIndex(end)},
        index=frame.index,
    ).sort_values(["ticker", "start"], kind="stable")
    dup = out.duplicated(["ticker", "start", "end"], keep="first").to_numpy()
    if dup.any():  # overlapping intervals are kept (their union: reused tickers overlap)
        k = int(np.flatnonzero(dup)[0])
        row = int(out.index[k])
        first = out[
            (out["ticker"] == out["ticker"].iloc[k])
            & (out["start"] == out["start"].iloc[k])
            & (
                out["end"].isna()
                if pd.isna(out["end"].iloc[k])
                else out["end"] == out["end"].iloc[k]
            )
        ].index.min()
        raise InputError(
            f"duplicate interval of {out['ticker'].iloc[k]} from {out['start'].iloc[k].date()}, "
            f"first seen at row {int(first)}",
            file=p,
            row=row,
            column=tcol,
        )
    return out.reset_index(drop=True)


@one_line_errors
def read_fundamentals(path: str | Path) -> pd.DataFrame:
    """Fundamentals snapshots, long: date, ticker and every other numeric column (eps, pe, ...).

    Field names are the columns' canonical keys; two columns with one key (``PE`` and ``pe``,
    ``Market Cap`` and ``mkt_cap``) are refused. ``market_cap`` and ``price`` must be positive.
    """
    p = Path(path)
    frame, _ = read_table(p)
    _require_rows(frame, p)
    dcol = find_column(frame.columns, "date")
    tcol = find_column(frame.columns, "ticker")
    if dcol is None or tcol is None:
        raise InputError("expected long columns date, ticker, and fields such as eps, pe", file=p)
    dates = _parse_dates(frame[dcol], p, dcol)
    tick = _tickers(frame[tcol], p, tcol)
    _check_duplicates(dates, tick, p, tcol)
    out = pd.DataFrame({"date": dates, "ticker": tick.to_numpy()})
    skip = {
        dcol,
        tcol,
        find_column(frame.columns, "name"),
        find_column(frame.columns, "sector"),
        find_column(frame.columns, "industry"),
    }
    keys: dict[str, str] = {}
    for col in frame.columns:
        if col in skip:
            continue
        key = canonical(col)
        if key in ALIASES["market_cap"]:
            key = "market_cap"
        if key in ALIASES["price"]:
            key = "price" if key in ("price", "close", "adj_close") else key
        if not key or key in ("date", "ticker"):
            raise InputError(
                f"column name {col!r} is not usable as a field name", file=p, row=1, column=str(col)
            )
        if key in keys:
            raise InputError(
                f"columns '{keys[key]}' and '{col}' are both the field {key}; keep one",
                file=p,
                row=1,
                column=str(col),
            )
        keys[key] = str(col)
        vals = _parse_numbers(frame[col], p, str(col))
        if key == "market_cap":
            _check_range(vals, frame[col], p, str(col), "market cap", upper=MAX_MARKET_CAP)
        elif key == "price":
            _check_range(vals, frame[col], p, str(col), "price")
        out[key] = vals
    if len(out.columns) == 2:
        raise InputError("no numeric fields besides date and ticker", file=p)
    return out.sort_values(["date", "ticker"]).reset_index(drop=True)


@one_line_errors
def read_french(path: str | Path) -> pd.DataFrame:
    """A Ken French data-library CSV as published: text header lines, YYYYMMDD (or YYYYMM) dates,
    percent units. Returns the first table (daily or monthly) in fractions, indexed by date.

    The header row is the first line starting with a comma (``,Mkt-RF,SMB,...``); the table
    ends at the first blank line (the annual table that follows is ignored); every line before
    it is a data row.
    Values must be finite numbers of percent (``-99.99`` and ``-999`` are the library's
    missing-value codes); dates are unique and increasing.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("is a directory, expected a Ken French CSV file", file=p)
    try:
        raw_bytes = p.read_bytes()
        if raw_bytes[:2] == b"\x1f\x8b":
            raw_bytes = gzip.decompress(raw_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read the file: {_first_line(exc)}", file=p) from None
    try:
        lines = raw_bytes.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        lines = raw_bytes.decode("latin-1").splitlines()
    header_at = next(
        (i for i, ln in enumerate(lines) if ln.startswith(",") and len(ln.split(",")) > 1), None
    )
    if header_at is None:
        raise InputError(
            "not a Fama-French file: no header line starting with ',' (e.g. ',Mkt-RF,SMB,HML,RF')",
            file=p,
        )
    names = _check_header(
        [""] + [c.strip() for c in lines[header_at].split(",")[1:]], p, row=header_at + 1
    )[1:]
    rows: list[list[float]] = []
    dates: list[pd.Timestamp] = []
    line_of: list[int] = []
    width = None
    for j in range(header_at + 1, len(lines)):
        ln = lines[j].strip()
        if not ln:
            break
        parts = [x.strip() for x in ln.split(",")]
        key = parts[0]
        if not key.isdigit() or len(key) not in (6, 8):
            raise InputError(
                f"expected a date YYYYMMDD or YYYYMM at the start of the line, got {key!r} (the "
                "table ends at the first blank line)",
                file=p,
                row=j + 1,
            )
        if width is None:
            width = len(key)
        elif len(key) != width:
            raise InputError(
                f"date {key!r} mixes YYYYMM and YYYYMMDD in one table", file=p, row=j + 1
            )
        if len(parts) != len(names) + 1:
            raise InputError(
                f"expected {len(names) + 1} fields, got {len(parts)}", file=p, row=j + 1
            )
        fmt = "%Y%m%d" if len(key) == 8 else "%Y%m"
        try:
            d = pd.to_datetime(key, format=fmt)
        except ValueError:
            raise InputError(
                f"not a calendar date: {key!r} (expected YYYYMMDD or YYYYMM)", file=p, row=j + 1
            ) from None
        if len(key) == 6:
            d = d + pd.offsets.MonthEnd(0)
        vals: list[float] = []
        for name, x in zip(names, parts[1:], strict=True):
            try:
                v = float(x)
            except ValueError:
                v = float("nan")
            if not np.isfinite(v) or x.strip().upper() in NON_FINITE_TOKENS:
                raise InputError(
                    f"expected a finite number in percent, got {x!r}",
                    file=p,
                    row=j + 1,
                    column=name,
                )
            if v <= -99.99:  # the library's missing-value codes (-99.99, -999)
                v = float("nan")
            elif abs(v) > MAX_FRENCH_PERCENT:
                raise InputError(
                    f"{v:g}% is implausibly large for a factor return (at most {MAX_FRENCH_PERCENT:g}%)",
                    file=p,
                    row=j + 1,
                    column=name,
                )
            vals.append(v)
        dates.append(d)
        rows.append(vals)
        line_of.append(j + 1)
    if not rows:
        raise InputError("no data rows after the header line", file=p, row=header_at + 1)
    index = pd.DatetimeIndex(dates, name="date")
    where = pd.Series(index, index=pd.Index(line_of))
    _date_range_check(index, where, p, "date")
    _check_unique_dates(index, where, p, "date")
    if not index.is_monotonic_increasing:
        i = int(np.flatnonzero(np.diff(index.asi8) < 0)[0]) + 1
        raise InputError(
            f"date {index[i].date()} is out of order (dates must increase)", file=p, row=line_of[i]
        )
    out = pd.DataFrame(np.array(rows) / 100.0, index=index, columns=names)
    if "Mom" not in out.columns and "WML" in out.columns:
        out = out.rename(columns={"WML": "Mom"})
    return out


@one_line_errors
def read_factors(path: str | Path) -> pd.DataFrame:
    """Factor returns: a Ken French file as published, or a plain CSV/Parquet (date + factor columns,
    in percent when the name contains 'pct', else fractions). Dates are unique; a value beyond
    +-100% in a fractions file is refused as probably percent."""
    p = Path(path)
    if p.is_file() and not p.name.lower().endswith((".parquet", ".pq")):
        try:
            head = p.read_bytes()[:4096]
            if head[:2] == b"\x1f\x8b":
                with gzip.open(p, "rb") as fh:
                    head = fh.read(4096)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(
                f"the compressed file is truncated or corrupt ({_first_line(exc)})", file=p
            ) from None
        text = head.decode("latin-1")
        if any(ln.startswith(",") for ln in text.splitlines()) and not text.lower().startswith(
            "date"
        ):
            return read_french(p)
    frame, _ = read_table(p)
    _require_rows(frame, p)
    dcol = find_column(frame.columns, "date")
    if dcol is None:
        raise InputError("expected a date column and factor columns", file=p)
    dates = _parse_dates(frame[dcol], p, dcol)
    _check_unique_dates(dates, frame[dcol], p, dcol)
    pct = "pct" in p.name.lower()
    scale = 0.01 if pct else 1.0
    data: dict[str, np.ndarray] = {}
    for c in frame.columns:
        if c == dcol:
            continue
        vals = _parse_numbers(frame[c], p, str(c))
        limit = 100.0 * MAX_FACTOR_FRACTION if pct else MAX_FACTOR_FRACTION
        with np.errstate(invalid="ignore"):
            big = np.flatnonzero(np.abs(vals) > limit)
        if len(big):
            i = int(big[0])
            hint = "" if pct else "; if the file is in percent, put 'pct' in its name"
            raise InputError(
                f"factor return {vals[i]:g} is beyond +-{limit:g}{' percent' if pct else ''}{hint}",
                file=p,
                row=_row(frame, i),
                column=str(c),
            )
        data[str(c)] = vals * scale
    if not data:
        raise InputError("no factor columns next to the date column", file=p)
    return pd.DataFrame(data, index=pd.DatetimeIndex(dates, name="date")).sort_index()


KIND_READERS: dict[str, str] = {
    "prices": "read_prices",
    "benchmarks": "read_prices",
    "caps": "read_caps",
    "securities": "read_securities",
    "membership": "read_membership",
    "fundamentals": "read_fundamentals",
    "factors": "read_factors",
}
"""The reader of each store kind (a new kind adds its reader here and its table in the store)."""


def read_kind(path: str | Path, kind: str) -> pd.DataFrame:
    """Read and validate ``path`` with the reader of ``kind`` (see :data:`KIND_READERS`)."""
    if kind not in KIND_READERS:
        raise InputError(
            f"unknown kind {kind!r}: expected one of {', '.join(KIND_READERS)}", file=path
        )
    reader = globals()[KIND_READERS[kind]]
    frame: pd.DataFrame = reader(path)
    return frame


__all__ = [
    "ALIASES",
    "KIND_READERS",
    "canonical",
    "find_column",
    "read_caps",
    "read_factors",
    "read_french",
    "read_fundamentals",
    "read_kind",
    "read_membership",
    "read_prices",
    "read_securities",
    "read_table",
]
