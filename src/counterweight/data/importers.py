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
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from counterweight.errors import InputError
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


def _row(i: int, csv_like: bool) -> int:
    return i + 2 if csv_like else i + 1


def read_table(path: str | Path) -> tuple[pd.DataFrame, bool]:
    """Read a CSV (.csv, .csv.gz, .txt) or Parquet file as strings/values; returns (frame, is_csv)."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("is a directory, expected a CSV or Parquet file", file=p)
    name = p.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(p)
            if not isinstance(
                frame.index, pd.RangeIndex
            ):  # a stored index (dates) becomes a column
                frame = frame.reset_index()
            return frame, False
        if name.endswith((".csv", ".csv.gz", ".txt", ".tsv", ".gz")):
            sep = "\t" if name.endswith(".tsv") else ","
            frame = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
            return frame, True
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot parse the file as CSV: {msg}", file=p) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty, expected a header row and data rows", file=p) from None
    except (OSError, ValueError) as exc:  # pyarrow errors derive from these
        raise InputError(f"cannot read the file: {str(exc).splitlines()[0]}", file=p) from None
    raise InputError("unknown file type: expected .csv, .csv.gz, .tsv or .parquet", file=p)


def _parse_dates(values: pd.Series, p: Path, column: str, csv_like: bool) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.DatetimeIndex(values)
        bad = np.flatnonzero(out.isna())
    else:
        text = values.astype(str).str.strip()
        compact = text.str.fullmatch(r"\d{8}")
        parsed = pd.to_datetime(text.where(~compact), errors="coerce", format="mixed")
        if compact.any():
            parsed = parsed.where(
                ~compact, pd.to_datetime(text.where(compact), format="%Y%m%d", errors="coerce")
            )
        out = pd.DatetimeIndex(parsed)
        bad = np.flatnonzero(out.isna())
    if len(bad):
        i = int(bad[0])
        raise InputError(
            f"cannot parse date {str(values.iloc[i])!r} (expected YYYY-MM-DD)"
            + (f"; {len(bad)} bad dates in all" if len(bad) > 1 else ""),
            file=p,
            row=_row(i, csv_like),
            column=column,
        )
    if out.tz is not None:
        out = out.tz_convert(None)
    return out.normalize()


def _parse_numbers(
    values: pd.Series, p: Path, column: str, csv_like: bool, *, allow_missing: bool = True
) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values):
        arr = values.to_numpy(dtype=float)
        raw = values
    else:
        raw = values.astype(str).str.strip().str.replace(",", "", regex=False)
        missing = raw.isin(["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "-", "#N/A"])
        num = pd.to_numeric(raw.where(~missing), errors="coerce")
        bad = np.flatnonzero(num.isna().to_numpy() & ~missing.to_numpy())
        if len(bad):
            i = int(bad[0])
            raise InputError(
                f"expected a number, got {values.iloc[i]!r}",
                file=p,
                row=_row(i, csv_like),
                column=column,
            )
        arr = num.to_numpy(dtype=float)
    if not allow_missing:
        miss = np.flatnonzero(np.isnan(arr))
        if len(miss):
            i = int(miss[0])
            raise InputError("missing value", file=p, row=_row(i, csv_like), column=column)
    inf = np.flatnonzero(np.isinf(arr))
    if len(inf):
        i = int(inf[0])
        raise InputError(
            f"expected a finite number, got {raw.iloc[i]!r}",
            file=p,
            row=_row(i, csv_like),
            column=column,
        )
    return arr


def _tickers(values: pd.Series, p: Path, column: str, csv_like: bool) -> pd.Series:
    text = values.astype(str).str.strip()
    empty = np.flatnonzero((text == "") | (text.str.lower().isin(["nan", "none"])).to_numpy())
    if len(empty):
        raise InputError("empty ticker", file=p, row=_row(int(empty[0]), csv_like), column=column)
    return text.map(normalize_ticker)


def _check_duplicates(
    dates: pd.DatetimeIndex, tickers: pd.Series, p: Path, csv_like: bool, column: str
) -> None:
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
            f"duplicate (date, ticker) = ({dates[i].date()}, {tickers.iloc[i]}), first seen at row {_row(first, csv_like)}",
            file=p,
            row=_row(i, csv_like),
            column=column,
        )


def _long_values(
    frame: pd.DataFrame, p: Path, csv_like: bool, value_field: str, value_col: str | None = None
) -> pd.DataFrame:
    """Validate a long table into columns date, ticker, <value_field>."""
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
    dates = _parse_dates(frame[dcol], p, dcol, csv_like)
    tick = _tickers(frame[tcol], p, tcol, csv_like)
    vals = _parse_numbers(frame[vcol], p, vcol, csv_like)
    _check_duplicates(dates, tick, p, csv_like, tcol)
    return pd.DataFrame({"date": dates, "ticker": tick.to_numpy(), value_field: vals})


LONG_MAX_COLUMNS = 40


def _is_long(frame: pd.DataFrame) -> bool:
    """Long layout: a ticker column beside a date column, in a table of few columns (a wide
    table of thousands of tickers may well have a ticker called CODE or SYM)."""
    return (
        find_column(frame.columns, "ticker") is not None and len(frame.columns) <= LONG_MAX_COLUMNS
    )


def _wide_to_long(frame: pd.DataFrame, p: Path, csv_like: bool, value_field: str) -> pd.DataFrame:
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
    dates = _parse_dates(frame[dcol], p, dcol, csv_like)
    if dates.has_duplicates:
        i = int(np.flatnonzero(dates.duplicated())[0])
        raise InputError(
            f"duplicate date {dates[i].date()}", file=p, row=_row(i, csv_like), column=dcol
        )
    value_cols = [c for c in frame.columns if c != dcol]
    if not value_cols:
        raise InputError("no ticker columns next to the date column", file=p)
    norm = [normalize_ticker(c) for c in value_cols]
    seen: dict[str, str] = {}
    for raw, t in zip(value_cols, norm, strict=True):
        if t in seen:
            raise InputError(
                f"duplicate ticker column {t} (also as {seen[t]!r})", file=p, column=str(raw)
            )
        seen[t] = str(raw)
    arrays = {
        t: _parse_numbers(frame[c], p, str(c), csv_like)
        for c, t in zip(value_cols, norm, strict=True)
    }
    wide = pd.DataFrame(arrays, index=dates)
    long = wide.stack().reset_index()
    long.columns = ["date", "ticker", value_field]
    return long


def _positive(
    long: pd.DataFrame, field: str, p: Path, csv_like: bool, frame: pd.DataFrame, strict: bool
) -> None:
    vals = long[field].to_numpy()
    bad = np.flatnonzero((vals <= 0) if strict else (vals < 0))
    if len(bad):
        i = int(bad[0])
        what = "positive" if strict else "non-negative"
        row = None
        if _is_long(frame):
            row = _row(int(long.index[i]), csv_like)
        raise InputError(
            f"{field.replace('_', ' ')} must be {what}, got {vals[i]:g} for {long['ticker'].iloc[i]} on "
            f"{pd.Timestamp(long['date'].iloc[i]).date()}",
            file=p,
            row=row,
            column=None if row is None else find_column(frame.columns, field),
        )


def read_prices(path: str | Path, field: str = "price") -> pd.DataFrame:
    """Prices (total-return or close) as a wide frame (dates x tickers), every value > 0 or NaN."""
    p = Path(path)
    frame, csv_like = read_table(p)
    if frame.empty:
        raise InputError("no data rows", file=p)
    long = (
        _long_values(frame, p, csv_like, field)
        if _is_long(frame)
        else _wide_to_long(frame, p, csv_like, field)
    )
    long = long.dropna(subset=[field])
    if long.empty:
        raise InputError("no prices in the file (every value is missing)", file=p)
    _positive(long, field, p, csv_like, frame, strict=True)
    wide = long.pivot(index="date", columns="ticker", values=field).sort_index()
    wide.index.name = "date"
    wide.columns.name = "ticker"
    return wide


def read_caps(path: str | Path) -> pd.DataFrame:
    """Market caps (USD) or shares outstanding, long: date, ticker, market_cap | shares.

    Snapshots are allowed (any dates). Wide files are read as market caps unless their name
    contains 'shares'. Negative values are errors; zero is allowed (a halted or empty class).
    """
    p = Path(path)
    frame, csv_like = read_table(p)
    if frame.empty:
        raise InputError("no data rows", file=p)
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
        long = _long_values(frame, p, csv_like, field)
    else:
        field = "shares" if "shares" in p.name.lower() else "market_cap"
        long = _wide_to_long(frame, p, csv_like, field)
    long = long.dropna(subset=[field])
    _positive(long, field, p, csv_like, frame, strict=False)
    extra = find_column(frame.columns, "close") if _is_long(frame) else None
    if extra is not None and field == "market_cap":
        long["price"] = _parse_numbers(frame[extra], p, extra, csv_like)[long.index]
    return long.sort_values(["date", "ticker"]).reset_index(drop=True)


def read_securities(path: str | Path) -> pd.DataFrame:
    """Security master indexed by ticker with columns name, issuer, sector, industry (+ cik)."""
    p = Path(path)
    frame, csv_like = read_table(p)
    tcol = find_column(frame.columns, "ticker")
    if tcol is None:
        raise InputError("missing column ticker (or symbol)", file=p)
    tick = _tickers(frame[tcol], p, tcol, csv_like)
    dup = tick.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"duplicate ticker {tick.iloc[i]}", file=p, row=_row(i, csv_like), column=tcol
        )
    out = pd.DataFrame(index=pd.Index(tick.to_numpy(), name="ticker"))
    for field in ("name", "issuer", "sector", "industry", "cik"):
        col = find_column([c for c in frame.columns if c != tcol], field)
        if col is None:
            out[field] = np.nan
            continue
        vals = frame[col].astype(str).str.strip().to_numpy()
        out[field] = np.where(np.isin(vals, ["", "nan", "None", "NaN"]), np.nan, vals)
    if out["issuer"].isna().all() and out["cik"].notna().any():
        cik = out["cik"].astype(str).str.lstrip("0")
        names = out["name"].fillna(pd.Series(out.index, index=out.index))
        base = names.str.replace(r"\s*\((Class|Series) [A-Z]\)\s*$", "", regex=True)
        out["issuer"] = np.where(out["cik"].notna(), base.groupby(cik).transform("first"), np.nan)
    from counterweight.groups import KNOWN_SHARE_CLASSES

    fallback = pd.Series([KNOWN_SHARE_CLASSES.get(t, t) for t in out.index], index=out.index)
    out["issuer"] = out["issuer"].astype(object).where(out["issuer"].notna(), fallback)
    return out


def read_membership(path: str | Path) -> pd.DataFrame:
    """Index membership intervals: ticker, start, end (end exclusive; empty end = still a member)."""
    p = Path(path)
    frame, csv_like = read_table(p)
    tcol = find_column(frame.columns, "ticker")
    scol = find_column(frame.columns, "start")
    ecol = find_column(frame.columns, "end")
    if tcol is None or scol is None:
        missing = [n for n, c in (("ticker", tcol), ("start", scol)) if c is None]
        raise InputError(
            f"missing column(s) {', '.join(missing)} (expected ticker, start, end)", file=p
        )
    tick = _tickers(frame[tcol], p, tcol, csv_like)
    start = _parse_dates(frame[scol], p, scol, csv_like)
    if ecol is not None:
        raw_end = frame[ecol]
        if pd.api.types.is_datetime64_any_dtype(raw_end):
            end = pd.Series(pd.DatetimeIndex(raw_end).normalize(), index=frame.index)
        else:
            text = raw_end.astype(str).str.strip()
            empty = text.isin(["", "nan", "NaT", "None"])
            end = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
            if (~empty).any():
                parsed = _parse_dates(text.where(~empty, "1970-01-01"), p, ecol, csv_like)
                end = pd.Series(parsed, index=frame.index).where(~empty)
        bad = np.flatnonzero((end.notna() & (end.to_numpy() < start.to_numpy())).to_numpy())
        if len(bad):
            i = int(bad[0])
            raise InputError(
                f"end {end.iloc[i].date()} is before start {start[i].date()}",
                file=p,
                row=_row(i, csv_like),
                column=ecol,
            )
    else:
        end = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    out = pd.DataFrame({"ticker": tick.to_numpy(), "start": start, "end": pd.DatetimeIndex(end)})
    return out.sort_values(["ticker", "start"]).reset_index(drop=True)


def read_fundamentals(path: str | Path) -> pd.DataFrame:
    """Fundamentals snapshots, long: date, ticker and every other numeric column (eps, pe, ...)."""
    p = Path(path)
    frame, csv_like = read_table(p)
    dcol = find_column(frame.columns, "date")
    tcol = find_column(frame.columns, "ticker")
    if dcol is None or tcol is None:
        raise InputError("expected long columns date, ticker, and fields such as eps, pe", file=p)
    dates = _parse_dates(frame[dcol], p, dcol, csv_like)
    tick = _tickers(frame[tcol], p, tcol, csv_like)
    _check_duplicates(dates, tick, p, csv_like, tcol)
    out = pd.DataFrame({"date": dates, "ticker": tick.to_numpy()})
    skip = {
        dcol,
        tcol,
        find_column(frame.columns, "name"),
        find_column(frame.columns, "sector"),
        find_column(frame.columns, "industry"),
    }
    for col in frame.columns:
        if col in skip:
            continue
        key = canonical(col)
        if key in ALIASES["market_cap"]:
            key = "market_cap"
        out[key] = _parse_numbers(frame[col], p, str(col), csv_like)
    if len(out.columns) == 2:
        raise InputError("no numeric fields besides date and ticker", file=p)
    return out.sort_values(["date", "ticker"]).reset_index(drop=True)


def read_french(path: str | Path) -> pd.DataFrame:
    """A Ken French data-library CSV as published: text header lines, YYYYMMDD (or YYYYMM) dates,
    percent units. Returns the first table (daily or monthly) in fractions, indexed by date.

    The header row is the first line starting with a comma (``,Mkt-RF,SMB,...``); the table
    ends at the first blank or non-date line (the annual table that follows is ignored).
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    try:
        lines = p.read_text(encoding="utf-8", errors="strict").splitlines()
    except UnicodeDecodeError:
        lines = p.read_text(encoding="latin-1").splitlines()
    header_at = next(
        (i for i, ln in enumerate(lines) if ln.startswith(",") and len(ln.split(",")) > 1), None
    )
    if header_at is None:
        raise InputError(
            "not a Fama-French file: no header line starting with ',' (e.g. ',Mkt-RF,SMB,HML,RF')",
            file=p,
        )
    names = [c.strip() for c in lines[header_at].split(",")[1:]]
    rows: list[list[float]] = []
    dates: list[pd.Timestamp] = []
    for j in range(header_at + 1, len(lines)):
        ln = lines[j].strip()
        if not ln:
            break
        parts = [x.strip() for x in ln.split(",")]
        key = parts[0]
        if not key.isdigit() or len(key) not in (6, 8):
            break
        if len(parts) != len(names) + 1:
            raise InputError(
                f"expected {len(names) + 1} fields, got {len(parts)}", file=p, row=j + 1
            )
        fmt = "%Y%m%d" if len(key) == 8 else "%Y%m"
        try:
            d = pd.to_datetime(key, format=fmt)
        except ValueError:
            raise InputError(
                f"cannot parse date {key!r} (expected YYYYMMDD)", file=p, row=j + 1
            ) from None
        if len(key) == 6:
            d = d + pd.offsets.MonthEnd(0)
        try:
            vals = [float(x) for x in parts[1:]]
        except ValueError:
            raise InputError(
                f"expected numbers in percent, got {ln!r}", file=p, row=j + 1
            ) from None
        if any(v <= -99.99 for v in vals):  # the library's missing-value code
            vals = [np.nan if v <= -99.99 else v for v in vals]
        dates.append(d)
        rows.append(vals)
    if not rows:
        raise InputError("no data rows after the header line", file=p, row=header_at + 1)
    out = pd.DataFrame(
        np.array(rows) / 100.0, index=pd.DatetimeIndex(dates, name="date"), columns=names
    )
    if out.index.has_duplicates:
        raise InputError(f"duplicate date {out.index[out.index.duplicated()][0].date()}", file=p)
    if "Mom" not in out.columns and "WML" in out.columns:
        out = out.rename(columns={"WML": "Mom"})
    return out


def read_factors(path: str | Path) -> pd.DataFrame:
    """Factor returns: a Ken French file as published, or a plain CSV/Parquet (date + factor columns,
    in percent when the name ends with '_pct', else fractions)."""
    p = Path(path)
    head = p.read_bytes()[:4096] if p.exists() else b""
    if p.exists() and not p.name.lower().endswith((".parquet", ".pq")):
        text = head.decode("latin-1")
        if any(ln.startswith(",") for ln in text.splitlines()) and not text.lower().startswith(
            "date"
        ):
            return read_french(p)
    frame, csv_like = read_table(p)
    dcol = find_column(frame.columns, "date")
    if dcol is None:
        raise InputError("expected a date column and factor columns", file=p)
    dates = _parse_dates(frame[dcol], p, dcol, csv_like)
    scale = 0.01 if "pct" in p.name.lower() else 1.0
    data = {
        str(c): _parse_numbers(frame[c], p, str(c), csv_like) * scale
        for c in frame.columns
        if c != dcol
    }
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
