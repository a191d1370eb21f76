"""Leadership: index and group returns, linked contributions, windows, ETF pairs."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.errors import ConfigError, DataUnavailableError
from counterweight.groups import MAG7, group
from counterweight.market import Market
from counterweight.measure.leadership import (
    attribution,
    compound,
    contributions_by,
    daily_weights,
    etf_pairs,
    etf_window_returns,
    group_breadth,
    group_daily_returns,
    group_labels,
    linked_contributions,
    resolve_window,
    resolve_windows,
    rolling_window_returns,
    sector_daily_returns,
    window_returns,
)

TICKERS = ["AAPL", "MSFT", "NVDA", "GOOGL", "GOOG", "XOM", "JPM", "KO", "PFE", "CAT"]


def synthetic_market(t: int = 40, seed: int = 1, holes: bool = True) -> Market:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-12-15", periods=t)
    n = len(TICKERS)
    px = pd.DataFrame(
        50 * np.cumprod(1 + rng.normal(0.001, 0.02, (t, n)), axis=0), index=dates, columns=TICKERS
    )
    caps = px * rng.uniform(1e9, 5e10, n)
    if holes:
        px.iloc[7, 5] = np.nan  # XOM has no price on one date
        caps.iloc[12, 6] = np.nan  # JPM has no cap on one date
    members = pd.DataFrame(True, index=dates, columns=TICKERS)
    members.iloc[20:, 9] = False  # CAT leaves the index
    members.iloc[:10, 8] = False  # PFE joins later
    sectors = (
        ["Information Technology"] * 3
        + ["Communication Services"] * 2
        + ["Energy", "Financials", "Consumer Staples", "Health Care", "Industrials"]
    )
    sec = pd.DataFrame({"name": TICKERS, "issuer": TICKERS, "sector": sectors}, index=TICKERS)
    sec.loc[["GOOGL", "GOOG"], "issuer"] = "Alphabet"
    return Market.from_frames(px, caps=caps, members=members, securities=sec)


def brute_index_returns(m: Market, weighting: str, tickers: list[str] | None = None) -> np.ndarray:
    """Loop over days and names: the members *on* day t with a return that day, weighted by caps
    at t-1 (cap) or one slot per company split by caps at t-1 (equal)."""
    cols = range(len(m.tickers)) if tickers is None else [m.tickers.get_loc(t) for t in tickers]
    issuer = m.securities["issuer"]
    out = np.full(len(m.dates), np.nan)
    for t in range(1, len(m.dates)):
        held = []
        for i in cols:
            p0, p1, c0 = m.prices[t - 1, i], m.prices[t, i], m.caps[t - 1, i]
            if not m.members[t, i] or np.isnan(p0) or np.isnan(p1):
                continue
            if weighting == "cap" and not c0 > 0:
                continue
            held.append(i)
        if not held:
            continue
        if weighting == "cap":
            base = {i: m.caps[t - 1, i] for i in held}
        else:
            companies: dict[str, list[int]] = {}
            for i in held:
                companies.setdefault(str(issuer.iloc[i]), []).append(i)
            base = {}
            for members in companies.values():
                caps = [m.caps[t - 1, i] for i in members]
                for i, c in zip(members, caps, strict=True):
                    split = c / sum(caps) if all(x > 0 for x in caps) else 1 / len(members)
                    base[i] = split / len(companies)
        den = sum(base.values())
        out[t] = sum(b * (m.prices[t, i] / m.prices[t - 1, i] - 1) for i, b in base.items()) / den
    return out


@pytest.mark.parametrize("weighting", ["cap", "equal"])
def test_index_returns_match_brute_force(weighting: str) -> None:
    m = synthetic_market()
    a = attribution(m, weighting)
    np.testing.assert_allclose(
        a.index_returns, brute_index_returns(m, weighting), equal_nan=True, rtol=1e-12
    )


def test_group_returns_match_brute_force() -> None:
    m = synthetic_market()
    daily = group_daily_returns(m, [MAG7])
    rest = [t for t in TICKERS if t not in MAG7.tickers]
    mag = [t for t in TICKERS if t in MAG7.tickers]
    for w in ("cap", "equal"):
        np.testing.assert_allclose(daily[f"Index ({w})"], brute_index_returns(m, w), equal_nan=True)
        np.testing.assert_allclose(
            daily[f"Mag 7 ({w})"], brute_index_returns(m, w, mag), equal_nan=True
        )
        np.testing.assert_allclose(
            daily[f"Rest ({w})"], brute_index_returns(m, w, rest), equal_nan=True
        )


def test_missing_price_drops_name_for_two_days() -> None:
    m = synthetic_market()
    w = daily_weights(m, "cap")
    xom = m.tickers.get_loc("XOM")
    assert w[7, xom] == 0.0 and w[8, xom] == 0.0 and w[9, xom] > 0
    np.testing.assert_allclose(w[1:].sum(axis=1), 1.0)
    a = attribution(m, "cap")
    np.testing.assert_allclose(
        a.index_returns[1:], (w[1:] * np.nan_to_num(m.returns[1:])).sum(axis=1)
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 39), st.integers(0, 37))
def test_contributions_add_up_exactly(seed: int, end: int, start: int) -> None:
    m = synthetic_market(seed=seed)
    start = min(start, end - 1)
    w = resolve_window(m.dates, f"{m.dates[start + 1].date()}:{m.dates[end].date()}")
    for weighting in ("cap", "equal"):
        a = attribution(m, weighting)
        c = a.contributions(w)
        total = a.window_return(w)
        assert c.sum() == pytest.approx(total, abs=1e-14)
        daily = a.index_returns[w.start_pos + 1 : w.end_pos + 1]
        assert total == pytest.approx(np.prod(1 + np.nan_to_num(daily)) - 1, abs=1e-15)


def test_linked_contributions_closed_form_two_days() -> None:
    w = np.array([[0.5, 0.5], [0.6, 0.4]])
    r = np.array([[0.10, -0.02], [0.05, 0.01]])
    r1 = 0.5 * 0.10 + 0.5 * -0.02  # 0.04
    c = linked_contributions(w, r)
    np.testing.assert_allclose(c, [0.05 + 1.04 * 0.03, -0.01 + 1.04 * 0.004])
    assert c.sum() == pytest.approx((1 + r1) * (1 + 0.6 * 0.05 + 0.4 * 0.01) - 1)


def test_group_and_sector_contributions_partition_the_total() -> None:
    m = synthetic_market()
    a = attribution(m)
    w = resolve_window(m.dates, "ALL")
    c = a.contributions(w)
    by_group = contributions_by(c, group_labels(m, [MAG7]))
    by_sector = contributions_by(c, m.securities["sector"])
    assert set(by_group.index) == {"Mag 7", "Rest"}
    assert by_group.sum() == pytest.approx(a.window_return(w), abs=1e-14)
    assert by_sector.sum() == pytest.approx(a.window_return(w), abs=1e-14)


def test_compound_matches_empyrical() -> None:
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.01, 300)
    assert compound(r) == pytest.approx(empyrical.cum_returns_final(pd.Series(r)))
    roll = rolling_window_returns(r, 21)
    assert roll[21] == pytest.approx(np.prod(1 + r[1:22]) - 1)
    assert np.isnan(roll[:21]).all()


def test_windows_across_holidays_month_and_year_ends() -> None:
    # NYSE-like calendar: no trading on 2024-01-01, 2024-02-19, Good Friday 2024-03-29, weekends
    dates = pd.bdate_range("2023-06-01", "2024-12-31").drop(
        pd.to_datetime(["2024-01-01", "2024-02-19", "2023-12-25", "2024-03-29"])
    )
    w = resolve_window(dates, "YTD", "2024-03-15")
    assert w.start == pd.Timestamp("2023-12-29") and w.end == pd.Timestamp("2024-03-15")
    w = resolve_window(dates, "1M", "2024-03-30")  # Saturday after Good Friday: ends 28th
    assert w.end == pd.Timestamp("2024-03-28") and w.start == pd.Timestamp("2024-02-28")
    w = resolve_window(dates, "1M", "2024-03-19")  # anchor 2024-02-19 is a holiday
    assert w.start == pd.Timestamp("2024-02-16")
    w = resolve_window(dates, "1W", "2024-01-05")
    assert w.start == pd.Timestamp("2023-12-29")
    w = resolve_window(dates, "MTD", "2024-01-10")
    assert w.start == pd.Timestamp("2023-12-29")
    w = resolve_window(dates, "QTD", "2024-05-10")
    assert w.start == pd.Timestamp("2024-03-28")
    w = resolve_window(dates, "2024-01-01:2024-01-31")
    assert (w.start, w.end) == (pd.Timestamp("2023-12-29"), pd.Timestamp("2024-01-31"))
    with pytest.raises(DataUnavailableError):
        resolve_window(dates, "1Y", "2024-03-01")
    with pytest.raises(ConfigError):
        resolve_window(dates, "7Q")
    ok, skipped = resolve_windows(dates, ["1W", "3Y"], "2024-06-28")
    assert [x.label for x in ok] == ["1W"] and len(skipped) == 1


def test_window_returns_and_breadth() -> None:
    m = synthetic_market(holes=False)
    daily = group_daily_returns(m, [MAG7])
    w = resolve_window(m.dates, "ALL")
    table = window_returns(daily, [w])
    # a basket holding only AAPL is the stock's own return
    solo = group_daily_returns(m, [group("Apple", ["AAPL"])], include_rest=False)
    ret = window_returns(solo, [w]).loc["ALL", "Apple (cap)"]
    assert ret == pytest.approx(m.prices[-1, 0] / m.prices[0, 0] - 1)
    idx_ret = table.loc["ALL", "Index (cap)"]
    b = group_breadth(m, MAG7, w, idx_ret)
    assert b.n_names == 4  # AAPL MSFT NVDA Alphabet
    names = b.names
    assert b.n_up == int((names["return"] > 0).sum())
    assert b.n_beat_index == int((names["return"] > idx_ret).sum())
    assert b.spread == pytest.approx(names["return"].max() - names["return"].min())
    assert b.dispersion == pytest.approx(np.std(names["return"].to_numpy()))
    # Alphabet: cap-weighted mix of its two classes, between the two
    g1 = m.prices[-1, 3] / m.prices[0, 3] - 1
    g2 = m.prices[-1, 4] / m.prices[0, 4] - 1
    assert min(g1, g2) - 1e-12 <= names.loc["Alphabet", "return"] <= max(g1, g2) + 1e-12


def test_sector_returns_and_etf_pairs() -> None:
    m = synthetic_market(holes=False)
    sec = sector_daily_returns(m)
    np.testing.assert_allclose(sec["Energy"].to_numpy()[1:], m.returns[1:, 5])
    idx = pd.bdate_range("2024-01-01", periods=5)
    bm = pd.DataFrame(
        {"SPY": [100, 101, 102, 103, 104.0], "RSP": [50, 50, 51, 51, 53.0]}, index=idx
    )
    w = resolve_window(idx, "ALL")
    pairs = etf_pairs(bm, [("EW-CW", "RSP", "SPY"), ("missing", "XYZ", "SPY")], [w])
    assert list(pairs.index) == ["EW-CW"]
    assert pairs.loc["EW-CW", "ALL"] == pytest.approx(53 / 50 - 104 / 100)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 500),
    st.sampled_from(["1W", "1M", "3M", "6M", "YTD", "MTD", "QTD", "1Y", "10D"]),
)
def test_window_anchor_is_last_close_on_or_before_offset(end_pos: int, spec: str) -> None:
    dates = pd.bdate_range("2021-06-01", periods=900).drop(
        pd.to_datetime(["2022-07-04", "2023-01-02"])
    )
    end = dates[300 + end_pos]  # at least a year of data before the end
    w = resolve_window(dates, spec, end)
    assert w.end == end and w.start < w.end
    assert dates[w.start_pos] == w.start and dates[w.end_pos] == w.end
    # no trading date lies strictly between the anchor and the calendar offset
    from counterweight.measure.leadership import _anchor_date

    anchor = _anchor_date(spec, end)
    assert anchor is not None and w.start <= anchor
    assert not ((dates > w.start) & (dates <= anchor)).any()


def test_etf_windows_use_the_etf_calendar() -> None:
    stock_dates = pd.bdate_range("2024-01-01", periods=10)
    etf_idx = stock_dates.drop(stock_dates[[3]])  # the ETF has no price on one stock date
    bm = pd.DataFrame({"SPY": np.arange(100.0, 109.0)}, index=etf_idx)
    w = resolve_window(stock_dates, f"{stock_dates[4].date()}:{stock_dates[-1].date()}")
    assert w.start == stock_dates[3]
    got = etf_window_returns(bm, ["SPY"], [w]).iloc[0, 0]
    # start falls back to the last ETF close on or before the window start (stock_dates[2])
    assert got == pytest.approx(108.0 / 102.0 - 1)


def _change_panel() -> Market:
    """Three names, 5 days. C's membership ends on day 2 (out from day 2) and C halves that day;
    D joins on day 2 and doubles that day. A and B are flat, then rise 1% on day 3."""
    dates = pd.bdate_range("2024-03-04", periods=5)
    px = pd.DataFrame(
        {
            "A": [10.0, 10, 10, 10.1, 10.1],
            "B": [10.0, 10, 10, 10.1, 10.1],
            "C": [10.0, 10, 5, 5, 5],
            "D": [10.0, 10, 20, 20, 20],
        },
        index=dates,
    )
    caps = px * pd.Series({"A": 1e9, "B": 2e9, "C": 1e9, "D": 1e9})
    members = pd.DataFrame(
        {
            "A": [True] * 5,
            "B": [True] * 5,
            "C": [True, True, False, False, False],
            "D": [False, False, True, True, True],
        },
        index=dates,
    )
    return Market.from_frames(px, caps=caps, members=members)


@pytest.mark.parametrize("weighting", ["cap", "equal"])
def test_leaver_out_and_joiner_in_on_the_change_day(weighting: str) -> None:
    m = _change_panel()
    a = attribution(m, weighting)
    # day 2: C (out) must not drag; D (in) counts on its first day with its day-1 weight
    expected_day2 = 1e9 * 1.0 / 4e9 if weighting == "cap" else 1.0 / 3
    assert a.index_returns[2] == pytest.approx(expected_day2, abs=1e-15)
    assert a.index_returns[1] == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(a.index_returns, brute_index_returns(m, weighting), equal_nan=True)
    w = daily_weights(m, weighting)
    assert w[2, m.tickers.get_loc("C")] == 0.0 and w[2, m.tickers.get_loc("D")] > 0
    assert w[1, m.tickers.get_loc("C")] > 0 and w[1, m.tickers.get_loc("D")] == 0.0
    win = resolve_window(m.dates, f"{m.dates[2].date()}:{m.dates[2].date()}")
    c = a.contributions(win)
    assert c["C"] == 0.0 and c["D"] == pytest.approx(expected_day2, abs=1e-15)
    daily = group_daily_returns(m, [group("CD", ["C", "D"])], weightings=(weighting,))
    assert daily[f"Index ({weighting})"].iloc[2] == pytest.approx(expected_day2, abs=1e-15)
    assert daily[f"CD ({weighting})"].iloc[2] == pytest.approx(1.0, abs=1e-15)  # only D


def test_equal_weight_is_by_company() -> None:
    """GOOG + GOOGL share Alphabet's one slot (split by their caps at t-1): S&P 500 EWI weights
    companies, not share lines."""
    m = synthetic_market(holes=False)
    w = daily_weights(m, "equal")
    g, gl = m.tickers.get_loc("GOOG"), m.tickers.get_loc("GOOGL")
    for t in (1, 15, 30):
        n_companies = len({m.securities["issuer"].iloc[i] for i in np.flatnonzero(m.members[t])})
        assert w[t, g] + w[t, gl] == pytest.approx(1 / n_companies, abs=1e-15)
        split = m.caps[t - 1, g] / (m.caps[t - 1, g] + m.caps[t - 1, gl])
        assert w[t, g] == pytest.approx(split / n_companies, abs=1e-15)
        other = w[t, m.tickers.get_loc("AAPL")]
        assert other == pytest.approx(1 / n_companies, abs=1e-15)
    from counterweight.measure.breadth import index_returns

    ew, _ = index_returns(m.returns, m.caps, m.members, issuer_codes=m.issuer_codes)
    np.testing.assert_allclose(ew, brute_index_returns(m, "equal"), equal_nan=True, rtol=1e-12)


WINDOW_NAMES = ["1W", "1M", "3M", "6M", "YTD", "1Y", "3Y", "MTD", "QTD", "ALL", "10D", "ytd"]


@pytest.mark.parametrize("name", [*WINDOW_NAMES, "2023-03-01:2024-06-28", ":2023-12-29"])
def test_window_names_accepted_wherever_a_window_is_taken(name: str) -> None:
    """``attribution(m, "cap").contributions("YTD")`` and friends take names as well as Windows."""
    m = synthetic_market(t=820, holes=False)
    win = resolve_window(m.dates, name)
    for weighting in ("cap", "equal"):
        a = attribution(m, weighting)
        by_name = a.contributions(name)
        pd.testing.assert_series_equal(by_name, a.contributions(win))
        assert a.window_return(name) == a.window_return(win)
        assert by_name.sum() == pytest.approx(a.window_return(win), abs=1e-13)
    daily = group_daily_returns(m, [MAG7])
    pd.testing.assert_frame_equal(window_returns(daily, [name]), window_returns(daily, [win]))
    gb = group_breadth(m, MAG7, name)
    assert gb.window == win
    assert gb.index_return == pytest.approx(attribution(m, "cap").window_return(win), abs=1e-15)
    assert (
        group_breadth(m, MAG7, name, 0.0).n_beat_index
        == group_breadth(m, MAG7, win, 0.0).n_beat_index
    )


def test_window_names_on_benchmark_dates() -> None:
    m = synthetic_market(t=300, holes=False)
    bm = m.prices_frame()[["AAPL", "MSFT"]].rename(columns={"AAPL": "XLK", "MSFT": "SPY"})
    win = resolve_window(pd.DatetimeIndex(bm.index), "3M")
    pd.testing.assert_frame_equal(
        etf_window_returns(bm, ["XLK", "SPY"], ["3M"]),
        etf_window_returns(bm, ["XLK", "SPY"], [win]),
    )
    pairs = (("tech - spy", "XLK", "SPY"),)
    pd.testing.assert_frame_equal(etf_pairs(bm, pairs, ["3M"]), etf_pairs(bm, pairs, [win]))


def test_bad_window_names_are_config_errors() -> None:
    m = synthetic_market()
    a = attribution(m, "cap")
    with pytest.raises(ConfigError, match="unknown window"):
        a.contributions("FORTNIGHT")
    with pytest.raises(ConfigError, match="a window is a name"):
        a.contributions(5)  # type: ignore[arg-type]
    with pytest.raises(DataUnavailableError):
        a.contributions("3Y")  # 40 days of data


_SPEC_PIECES = st.one_of(
    st.text(max_size=12),
    st.builds(
        lambda k, u: f"{k}{u}",
        st.integers(-5, 10**22),
        st.sampled_from(["D", "W", "M", "Y", "Q", "", "d", " M", "MM"]),
    ),
    st.builds(
        lambda a, b: f"{a}:{b}",
        st.one_of(st.dates().map(str), st.text(max_size=10), st.just("")),
        st.one_of(st.dates().map(str), st.text(max_size=10), st.just("2024-02-30")),
    ),
    st.sampled_from(["NaT:", "nan", "2024-01-02T10:00:", "2024-01-02+05:00:", "YTD ", " 1y"]),
)


@settings(max_examples=150, deadline=None)
@given(spec=_SPEC_PIECES)
def test_property_any_window_text_resolves_or_says_why(spec: str) -> None:
    """Any text as a window either resolves inside the data or raises one of the package's
    errors (never a pandas parse error, an overflow or a traceback)."""
    dates = pd.bdate_range("2020-01-01", periods=300)
    try:
        w = resolve_window(dates, spec)
    except (ConfigError, DataUnavailableError) as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert 0 <= w.start_pos < w.end_pos < len(dates)
    assert w.start == dates[w.start_pos] and w.end == dates[w.end_pos]
