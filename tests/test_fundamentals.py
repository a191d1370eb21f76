"""Fundamentals from snapshots: amounts, aggregate ratios, like-for-like growth, windows.

Every aggregate is checked against a brute-force computation written here independently
(plain Python loops over rows and issuers), on small synthetic snapshot tables with share
classes, missing values and negative earnings.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.errors import ConfigError, DataUnavailableError, InputError
from counterweight.groups import group
from counterweight.measure.fundamentals import (
    RATIOS,
    amounts_from_snapshot,
    dividend_yield_fraction,
    earnings_from_snapshot,
    fundamentals_reading,
    fundamentals_table,
    grew_count,
    issuer_amounts,
    like_for_like_growth,
    resolve_snapshot_window,
    snapshot_data,
    snapshot_spacing,
    window_tolerance,
)

ISSUERS = pd.Series({"GOOGL": "Alphabet", "GOOG": "Alphabet"})
SECTORS = pd.Series(
    {"AAPL": "IT", "GOOGL": "Comm", "GOOG": "Comm", "XOM": "Energy", "KO": "Staples", "T": "Comm"}
)
BIG = group("Big", ["AAPL", "GOOGL", "GOOG"])
COLUMNS = [
    "ticker",
    "price",
    "market_cap",
    "eps",
    "pe",
    "price_sales",
    "price_book",
    "ebitda",
    "div_yield",
]


def snapshot(date: str, scale: float = 1.0) -> pd.DataFrame:
    """Caps in USD bn; Alphabet's company figures on both classes (as Yahoo reports them)."""
    rows = [
        ("AAPL", 200.0, 3000.0, 10.0 * scale, 20.0, 7.5, 40.0, 130.0, 0.5),
        ("GOOGL", 100.0, 2000.0, 5.0 * scale, 20.0, 5.0, 6.0, 120.0, 0.4),
        ("GOOG", 101.0, 2000.0, 5.0 * scale, 20.2, 5.0, 6.0, 120.0, 0.4),
        ("XOM", 50.0, 500.0, -2.0, np.nan, 1.25, 2.0, 60.0, 3.5),  # a loss
        ("KO", 60.0, 300.0, np.nan, 25.0, 6.0, -10.0, np.nan, 3.0),  # no EPS; negative book
        ("T", 20.0, 150.0, 2.0 * scale, 10.0, np.nan, 1.5, 40.0, 6.0),  # no P/S
    ]
    f = pd.DataFrame(rows, columns=COLUMNS)
    f.insert(0, "date", pd.Timestamp(date))
    return f


# ----------------------------------------------------------------- brute force (reference)


def brute_amounts(row: pd.Series) -> dict[str, float]:
    def num(x: object) -> float:
        return float(x) if x is not None and not pd.isna(x) else math.nan  # type: ignore[arg-type]

    cap, price, eps, pe = num(row["market_cap"]), num(row["price"]), num(row["eps"]), num(row["pe"])
    ps, pb, ebitda, dy = (
        num(row["price_sales"]),
        num(row["price_book"]),
        num(row["ebitda"]),
        num(row["div_yield"]),
    )
    if not cap > 0:
        cap = math.nan
    e = math.nan
    if not math.isnan(eps) and price > 0:
        if abs(eps / price) <= 1.0:
            e = cap * eps / price
    elif pe >= 1.0:
        e = cap / pe
    out = {
        "market_cap": cap,
        "earnings": e,
        "revenue": cap / ps if ps > 0 else math.nan,
        "book": cap / pb if (not math.isnan(pb) and pb != 0) else math.nan,
        "ebitda": ebitda
        if abs(ebitda) <= 10 * max(cap, cap / ps if ps > 0 else -math.inf)
        else math.nan,
        "dividends": cap * dy / 100.0 if dy >= 0 else math.nan,  # these tables are in percent
    }
    return {k: v if math.isfinite(v) else math.nan for k, v in out.items()}  # inf: unknown


def brute_issuers(snap: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Issuer -> mean over the classes that carry each amount (each class carries the whole
    company's figure), NaN when none does."""
    by: dict[str, list[dict[str, float]]] = {}
    for _, row in snap.iterrows():
        by.setdefault(ISSUERS.get(row["ticker"], row["ticker"]), []).append(brute_amounts(row))
    out: dict[str, dict[str, float]] = {}
    for i, rs in by.items():
        out[i] = {}
        for k in rs[0]:
            vals = [r[k] for r in rs if not math.isnan(r[k])]
            out[i][k] = sum(vals) / len(vals) if vals else math.nan
    return out


def brute_ratio(
    issuers: dict[str, dict[str, float]], names: list[str], num: str, den: str
) -> float:
    n = d = 0.0
    for i in names:
        a, b = issuers[i][num], issuers[i][den]
        if not (math.isnan(a) or math.isnan(b)):
            n += a
            d += b
    return n, d  # type: ignore[return-value]


POSITIVE = {"pe", "pb", "roe"}


def brute_table(snap: pd.DataFrame, baskets: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    iss = brute_issuers(snap)
    out: dict[str, dict[str, float]] = {}
    for b, names in baskets.items():
        row: dict[str, float] = {}
        for r, (num, den) in RATIOS.items():
            n, d = brute_ratio(iss, names, num, den)
            ok = d > 0 if r in POSITIVE else d != 0
            row[r] = n / d if ok else math.nan
        row["market_cap"] = sum(
            iss[i]["market_cap"] for i in names if not math.isnan(iss[i]["market_cap"])
        )
        out[b] = row
    return out


BASKETS = {
    "Index": ["AAPL", "Alphabet", "XOM", "KO", "T"],
    "Big": ["AAPL", "Alphabet"],
    "Rest": ["XOM", "KO", "T"],
    "Comm": ["Alphabet", "T"],
    "Energy": ["XOM"],
    "IT": ["AAPL"],
    "Staples": ["KO"],
}


def assert_table_matches(table: pd.DataFrame, ref: dict[str, dict[str, float]]) -> None:
    for b, row in ref.items():
        for k, v in row.items():
            got = float(table.loc[b, k])
            if math.isnan(v):
                assert math.isnan(got), (b, k, got)
            else:
                assert got == pytest.approx(v, rel=1e-12), (b, k)


# ----------------------------------------------------------------- tests


def test_amounts_by_hand() -> None:
    s = snapshot("2025-01-01")
    e = earnings_from_snapshot(s)
    np.testing.assert_allclose(e.to_numpy(), [150.0, 100.0, 2000 * 5 / 101, -20.0, 12.0, 15.0])
    panel = issuer_amounts(s, ISSUERS).droplevel("date")
    goog = panel.loc["Alphabet"]
    assert goog["market_cap"] == 2000.0 and goog["tickers"] == "GOOGL+GOOG"
    assert goog["revenue"] == pytest.approx(400.0) and goog["book"] == pytest.approx(2000 / 6)
    assert panel.loc["KO", "book"] == pytest.approx(-30.0)  # negative book sums as such
    assert panel.loc["XOM", "dividends"] == pytest.approx(500 * 0.035)
    assert np.isnan(panel.loc["T", "revenue"])


def test_ratios_against_brute_force() -> None:
    s = snapshot("2025-01-01")
    table = fundamentals_table(s, [BIG], issuers=ISSUERS, sectors=SECTORS).droplevel("date")
    assert list(table.index) == ["Index", "Big", "Rest", "Comm", "Energy", "IT", "Staples"]
    assert_table_matches(table, brute_table(s, BASKETS))
    # spot checks by hand: Rest = XOM, KO, T
    rest = table.loc["Rest"]
    assert rest["pe"] == pytest.approx(950.0 / (-20.0 + 12.0 + 15.0))
    assert rest["net_margin"] == pytest.approx((-20.0 + 12.0) / (400.0 + 50.0))  # T has no P/S
    # ROE: names with earnings and book: XOM (-20 / 250), KO (12 / -30), T (15 / 100)
    assert rest["roe"] == pytest.approx((-20.0 + 12.0 + 15.0) / (250.0 - 30.0 + 100.0))
    assert table.loc["Staples", "pb"] != table.loc["Staples", "pb"]  # negative book: NaN
    # single name: ROE = (P/B) / (P/E)
    assert table.loc["IT", "roe"] == pytest.approx(40.0 / 20.0)


def test_class_mode_sums_classes() -> None:
    s = snapshot("2025-01-01")
    s.loc[s["ticker"].isin(["GOOGL", "GOOG"]), "market_cap"] = 1000.0  # each class its own float
    t = fundamentals_table(s, [BIG], issuers=ISSUERS, class_caps="class").droplevel("date")
    assert t.loc["Big", "market_cap"] == pytest.approx(5000.0)


NORMAL = st.floats(0, 1).map(lambda v: round(v, 6))  # no subnormal ratios (1 / P/B = inf)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), NORMAL.map(lambda v: v * 20 - 5)),  # eps
            st.one_of(st.none(), st.floats(0.5, 60)),  # P/S
            st.one_of(st.none(), NORMAL.map(lambda v: v * 38 - 8)),  # P/B, negative book too
            st.one_of(st.none(), st.floats(0, 9)),  # dividend yield, percent
        ),
        min_size=6,
        max_size=6,
    )
)
def test_ratios_against_brute_force_random(values: list[tuple]) -> None:
    s = snapshot("2025-01-01")
    for k, (eps, ps, pb, dy) in enumerate(values):
        s.loc[k, ["eps", "price_sales", "price_book", "div_yield"]] = [
            np.nan if v is None else v for v in (eps, ps, pb, dy)
        ]
    s["div_yield"] = s["div_yield"].astype(float)
    if not (s["div_yield"] > 0).any():
        s.loc[0, "div_yield"] = 1.0  # keep the snapshot read as percent and not blank
    table = fundamentals_table(
        s, [BIG], issuers=ISSUERS, sectors=SECTORS, div_yield_unit="percent"
    ).droplevel("date")
    assert_table_matches(table, brute_table(s, BASKETS))


def test_like_for_like_growth_against_brute_force() -> None:
    a, b = snapshot("2025-01-01"), snapshot("2026-01-01", scale=1.5)
    b.loc[b["ticker"] == "T", ["eps", "pe"]] = np.nan  # T lacks earnings at the end: left out
    b = pd.concat(
        [
            b,
            pd.DataFrame(
                [
                    {
                        "date": pd.Timestamp("2026-01-01"),
                        "ticker": "NEW",
                        "price": 10.0,
                        "market_cap": 100.0,
                        "eps": 1.0,
                    }
                ]
            ),
        ]
    )
    f = pd.concat([a, b], ignore_index=True)
    d = snapshot_data(f, [BIG], issuers=ISSUERS)
    pairs = pd.DataFrame(
        {"start": [pd.Timestamp("2025-01-01")], "end": [pd.Timestamp("2026-01-01")]},
        index=pd.Index(["1Y"], name="window"),
    )
    g = like_for_like_growth(d.panel, d.membership, pairs, "earnings").droplevel(0)
    ia, ib = brute_issuers(a), brute_issuers(b.iloc[:-1])
    ib["NEW"] = {"earnings": 10.0, "market_cap": 100.0}
    for basket, names in {"Big": ["AAPL", "Alphabet"], "Rest": ["XOM", "KO", "T", "NEW"]}.items():
        s0 = sum(
            ia[i]["earnings"]
            for i in names
            if i in ia and not math.isnan(ib[i]["earnings"]) and not math.isnan(ia[i]["earnings"])
        )
        s1 = sum(
            ib[i]["earnings"]
            for i in names
            if i in ia and not math.isnan(ib[i]["earnings"]) and not math.isnan(ia[i]["earnings"])
        )
        expected = s1 / s0 - 1.0 if s0 > 0 else math.nan
        assert g.loc[basket, "growth"] == pytest.approx(expected, nan_ok=True)
    assert g.loc["Big", "growth"] == pytest.approx(0.5)
    # Rest: XOM (-20 both dates) and KO (12 both) are like for like; T, NEW are not
    assert g.loc["Rest", "n_names"] == 2
    assert g.loc["Rest", "coverage"] == pytest.approx(800.0 / (500 + 300 + 150 + 100))
    assert np.isnan(g.loc["Rest", "growth"])  # base earnings -8 <= 0: no growth rate


def test_window_tolerance_and_reasons() -> None:
    dates = pd.DatetimeIndex(["2020-01-02", "2024-11-20", "2025-06-30", "2025-12-31", "2026-01-31"])
    end = dates[-1]
    w = resolve_snapshot_window(dates, "1Y", end)
    assert not w.available
    assert w.reason == "no snapshot within 36 days of 2025-01-31 (nearest 2024-11-20, 72 days away)"
    m1 = resolve_snapshot_window(dates, "1M", end)
    assert (
        m1.available
        and m1.start == pd.Timestamp("2025-12-31")
        and m1.years == pytest.approx(31 / 365.25)
    )
    all_ = resolve_snapshot_window(dates, "ALL", end)
    assert all_.start == dates[0]
    assert window_tolerance(pd.Timedelta(days=3650)) == pd.Timedelta(days=92)
    assert window_tolerance(pd.Timedelta(days=7)) == pd.Timedelta(days=3)
    sp = snapshot_spacing(dates)
    assert sp.n == 5 and sp.largest_gaps[0][2] == (dates[1] - dates[0]).days
    assert sp.median_gap_days == pytest.approx(
        np.median(np.diff(dates.values).astype("timedelta64[D]").astype(int))
    )


def test_dividend_yield_units_per_snapshot() -> None:
    f = pd.DataFrame(
        {
            "date": pd.to_datetime(["2016-01-01"] * 3 + ["2025-01-01"] * 3 + ["2016-07-07"] * 3),
            "div_yield": [2.0, 1.0, 0.0, 0.02, 0.01, 0.0, 0.0, 0.0, 1.5],
        }
    )
    got = dividend_yield_fraction(f).to_numpy()
    np.testing.assert_allclose(got[:6], [0.02, 0.01, 0.0, 0.02, 0.01, 0.0])
    assert np.isnan(got[6:]).all()  # mostly zeros: a blank field, not a no-dividend index
    with pytest.raises(ConfigError):
        fundamentals_table(snapshot("2025-01-01"), div_yield_unit="bad")  # type: ignore[arg-type]


def test_unit_screens() -> None:
    s = snapshot("2025-01-01")
    s.loc[s["ticker"] == "AAPL", "eps"] = 11849.0  # class-A EPS beside a class-B price
    assert np.isnan(earnings_from_snapshot(s).iloc[0])
    s.loc[s["ticker"] == "XOM", "ebitda"] = -2.9e18  # as in the 2026 snapshots
    s.loc[s["ticker"] == "KO", "ebitda"] = 3000.0  # 10 x the larger of cap (300) and revenue (50)
    amounts = amounts_from_snapshot(s)
    assert np.isnan(amounts.loc[3, "ebitda"]) and amounts.loc[4, "ebitda"] == 3000.0


def test_reading_growth_and_counts() -> None:
    a, b = snapshot("2025-01-01"), snapshot("2026-01-01", scale=1.5)
    b["price_sales"] = b["price_sales"] / 1.2  # revenue up 20% for every name with P/S
    f = pd.concat([a, b, snapshot("2027-01-01", scale=9.0)], ignore_index=True)
    r = fundamentals_reading(f, [BIG], as_of="2026-06-30", issuers=ISSUERS, sectors=SECTORS)
    assert r.snapshot == pd.Timestamp("2026-01-01") and r.age_days == 180  # 2027 never read
    assert r.window.label == "1Y" and r.window.start == pd.Timestamp("2025-01-01")
    np.testing.assert_allclose(r.growth.loc[["Index", "Big", "IT", "Staples"], "revenue"], 0.2)
    assert np.isnan(r.growth.loc["Energy", "earnings"])  # XOM's loss: base <= 0
    assert r.grew["revenue"] == (4, 4)  # Comm, Energy, IT, Staples all grew revenue
    assert r.grew["earnings"] == grew_count(r.growth.loc[list(r.sectors), "earnings"])
    assert r.sectors == ("Comm", "Energy", "IT", "Staples")
    assert set(r.available) >= {"eps", "price_sales", "price_book", "ebitda"}


def test_errors_are_clear() -> None:
    with pytest.raises(DataUnavailableError, match="no fundamentals snapshot on or before"):
        fundamentals_reading(snapshot("2025-01-01"), as_of="2024-01-01")
    d = snapshot_data(snapshot("2025-01-01"), [BIG])
    with pytest.raises(ConfigError, match="after the as-of date"):
        fundamentals_reading(d, as_of="2024-06-30")


# ----------------------------------------------------------------- bad input


VALUE = st.one_of(
    st.none(),
    st.just(math.inf),
    st.just(-math.inf),
    st.just(0.0),
    st.just(math.nan),
    st.floats(-1e4, 1e4),
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["2024-01-02", "2024-07-01", "2025-01-02"]),
            st.sampled_from(["AAPL", "GOOGL", "GOOG", "KO", "XOM", "aapl", "brk.b"]),
            VALUE,  # price
            VALUE,  # market cap
            VALUE,  # eps
            VALUE,  # P/E
            VALUE,  # P/S
            VALUE,  # P/B
            VALUE,  # EBITDA
            VALUE,  # dividend yield
        ),
        min_size=0,
        max_size=25,
    )
)
def test_any_snapshot_table_gives_a_result_or_one_clear_error(rows: list[tuple]) -> None:
    """Garbage values (inf, zero, negative, missing, duplicate or odd tickers) never crash:
    the overview either comes back with no infinite figure or raises a CounterweightError."""
    from counterweight.errors import CounterweightError
    from counterweight.groups import MAG7
    from counterweight.measure.valuation import valuation_overview

    f = pd.DataFrame(rows, columns=["date", *COLUMNS]).astype({c: float for c in COLUMNS[1:]})
    f["date"] = pd.to_datetime(f["date"])
    try:
        ov = valuation_overview(f, MAG7, issuers=ISSUERS, sectors=SECTORS)
    except CounterweightError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for frame in (ov.pe, ov.gap.windows.select_dtypes("number"), ov.fundamentals.levels):
        values = frame.to_numpy(dtype=float)
        assert not np.isinf(values).any()


def test_missing_columns_are_named() -> None:
    with pytest.raises(InputError, match="'ticker' and 'market_cap'"):
        issuer_amounts(pd.DataFrame({"date": [pd.Timestamp("2025-01-01")], "ticker": ["A"]}))
    with pytest.raises(DataUnavailableError, match="no fundamentals snapshots"):
        snapshot_data(pd.DataFrame())
