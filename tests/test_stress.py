"""Stress: shocked combinations get exactly their shock; moves match regression; replays by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import counterweight as cw
from counterweight.errors import ConfigError, DataUnavailableError
from counterweight.groups import MAG7
from counterweight.risk import (
    Scenario,
    conditional_moves,
    market_covariance,
    named_replay,
    parametric,
    parse_shock,
    replay,
    stress,
)
from test_risk import synthetic_market


def test_conditional_moves_exact_shock_and_projection() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 30))
    sigma = x @ x.T / 30 + 0.1 * np.eye(30)
    a = np.zeros((2, 30))
    a[0, :5] = rng.dirichlet(np.ones(5))
    a[1, 10] = 1.0
    s = np.array([-0.3, 0.1])
    mu = conditional_moves(sigma, a, s)
    np.testing.assert_allclose(a @ mu, s, atol=1e-14)
    # independent: Monte Carlo regression of every name on the shocked combinations
    z = rng.multivariate_normal(np.zeros(30), sigma, size=200_000)
    f = z @ a.T
    coef, *_ = np.linalg.lstsq(f, z, rcond=None)
    np.testing.assert_allclose(coef.T @ s, mu, atol=0.01)


def test_redundant_shocks_are_refused() -> None:
    sigma = np.eye(3)
    a = np.array([[1.0, 0, 0], [2.0, 0, 0]])
    with pytest.raises(ConfigError, match="redundant"):
        conditional_moves(sigma, a, np.array([0.1, 0.2]))


def test_group_basket_and_each_receive_exactly_their_shock() -> None:
    m = synthetic_market()
    basket = parametric(m, [parse_shock("Mag 7=-0.30", m)])
    caps = pd.Series(m.caps[-1], index=m.tickers)[list(MAG7.tickers)]
    bw = caps / caps.sum()
    assert float((basket.moves[bw.index] * bw).sum()) == pytest.approx(-0.30, abs=1e-12)
    each = parametric(m, [parse_shock("Mag 7=-30%", m, mode="each")])
    np.testing.assert_allclose(each.moves[list(MAG7.tickers)], -0.30, atol=1e-12)
    sector = parametric(m, [parse_shock("energy=-0.25", m)])
    en = ["XOM", "CVX"]
    w = pd.Series(m.caps[-1], index=m.tickers)[en]
    assert float((sector.moves[en] * w / w.sum()).sum()) == pytest.approx(-0.25, abs=1e-12)


def test_factor_shock_is_beta_times_shock() -> None:
    m = synthetic_market()
    sc = parametric(m, [parse_shock("small caps=+0.10", m)])
    assert "IWM" not in sc.moves.index
    cov = market_covariance(m, extra=["IWM", "SPY"]).matrix  # SPY rides along as the proxy
    beta = cov["IWM"] / cov.loc["IWM", "IWM"]
    np.testing.assert_allclose(sc.moves, 0.10 * beta[sc.moves.index], rtol=1e-10)


def test_two_shocks_together() -> None:
    m = synthetic_market()
    sc = parametric(m, [parse_shock("NVDA=-0.4", m), parse_shock("SPY=-0.1", m)])
    assert sc.moves["NVDA"] == pytest.approx(-0.4, abs=1e-12)


def test_replay_is_the_price_ratio_and_proxies_missing_names() -> None:
    m = synthetic_market()
    px = m.prices_frame().copy()
    px.loc[: px.index[120], "KO"] = np.nan  # KO lists later
    m2 = cw.Market.from_frames(px, securities=m.securities, benchmarks=m.benchmarks)
    start, end = m.dates[100], m.dates[110]
    sc = replay(m2, start, end)
    expect = px.loc[end] / px.loc[m.dates[99]] - 1
    np.testing.assert_allclose(sc.moves.drop("KO"), expect.drop("KO"), rtol=1e-14)
    spy = m.benchmarks["SPY"]
    assert sc.moves["KO"] == pytest.approx(spy[end] / spy[m.dates[99]] - 1)
    assert sc.proxied == ("KO",)
    with pytest.raises(DataUnavailableError, match="not in the data"):
        replay(m2, "2010-01-01", "2010-02-01")


def test_stress_pnl_adds_up() -> None:
    m = synthetic_market()
    sc = parametric(m, [parse_shock("Mag 7=-0.30", m)])
    w = m.cap_weights()
    ew = pd.Series(1 / len(w), index=w.index)
    res = stress(sc, {"before": w, "after": ew}, securities=m.securities)
    for name, wt in (("before", w), ("after", ew)):
        total = float((wt * sc.moves[wt.index]).sum())
        assert res.total[name] == pytest.approx(total, rel=1e-12)
        assert res.by_group[f"{name} pnl"].sum() == pytest.approx(total, rel=1e-12)
        assert res.by_sector[f"{name} pnl"].sum() == pytest.approx(total, rel=1e-12)
    bare = Scenario("no fallback", sc.moves, "parametric")
    with pytest.raises(DataUnavailableError, match="ZZZ"):
        stress(bare, {"x": pd.Series({"ZZZ": 1.0})})


def test_named_windows_on_the_embedded_sample() -> None:
    daily = cw.load_sample()
    april = named_replay(daily, "April 2025 sell-off")
    aapl = daily.prices_frame()["AAPL"]
    assert april.moves["AAPL"] == pytest.approx(aapl["2025-04-08"] / aapl["2025-04-01"] - 1)
    # the embedded daily panel starts in 2014 since issue 12: March 2020 replays day by day
    covid_daily = named_replay(daily, "March 2020")
    assert covid_daily.moves["AAPL"] < -0.1
    with pytest.raises(DataUnavailableError, match="not in the data"):
        named_replay(daily.slice("2023-01-01", None), "March 2020")
    monthly = cw.load_sample("monthly")
    covid = named_replay(monthly, "March 2020")
    assert "coarse" in covid.detail
    assert covid.moves.notna().all()
    with pytest.raises(ConfigError, match="unknown historical"):
        named_replay(daily, "the big one")


def test_names_without_history_move_as_the_proxy() -> None:
    m = synthetic_market()
    sc = parametric(m, [parse_shock("Mag 7=-0.30", m)])
    assert sc.fallback is not None and "SPY" not in sc.moves.index
    cov = market_covariance(m, extra=["SPY"]).matrix
    caps = pd.Series(m.caps[-1], index=m.tickers)[list(MAG7.tickers)]
    a = (caps / caps.sum()).reindex(cov.index).fillna(0.0).to_numpy()
    sigma = cov.to_numpy()
    spy = cov.index.get_loc("SPY")
    expect = float((sigma @ a)[spy] / (a @ sigma @ a) * -0.30)
    assert sc.fallback == pytest.approx(expect, rel=1e-9)
    res = stress(sc, {"p": pd.Series({"AAPL": 0.5, "NEWCO": 0.5})})
    assert res.uncovered == ("NEWCO",)
    assert res.by_stock.loc["NEWCO", "return"] == pytest.approx(sc.fallback)
