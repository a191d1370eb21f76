"""Risk: Ledoit-Wolf against the 2004 formula, contributions add up, TE and beta by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from counterweight.groups import MAG7, group
from counterweight.market import Market
from counterweight.risk import Covariance, compare, ledoit_wolf, market_covariance, risk_report

TICKERS = [*MAG7.tickers, "XOM", "CVX", "JPM", "BAC", "KO", "PEP", "JNJ", "PFE", "LIN", "CAT"]
SECTORS = ["Information Technology"] * 3 + ["Consumer Discretionary", "Communication Services"] * 2
SECTORS += ["Consumer Discretionary", "Energy", "Energy", "Financials", "Financials"]
SECTORS += [
    "Consumer Staples",
    "Consumer Staples",
    "Health Care",
    "Health Care",
    "Materials",
    "Industrials",
]


def synthetic_market(days: int = 400, seed: int = 1) -> Market:
    """Two-factor returns for 18 tickers plus IWM/SPY series correlated with the factors."""
    rng = np.random.default_rng(seed)
    n = len(TICKERS)
    f = rng.normal(0, 0.01, size=(days, 2))
    load = np.column_stack([rng.uniform(0.6, 1.4, n), np.r_[np.ones(8), -np.ones(n - 8)] * 0.5])
    r = f @ load.T + rng.normal(0, 0.012, size=(days, n))
    dates = pd.bdate_range("2024-01-02", periods=days)
    prices = pd.DataFrame(100 * np.cumprod(1 + r, axis=0), index=dates, columns=TICKERS)
    shares = pd.Series(rng.uniform(1, 30, n), index=TICKERS)
    caps = prices * shares
    sec = pd.DataFrame(
        {
            "issuer": [("Alphabet" if t in ("GOOG", "GOOGL") else t) for t in TICKERS],
            "sector": SECTORS,
        },
        index=TICKERS,
    )
    iwm = 0.7 * f[:, 0] - 0.6 * f[:, 1] + rng.normal(0, 0.004, days)
    spy = f[:, 0] + 0.2 * f[:, 1] + rng.normal(0, 0.002, days)
    bm = pd.DataFrame(
        {"IWM": 50 * np.cumprod(1 + iwm), "SPY": 400 * np.cumprod(1 + spy)}, index=dates
    )
    return Market.from_frames(prices, caps=caps, securities=sec, benchmarks=bm)


def lw_formula(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit & Wolf (2004), written out: S, mu = tr(S)/p, d2, b2 = min(bbar2, d2), delta = b2/d2."""
    n, p = x.shape
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / n
    mu = np.trace(s) / p
    d2 = np.sum((s - mu * np.eye(p)) ** 2) / p
    bbar2 = sum(np.sum((np.outer(row, row) - s) ** 2) for row in xc) / (n * n * p)
    delta = min(bbar2, d2) / d2
    return delta * mu * np.eye(p) + (1 - delta) * s, delta


def test_ledoit_wolf_matches_the_published_formula() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 15)) @ rng.normal(size=(15, 15)) * 0.01
    frame = pd.DataFrame(x, columns=[f"T{i}" for i in range(15)])
    cov = ledoit_wolf(frame, periods_per_year=252)
    ref, delta = lw_formula(x)
    assert cov.shrinkage == pytest.approx(delta, rel=1e-10)
    np.testing.assert_allclose(cov.matrix.to_numpy(), 252 * ref, rtol=1e-10, atol=1e-14)


def test_sparse_columns_are_dropped_and_gaps_filled() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(0, 0.01, size=(100, 3)), columns=["A", "B", "C"])
    frame.loc[:50, "C"] = np.nan  # 49% coverage
    frame.loc[3, "B"] = np.nan
    cov = ledoit_wolf(frame)
    assert cov.dropped == ("C",)
    assert list(cov.tickers) == ["A", "B"]
    assert np.isfinite(cov.matrix.to_numpy()).all()


def test_contributions_add_up_and_group_share() -> None:
    m = synthetic_market()
    cov = market_covariance(m, window=250)
    w = m.cap_weights()
    ew = pd.Series(1 / len(w), index=w.index)
    rep = risk_report(ew, cov, benchmark=w, securities=m.securities, groups=[MAG7])
    sigma = cov.matrix.loc[w.index, w.index].to_numpy()
    e = ew.to_numpy()
    assert rep.variance == pytest.approx(e @ sigma @ e, rel=1e-12)
    assert rep.by_stock["contribution"].sum() == pytest.approx(rep.variance, rel=1e-12)
    assert rep.by_sector["contribution"].sum() == pytest.approx(rep.variance, rel=1e-12)
    assert rep.by_issuer["contribution"].sum() == pytest.approx(rep.variance, rel=1e-12)
    assert rep.by_group["share"].sum() == pytest.approx(1.0, rel=1e-12)
    # Mag 7 share of risk by a brute-force loop
    mag = [i for i, t in enumerate(w.index) if t in MAG7.tickers]
    brute = sum(e[i] * sum(sigma[i, j] * e[j] for j in range(len(e))) for i in mag) / rep.variance
    assert rep.by_group.loc["Mag 7", "share"] == pytest.approx(brute, rel=1e-10)
    # issuer level: GOOG + GOOGL together
    assert rep.by_issuer.loc["Alphabet", "weight"] == pytest.approx(2 / len(w))
    # tracking error by hand
    a = e - w.to_numpy()
    assert rep.tracking_error == pytest.approx(np.sqrt(a @ sigma @ a), rel=1e-12)


def test_beta_equals_regression_slope_with_sample_covariance() -> None:
    """With the plain sample covariance, beta is the OLS slope of portfolio on benchmark returns."""
    m = synthetic_market()
    r = m.returns_frame().iloc[1:]
    sample = Covariance(matrix=r.cov() * 252, shrinkage=0.0, observations=len(r))
    rng = np.random.default_rng(3)
    w = pd.Series(rng.dirichlet(np.ones(len(TICKERS))), index=TICKERS)
    b = m.cap_weights()
    rep = risk_report(w, sample, benchmark=b)
    rp = r.to_numpy() @ w.to_numpy()
    rb = r.to_numpy() @ b.reindex(TICKERS).to_numpy()
    slope = np.polyfit(rb, rp, 1)[0]
    assert rep.beta == pytest.approx(slope, rel=1e-9)
    assert rep.volatility == pytest.approx(np.std(rp, ddof=1) * np.sqrt(252), rel=1e-9)


def test_compare_before_after_and_missing_history() -> None:
    m = synthetic_market()
    cov = market_covariance(m)
    before = risk_report(m.cap_weights(), cov, securities=m.securities)
    capped = m.cap_weights().clip(upper=0.05)
    after = risk_report(
        capped / capped.sum(),
        cov,
        securities=m.securities,
        groups=[MAG7, group("Banks", ["JPM", "BAC"])],
    )
    table = compare(before, after)
    assert "risk share: Mag 7" in table.index
    assert table.loc["volatility", "change"] == pytest.approx(after.volatility - before.volatility)
    from counterweight.errors import DataUnavailableError

    with pytest.raises(DataUnavailableError, match="ZZZ"):
        risk_report(pd.Series({"ZZZ": 1.0}), cov)


@pytest.mark.parametrize(("freq", "ppy"), [("B", 252), ("W-FRI", 52), ("2W-FRI", 26), ("BME", 12)])
def test_covariance_annualises_with_the_package_periods_per_year(freq: str, ppy: int) -> None:
    """market_covariance annualises by measure.performance.periods_per_year of its dates: a
    bi-weekly panel by 26 (the old risk-side rule said 12), checked against the formula."""
    rng = np.random.default_rng(3)
    dates = pd.date_range("2015-01-02", periods=90, freq=freq)
    r = rng.normal(0, 0.02, size=(90, 4))
    prices = pd.DataFrame(100 * np.cumprod(1 + r, axis=0), index=dates, columns=list("ABCD"))
    m = Market.from_frames(prices)
    cov = market_covariance(m, window=89)
    assert cov.periods_per_year == ppy
    ref, _ = lw_formula(m.returns[1:])
    np.testing.assert_allclose(cov.matrix.to_numpy(), ppy * ref, rtol=1e-10, atol=1e-14)
