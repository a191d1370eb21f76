"""Generated malformed files, per importer and per class of fault.

Each case starts from a valid file drawn by hypothesis (prices long and wide, caps and shares
long and wide, securities, membership, fundamentals, Ken French files, plain factor files,
holdings; CSV, gzip and Parquet) and applies one fault from a catalogue. The outcome must be
exactly one of:

* the fault is a fault: one :class:`InputError` line that starts with the file and, where the
  fault has a place, names its row and column;
* the mutation is legitimate (a UTC offset, mixed offsets): accepted, with the same dates.

Anything else is counted: a traceback (any other exception), a silent acceptance, a vague
error (several lines, no file, wrong row or column). Every test asserts the counts are zero.
``COUNTERWEIGHT_FAULT_EXAMPLES=N`` runs N examples per test (default 25), and
``COUNTERWEIGHT_FAULT_REPORT=path.json`` writes the counts (docs/data.md quotes them).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterweight.data import importers as im
from counterweight.data.holdings import load_holdings
from counterweight.errors import InputError

EXAMPLES = int(os.environ.get("COUNTERWEIGHT_FAULT_EXAMPLES", "25"))
OUTCOMES: Counter[str] = Counter()
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    path = os.environ.get("COUNTERWEIGHT_FAULT_REPORT")
    if path:
        old = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        merged = Counter(old) + OUTCOMES
        Path(path).write_text(json.dumps(dict(sorted(merged.items())), indent=2))


# ---------------------------------------------------------------- valid files
@dataclass
class Table:
    """A file as cells; ``role`` of each column says what a fault may do to it."""

    kind: str
    header: list[str]
    rows: list[list[str]]
    roles: list[
        str
    ]  # date | end | ticker | price | cap | shares | close | number | factor | text | account
    wide: bool = False
    key_dup_rejected: bool = True  # a copied row is a duplicate key
    fmt: str = "csv"  # csv | gz | parquet | french
    meta: dict[str, object] = field(default_factory=dict)


TICKERS = ["AAA", "BBB", "BRK-B", "ZZ", "QQQ1"]
price_text = st.floats(1.0, 5000.0).map(lambda v: f"{v:.4f}")
cap_text = st.floats(1e6, 3e12).map(lambda v: f"{v:.6g}")
small_text = st.floats(-50.0, 50.0).map(lambda v: f"{v:.3f}")
factor_text = st.floats(-0.2, 0.2).map(lambda v: f"{v:.5f}")


@st.composite
def dates_st(draw, n_min: int = 2, n_max: int = 5) -> list[str]:
    start = draw(st.dates(pd.Timestamp("1990-01-01").date(), pd.Timestamp("2025-06-01").date()))
    n = draw(st.integers(n_min, n_max))
    return [d.strftime("%Y-%m-%d") for d in pd.bdate_range(start, periods=n)]


@st.composite
def prices_long(draw) -> Table:
    dates = draw(dates_st())
    tick = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=3, unique=True))
    header = draw(st.sampled_from([["date", "ticker", "price"], ["Date", "Symbol", "Adj Close"]]))
    rows = [[d, t, draw(price_text)] for d in dates for t in tick]
    return Table("prices", header, rows, ["date", "ticker", "price"])


@st.composite
def prices_wide(draw) -> Table:
    dates = draw(dates_st())
    tick = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=4, unique=True))
    rows = [[d, *[draw(price_text) for _ in tick]] for d in dates]
    return Table("prices", ["date", *tick], rows, ["date", *["price"] * len(tick)], wide=True)


@st.composite
def caps_long(draw) -> Table:
    dates = draw(dates_st(1, 3))
    tick = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=3, unique=True))
    shares = draw(st.booleans())
    if shares:
        rows = [[d, t, draw(cap_text)] for d in dates for t in tick]
        return Table(
            "caps", ["date", "ticker", "shares_outstanding"], rows, ["date", "ticker", "shares"]
        )
    rows = [[d, t, draw(cap_text), draw(price_text)] for d in dates for t in tick]
    return Table(
        "caps", ["date", "ticker", "market_cap", "close"], rows, ["date", "ticker", "cap", "close"]
    )


@st.composite
def caps_wide(draw) -> Table:
    dates = draw(dates_st(1, 3))
    tick = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=3, unique=True))
    rows = [[d, *[draw(cap_text) for _ in tick]] for d in dates]
    return Table("caps", ["date", *tick], rows, ["date", *["cap"] * len(tick)], wide=True)


@st.composite
def securities(draw) -> Table:
    tick = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=5, unique=True))
    rows = [
        [t, f"{t} Inc", draw(st.sampled_from(["Energy", "Utilities", "Financials"]))] for t in tick
    ]
    return Table("securities", ["ticker", "name", "sector"], rows, ["ticker", "text", "text"])


@st.composite
def membership(draw) -> Table:
    tick = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=5, unique=True))
    rows = []
    for t in tick:
        start = draw(st.dates(pd.Timestamp("1995-01-01").date(), pd.Timestamp("2020-01-01").date()))
        end = (
            ""
            if draw(st.booleans())
            else (start + pd.Timedelta(days=draw(st.integers(30, 2000)))).isoformat()
        )
        rows.append([t, start.isoformat(), end])
    return Table("membership", ["ticker", "start", "end"], rows, ["ticker", "date", "end"])


@st.composite
def fundamentals(draw) -> Table:
    dates = draw(dates_st(1, 3))
    tick = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=3, unique=True))
    rows = [[d, t, draw(small_text), draw(small_text), draw(cap_text)] for d in dates for t in tick]
    return Table(
        "fundamentals",
        ["date", "ticker", "eps", "pe", "Market Cap"],
        rows,
        ["date", "ticker", "number", "number", "cap"],
    )


@st.composite
def factors_plain(draw) -> Table:
    dates = draw(dates_st(2, 6))
    rows = [[d, draw(factor_text), draw(factor_text)] for d in dates]
    return Table("factors", ["date", "Mkt-RF", "SMB"], rows, ["date", "factor", "factor"])


@st.composite
def french(draw) -> Table:
    dates = [d.replace("-", "") for d in draw(dates_st(2, 6))]
    rows = [[d, *[draw(small_text) for _ in range(3)]] for d in dates]
    return Table(
        "french",
        ["", "Mkt-RF", "SMB", "RF"],
        rows,
        ["date", "factor", "factor", "factor"],
        fmt="french",
    )


@st.composite
def holdings(draw) -> Table:
    tick = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=4, unique=True))
    rows = [["acct1", t, draw(st.integers(1, 10_000)).__str__(), draw(price_text)] for t in tick]
    return Table(
        "holdings",
        ["account", "ticker", "shares", "price"],
        rows,
        ["account", "ticker", "held", "close"],
        key_dup_rejected=False,  # tax lots: one (account, ticker) on several rows is summed
    )


VALID = {
    "prices_long": prices_long(),
    "prices_wide": prices_wide(),
    "caps_long": caps_long(),
    "caps_wide": caps_wide(),
    "securities": securities(),
    "membership": membership(),
    "fundamentals": fundamentals(),
    "factors": factors_plain(),
    "french": french(),
    "holdings": holdings(),
}

READERS: dict[str, Callable[[Path], object]] = {
    "prices": im.read_prices,
    "caps": im.read_caps,
    "securities": im.read_securities,
    "membership": im.read_membership,
    "fundamentals": im.read_fundamentals,
    "factors": im.read_factors,
    "french": im.read_factors,
    "holdings": load_holdings,
}


# ---------------------------------------------------------------- writing files
def render(t: Table) -> bytes:
    buf = io.StringIO()
    if t.fmt == "french":
        buf.write("This file was created by CMPT_ME_BEME_RETS using the 202601 CRSP database.\n\n")
        buf.write(",".join(t.header) + "\n")
        for r in t.rows:
            buf.write(",".join(r) + "\n")
        buf.write("\n Annual Factors: January-December\n")
        return buf.getvalue().encode()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(t.header)
    for r in t.rows:
        w.writerow(r)
    return buf.getvalue().encode()


def write_table(t: Table, folder: Path) -> Path:
    if t.fmt == "parquet":
        p = folder / f"{t.kind}.parquet"
        frame = pd.DataFrame(t.rows, columns=t.header)
        for j, role in enumerate(t.roles):
            col = t.header[j]
            if role in NUMERIC:
                frame[col] = pd.to_numeric(frame[col], errors="coerce")
            elif role == "date" and t.meta.get("typed_dates", True):
                frame[col] = pd.to_datetime(frame[col], errors="coerce")
        for (i, j), v in t.meta.get("parquet_cells", {}).items():  # type: ignore[union-attr]
            if t.roles[j] == "date" and v is None:
                frame.iat[i, j] = pd.NaT  # a null in a typed date column
                continue
            frame[t.header[j]] = frame[t.header[j]].astype(object)
            frame.iat[i, j] = v
        if "bool_col" in t.meta:
            col = t.header[int(t.meta["bool_col"])]  # type: ignore[call-overload]
            frame[col] = frame[col].astype(bool)
        frame.to_parquet(p)
        return p
    name = {"french": "F-F_Research_Data_Factors_daily.CSV", "gz": f"{t.kind}.csv.gz"}.get(
        t.fmt, f"{t.kind}.csv"
    )
    p = folder / name
    data = t.meta.get("raw", render(t))
    assert isinstance(data, bytes)
    if t.fmt == "gz" and not t.meta.get("raw"):
        data = gzip.compress(data)
        if t.meta.get("truncate"):
            data = data[: max(len(data) // 2, 12)]
    p.write_bytes(data)
    return p


# ---------------------------------------------------------------- faults
@dataclass
class Fault:
    """What a fault did and where: the reader must refuse it there (or accept, if legitimate)."""

    name: str
    table: Table
    row: int | None = None  # user-facing row (CSV line, Parquet record)
    column: str | None = None
    accept: bool = False
    check: Callable[[object], bool] | None = None


def line_of(t: Table, i: int) -> int:
    if t.fmt == "parquet":
        return i + 1
    if t.fmt == "french":
        return i + 4  # two text lines, then the header on line 3
    return i + 2


def cols_with(t: Table, *roles: str) -> list[int]:
    return [j for j, r in enumerate(t.roles) if r in roles]


def set_cell(t: Table, i: int, j: int, value: str) -> Table:
    rows = [list(r) for r in t.rows]
    rows[i][j] = value
    return replace(t, rows=rows)


def where_column(t: Table, j: int) -> str | None:
    return None if t.fmt == "french" and t.roles[j] == "date" else t.header[j]


BAD_DATES = [
    "2024-02-30", "foo", "", "NaT", "-1", "05.01.2024", "01/05/2024", "0001-01-01",
    "1700-01-01", "2263-04-12", "9999-12-31", "2024-13-01", "24-01-02", "2024-1-2-3",
    "20240230", "2024-01-02T25:00:00",
]  # fmt: skip
NUMERIC = ("price", "cap", "shares", "close", "number", "factor", "held")
BAD_NUMBERS = ["abc", "1.2.3", "1,2", "0x10", "True", "1.234,5", "12a", "--1", "1e", "$$"]
NON_FINITE = ["inf", "-inf", "Infinity", "1e400", "-1e999"]


@st.composite
def fault(draw, kind: str) -> Fault:
    t: Table = draw(VALID[kind])
    if kind not in ("french",) and draw(st.integers(0, 4)) == 0:
        t = replace(t, fmt="gz")
    n = len(t.rows)
    i = draw(st.integers(0, n - 1))
    options = ["short_row", "extra_field", "dup_header", "empty_header", "empty_file", "bad_utf8"]
    if cols_with(t, "date"):
        options += ["bad_date", "mixed_format", "offset_kept", "mixed_offsets"]
    if t.key_dup_rejected:
        options.append("dup_key")
    if cols_with(t, *NUMERIC):
        options += ["bad_number", "non_finite"]
    if cols_with(t, "price", "cap", "shares", "close", "held"):
        options.append("non_positive")
    if cols_with(t, "cap", "shares", "held"):
        options.append("too_large")
    if cols_with(t, "factor") and t.fmt != "french":
        options.append("percent_as_fraction")
    if cols_with(t, "ticker") or t.wide:
        options.append("bad_ticker")
    if t.fmt == "gz":
        options.append("truncated_gz")
    if t.fmt == "french":
        options += ["french_nan", "french_mixed_width"]
    if kind in ("prices_long", "caps_long", "fundamentals", "holdings", "securities"):
        options += ["parquet_null_ticker"]
    if kind in ("prices_long", "prices_wide", "caps_long", "fundamentals", "factors"):
        options += ["parquet_numeric_dates", "parquet_bool_values", "parquet_null_date"]
    name = draw(st.sampled_from(sorted(set(options))))
    row = line_of(t, i)

    if name == "bad_date":
        j = draw(st.sampled_from(cols_with(t, "date")))
        v = draw(st.sampled_from(BAD_DATES))
        if t.fmt == "french":
            v = draw(st.sampled_from(["20240230", "20241301", "19000000", "00010101"]))
        return Fault(name, set_cell(t, i, j, v), row, where_column(t, j))
    if name == "mixed_format":
        j = cols_with(t, "date")[0]
        if n < 2 or t.fmt == "french":
            return Fault("bad_date", set_cell(t, i, j, "2024-02-30"), row, where_column(t, j))
        i = draw(st.integers(1, n - 1))
        d = pd.Timestamp(t.rows[i][j])
        v = draw(
            st.sampled_from([d.strftime("%Y%m%d"), d.strftime("%Y/%m/%d"), d.strftime("%d.%m.%Y")])
        )
        return Fault(name, set_cell(t, i, j, v), line_of(t, i), t.header[j])
    if name in ("offset_kept", "mixed_offsets"):
        j = cols_with(t, "date")[0]
        if t.fmt == "french":
            return Fault("bad_date", set_cell(t, i, j, "20241301"), row, None)
        offs = ["+05:00", "-04:00", "Z", "+14:00", "-12:00"]
        rows = [list(r) for r in t.rows]
        for k, r in enumerate(rows):
            off = offs[0] if name == "offset_kept" else offs[k % len(offs)]
            r[j] = f"{r[j]}T00:00:00{off}" if k % 2 == 0 else f"{r[j]} 23:59:59{off}"
        expected = sorted({r[j] for r in t.rows})
        return Fault(name, replace(t, rows=rows), accept=True, check=_dates_are(expected))
    if name == "dup_key":
        rows = [list(r) for r in t.rows] + [list(t.rows[i])]
        return Fault(name, replace(t, rows=rows), line_of(t, n), None)
    if name == "short_row":
        rows = [list(r) for r in t.rows]
        rows[i] = rows[i][:-1]
        return Fault(name, replace(t, rows=rows), row, None)
    if name == "extra_field":
        rows = [list(r) for r in t.rows]
        rows[i] = [*rows[i], "7"]
        return Fault(name, replace(t, rows=rows), row, None)
    if name == "dup_header":
        j = draw(st.integers(1 if t.fmt == "french" else 0, len(t.header) - 1))
        h = t.header[j]
        variant = draw(st.sampled_from([h, h.upper(), h.lower(), h.replace("-", ".")]))
        header = [*t.header, variant]
        rows = [[*r, r[j]] for r in t.rows]
        return Fault(
            name,
            replace(t, header=header, rows=rows, roles=[*t.roles, t.roles[j]]),
            1 if t.fmt != "french" else 3,
            None,
        )
    if name == "empty_header":
        j = draw(st.integers(1, len(t.header) - 1))
        header = list(t.header)
        header[j] = ""
        return Fault(name, replace(t, header=header), 1 if t.fmt != "french" else 3, None)
    if name == "empty_file":
        raw = draw(st.sampled_from([b"", b"\n", ",".join(t.header).encode() + b"\n"]))
        if t.fmt == "gz":
            raw = gzip.compress(raw)
        return Fault(name, replace(t, meta={"raw": raw}))
    if name == "bad_utf8":
        raw = render(t).replace(t.rows[i][-1].encode(), b"\xff\xfe", 1)
        if raw == render(t):
            raw = render(t) + b"\xff\n"
        if t.fmt == "french":
            return Fault("french_nan", set_cell(t, i, 1, "nan"), row, t.header[1])
        if t.fmt == "gz":
            raw = gzip.compress(raw)
        return Fault(name, replace(t, meta={"raw": raw}))
    if name == "bad_number":
        j = draw(st.sampled_from(cols_with(t, *NUMERIC)))
        pool = [b for b in BAD_NUMBERS if "," not in b] if t.fmt == "french" else BAD_NUMBERS
        v = draw(st.sampled_from(pool))  # a French file is not quoted: ',' is a field break
        return Fault(name, set_cell(t, i, j, v), row, t.header[j])
    if name == "non_finite":
        j = draw(st.sampled_from(cols_with(t, *NUMERIC)))
        v = draw(st.sampled_from(NON_FINITE + (["nan", "NaN"] if t.fmt == "french" else [])))
        return Fault(name, set_cell(t, i, j, v), row, t.header[j])
    if name == "non_positive":
        j = draw(st.sampled_from(cols_with(t, "price", "cap", "shares", "close", "held")))
        # a position of zero shares is a closed position, not an error; a negative one is short
        pool = ["-1", "-0.01"] if t.roles[j] == "held" else ["0", "-1", "-0.01", "0.0"]
        v = draw(st.sampled_from(pool))
        return Fault(name, set_cell(t, i, j, v), row, t.header[j])
    if name == "too_large":
        j = draw(st.sampled_from(cols_with(t, "cap", "shares", "held")))
        v = draw(st.sampled_from(["1e308", "1e20", "5e15"]))
        return Fault(name, set_cell(t, i, j, v), row, t.header[j])
    if name == "percent_as_fraction":
        j = draw(st.sampled_from(cols_with(t, "factor")))
        v = draw(st.sampled_from(["1.5", "-2.3", "45"]))
        return Fault(name, set_cell(t, i, j, v), row, t.header[j])
    if name == "bad_ticker":
        v = draw(st.sampled_from(["", "NaN", "UNNAMED:-2", "A" * 40, "x;y", "é", "<NA>", "a b:c"]))
        if t.wide:
            j = draw(st.integers(1, len(t.header) - 1))
            header = list(t.header)
            header[j] = v
            return Fault(name, replace(t, header=header), 1, None)
        j = cols_with(t, "ticker")[0]
        return Fault(name, set_cell(t, i, j, v), row, t.header[j])
    if name == "truncated_gz":
        return Fault(name, replace(t, meta={"truncate": True}))
    if name == "french_nan":
        j = draw(st.integers(1, len(t.header) - 1))
        return Fault(
            name,
            set_cell(t, i, j, draw(st.sampled_from(["nan", "inf", "-inf", "NaN"]))),
            row,
            t.header[j],
        )
    if name == "french_mixed_width":
        if n < 2:
            return Fault("french_nan", set_cell(t, 0, 1, "inf"), line_of(t, 0), t.header[1])
        i = draw(st.integers(1, n - 1))
        return Fault(name, set_cell(t, i, 0, t.rows[i][0][:6]), line_of(t, i), None)
    if name == "parquet_null_ticker":
        j = cols_with(t, "ticker")[0]
        v = draw(st.sampled_from([None, np.nan, pd.NA]))
        pt = replace(t, fmt="parquet", meta={"parquet_cells": {(i, j): v}})
        return Fault(name, pt, i + 1, t.header[j])
    if name == "parquet_numeric_dates":  # dates stored as floats, 20240102.0 (integers are fine)
        j = cols_with(t, "date")[0]
        rows = [list(r) for r in t.rows]
        for r in rows:
            r[j] = r[j].replace("-", "") + ".0"
        pt = replace(t, rows=rows, fmt="parquet", roles=[*t.roles[:j], "number", *t.roles[j + 1 :]])
        return Fault(name, pt, 1, t.header[j])
    if name == "parquet_bool_values":
        j = draw(st.sampled_from(cols_with(t, *NUMERIC)))
        cells = {(k, j): True for k in range(n)}
        return Fault(
            name,
            replace(t, fmt="parquet", meta={"parquet_cells": cells, "bool_col": j}),
            None,
            t.header[j],
        )
    if name == "parquet_null_date":
        j = cols_with(t, "date")[0]
        pt = replace(t, fmt="parquet", meta={"parquet_cells": {(i, j): None}})
        return Fault(name, pt, i + 1, t.header[j])
    raise AssertionError(name)


def _dates_are(expected: list[str]) -> Callable[[object], bool]:
    def check(result: object) -> bool:
        if isinstance(result, pd.DataFrame) and isinstance(result.index, pd.DatetimeIndex):
            got = result.index
        elif isinstance(result, pd.DataFrame) and "date" in result.columns:
            got = pd.DatetimeIndex(result["date"])
        elif isinstance(result, pd.DataFrame) and "start" in result.columns:
            got = pd.DatetimeIndex(result["start"])
        else:
            return False
        return sorted(got.unique().strftime("%Y-%m-%d")) == expected

    return check


def outcome(f: Fault, folder: Path) -> str:
    """Classify one case: ok | traceback | silent | vague | rejected_legitimate | wrong_value."""
    kind = "french" if f.table.fmt == "french" else f.table.kind
    path = write_table(f.table, folder)
    try:
        result = READERS[kind](path)
    except InputError as exc:
        msg = str(exc)
        if "internal error" in msg:
            return "traceback"  # the last line of defence caught an unanticipated exception
        if f.accept:
            return "rejected_legitimate"
        if "\n" in msg or not msg.startswith(str(path)) or "Traceback" in msg:
            return "vague"
        if f.row is not None and exc.row != f.row:
            return "vague"
        if f.column is not None and exc.column != f.column:
            return "vague"
        return "ok"
    except Exception:
        return "traceback"
    if not f.accept:
        return "silent"
    assert f.check is not None
    return "ok" if f.check(result) else "wrong_value"


def run_case(f: Fault, folder: Path) -> None:
    got = outcome(f, folder)
    OUTCOMES["cases"] += 1
    OUTCOMES[got] += 1
    OUTCOMES[f"fault:{f.name}"] += 1
    assert got == "ok", (f.name, got, f.row, f.column, render(f.table)[:400])


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_files_are_accepted(kind: str, tmp_path_factory) -> None:
    @SETTINGS
    @given(VALID[kind])
    def check(t: Table) -> None:
        folder = tmp_path_factory.mktemp("valid")
        reader = READERS["french" if t.fmt == "french" else t.kind]
        result = reader(write_table(t, folder))
        OUTCOMES["valid_accepted"] += 1
        assert result is not None

    check()


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_fault_is_one_line_at_its_place(kind: str, tmp_path_factory) -> None:
    @SETTINGS
    @given(fault(kind))
    def check(f: Fault) -> None:
        run_case(f, tmp_path_factory.mktemp("fault"))

    check()
