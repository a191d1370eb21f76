"""Look-through exposure: checked by hand, against each fund's own holdings, and against pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from counterweight import load_sample
from counterweight.construct.methodology import sp_select_sector
from counterweight.construct.schemes import equal_weight
from counterweight.data.funds import (
    HoldingsLibrary,
    default_library,
    embedded_holdings,
    read_fund_file,
)
from counterweight.data.holdings import Holdings
from counterweight.exposure import CASH, FundResolver, exposure_report, lookthrough
from counterweight.exposure.models import last_quarterly_rebalance, model_weights
from counterweight.market import Market

FUNDS = """fund,date,ticker,name,weight
FND1,2024-01-05,AAA,A Co,0.50
FND1,2024-01-05,BBB,B Co,0.30
FND1,2024-01-05,CC-A,C Co A,0.10
FND1,2024-01-05,CC-B,C Co B,0.05
FND1,2024-01-05,USD,USD CASH,0.05
FND2,2024-01-04,AAA,A Co,0.20
FND2,2024-01-04,CC-B,C Co B,0.60
FND2,2024-01-04,ZZZ,Zed Corp,0.20
"""


@pytest.fixture
def two_fund(tiny_market: Market, tmp_path: Path):
    p = tmp_path / "funds.csv"
    p.write_text(FUNDS)
    lib = HoldingsLibrary(read_fund_file(p))
    h = Holdings.from_frame(
        pd.DataFrame(
            {
                "account": ["A", "A", "A", "A"],
                "ticker": ["FND1", "FND2", "AAA", "CASH"],
                "market_value": [1000.0, 500.0, 200.0, 300.0],
            }
        )
    )
    lt = lookthrough(h, tiny_market, FundResolver(tiny_market, lib), as_of="2024-01-08")
    return lt, exposure_report(lt, tiny_market)


def test_hand_built_two_fund_book(two_fund) -> None:
    lt, rep = two_fund
    w = lt.weights()
    # by hand: A Co = 1000*0.5 + 500*0.2 + 200 direct = 800 of 2000
    expected = {
        "A Co": 0.40,
        "C Co": (1000 * 0.15 + 500 * 0.60) / 2000,
        "B Co": 0.15,
        "ZZZ": 0.05,
        "cash": 0.15,
        "cash and other in FND1": 0.025,
    }
    assert w.to_dict() == pytest.approx(expected, abs=1e-15)
    assert lt.total == 2000.0 and lt.book.sum() == pytest.approx(2000.0, abs=1e-9)
    a = rep.issuers.loc["A Co"]
    assert (a["direct"], a["FND1"], a["FND2"]) == pytest.approx((0.10, 0.25, 0.05), abs=1e-15)
    # overlap: min(0.5, 0.2) for A Co + min(0.15, 0.6) for C Co (both classes) = 0.35
    ov = rep.overlap.iloc[0]
    assert (ov["fund_a"], ov["fund_b"], ov["common"]) == ("FND1", "FND2", 2)
    assert ov["overlap"] == pytest.approx(0.35, abs=1e-15)
    # concentration of the equity part: 800, 450, 300, 100 of 1650
    vals = np.array([800.0, 450.0, 300.0, 100.0]) / 1650
    assert rep.concentration.loc["HHI", "book"] == pytest.approx(float((vals**2).sum()), abs=1e-15)
    assert rep.concentration.loc["effective N", "book"] == pytest.approx(1 / float((vals**2).sum()))
    ric = {c.name: c for c in rep.checks}
    assert not ric["RIC: single issuer <= 25%"].passed and ric[
        "RIC: single issuer <= 25%"
    ].value == pytest.approx(0.40)
    # the fund file dates and ages are kept
    assert rep.funds.loc["FND1", "age_days"] == 3 and rep.funds.loc["FND2", "age_days"] == 4


def test_sector_split_adds_up(two_fund) -> None:
    _, rep = two_fund
    body = rep.sectors.drop(index=["IT + Communication Services"], errors="ignore")
    assert body["weight"].sum() == pytest.approx(1.0, abs=1e-15)
    src = [s for s in rep.sources]
    np.testing.assert_allclose(body[src].sum(axis=1), body["weight"], atol=1e-15)
    assert body.loc["Energy", "weight"] == pytest.approx(450 / 2000, abs=1e-15)


@pytest.fixture(scope="module")
def sample() -> Market:
    return load_sample("daily")


def _book(
    rows: list[tuple[str, str, float]],
    cash: dict[str, float] | None = None,
    prices: dict[str, float] | None = None,
) -> Holdings:
    frame = pd.DataFrame(rows, columns=["account", "ticker", "shares"])
    frame["price"] = frame["ticker"].map(prices or {})
    for acct, amount in (cash or {}).items():
        frame.loc[len(frame)] = [acct, "CASH", amount, np.nan]
    return Holdings.from_frame(frame)


def _issuer_of(market: Market, tickers: pd.Index) -> np.ndarray:
    sec = market.securities["issuer"]
    return np.array([str(sec[t]) if t in sec.index else t for t in tickers], dtype=object)


def test_a_single_fund_looks_through_to_its_own_holdings(sample: Market) -> None:
    day = sample.dates[-1]
    lt = lookthrough(
        _book([("A", "QQQ", 10.0)]), sample, FundResolver(sample, default_library()), day
    )
    (qqq,) = [h for h in embedded_holdings() if h.fund == "QQQ"]
    own = qqq.equity
    expected = own.groupby(_issuer_of(sample, own.index)).sum()
    got = lt.weights()
    got = got[lt.matrix.columns["kind"] == "issuer"]
    pd.testing.assert_series_equal(
        got.sort_index(), expected.sort_index(), check_names=False, atol=1e-14, rtol=0
    )
    # the model fund: a SPY-only book holds the S&P 500's issuer cap weights
    lt2 = lookthrough(_book([("A", "SPY", 3.0)]), sample, FundResolver(sample), day)
    idx = sample.cap_weights(day, issuer_level=True)
    idx = idx[idx > 0]
    got2 = lt2.weights()
    pd.testing.assert_series_equal(
        got2.sort_index(), idx.sort_index(), check_names=False, atol=1e-14, rtol=0
    )


def test_pandas_merge_groupby_reference_and_totals(sample: Market) -> None:
    """Exposure per (account, issuer) against a plain pandas merge of positions and holdings."""
    day = sample.dates[-1]
    rows = [
        ("A", "SPY", 100.0),
        ("A", "QQQ", 50.0),
        ("A", "NVDA", 30.0),
        ("B", "XLK", 40.0),
        ("B", "RSP", 20.0),
        ("B", "IWM", 10.0),
        ("B", "AAPL", 5.0),
        ("C", "VUG", 7.0),
        ("C", "MDY", 3.0),
    ]
    book = _book(rows, cash={"A": 1000.0, "C": 50.0}, prices={"MDY": 550.0})
    res = FundResolver(sample, default_library())
    lt = lookthrough(book, sample, res, day)
    # exposures sum to each account's value, and to the book's
    np.testing.assert_allclose(lt.exposure.sum(axis=1), lt.values.values.sum(axis=1), rtol=1e-13)
    assert lt.book.sum() == pytest.approx(lt.total, rel=1e-13)
    # reference: long positions x long fund lines, merged and grouped
    vals = lt.values.values.stack().rename("value").reset_index()
    vals.columns = ["account", "instrument", "value"]
    vals = vals[vals["value"] != 0]
    lines = []
    for inst in vals["instrument"].unique():
        if inst == CASH:
            lines.append(pd.DataFrame({"instrument": [inst], "key": ["cash"], "w": [1.0]}))
        elif inst in sample.tickers:
            lines.append(
                pd.DataFrame(
                    {
                        "instrument": [inst],
                        "key": [str(sample.securities.at[inst, "issuer"])],
                        "w": [1.0],
                    }
                )
            )
        else:
            look = res.look(inst, day)
            if look.opaque:
                lines.append(
                    pd.DataFrame({"instrument": [inst], "key": [f"{inst} (opaque)"], "w": [1.0]})
                )
                continue
            w = look.weights
            part = pd.DataFrame(
                {"instrument": inst, "key": _issuer_of(sample, w.index), "w": w.to_numpy()}
            )
            rest = 1.0 - w.sum()
            if rest > 1e-15:
                part.loc[len(part)] = [inst, f"cash and other in {inst}", rest]
            lines.append(part)
    ref = (
        vals.merge(pd.concat(lines), on="instrument")
        .assign(usd=lambda d: d["value"] * d["w"])
        .groupby(["account", "key"])["usd"]
        .sum()
        .unstack(fill_value=0.0)
    )
    got = pd.DataFrame(lt.exposure, index=lt.values.values.index, columns=lt.matrix.columns.index)
    got = got.loc[:, (got != 0).any(axis=0)]
    ref = ref.reindex(index=got.index, columns=got.columns)
    assert ref.notna().all().all()
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-12, atol=1e-8)
    rep = exposure_report(lt, sample)
    assert rep.funds.loc["VUG", "method"] == "opaque" and rep.funds.loc["VUG", "value"] > 0
    assert rep.opaque_weight == pytest.approx(rep.funds.loc["VUG", "weight"], abs=1e-15)
    assert rep.groups.loc["Mag 7", "weight"] == pytest.approx(
        rep.groups.loc["Mag 7", list(rep.sources)].sum(), abs=1e-15
    )


def test_fund_prices_come_from_the_market_benchmarks(sample: Market) -> None:
    day = sample.dates[-1]
    lt = lookthrough(_book([("A", "SPY", 2.0)]), sample, FundResolver(sample), day)
    assert lt.total == pytest.approx(2.0 * float(sample.benchmarks["SPY"].iloc[-1]), rel=1e-15)


def test_rsp_equal_weight_drifts_from_the_quarterly_rebalance(sample: Market) -> None:
    day = sample.dates[-1]
    r = last_quarterly_rebalance(sample, day)
    assert r == pd.Timestamp("2026-06-18")  # third Friday 2026-06-19 is Juneteenth: the day before
    w, text, date = model_weights("RSP", sample, day)
    base = equal_weight(sample, r)
    px = sample.prices_frame()
    grown = base * px.loc[day, base.index] / px.loc[r, base.index]
    grown = grown.dropna()
    ref = grown / grown.sum()
    pd.testing.assert_series_equal(
        w.sort_index(), ref.sort_index(), check_names=False, atol=1e-15, rtol=0
    )
    assert "2026-06-18" in text and date == r
    # on the rebalance date itself every issuer has the same weight
    w0, _, _ = model_weights("RSP", sample, r)
    iss = w0.groupby(sample.securities["issuer"].reindex(w0.index).to_numpy()).sum()
    np.testing.assert_allclose(iss.to_numpy(), 1.0 / len(iss), atol=1e-15)


def test_select_sector_model_meets_its_caps_on_the_rebalance_date(sample: Market) -> None:
    r = last_quarterly_rebalance(sample, sample.dates[-1])
    w, text, _ = model_weights("XLK", sample, r)
    assert "2024 rule" in text
    i = sample.date_position(r)
    mask = (sample.securities["sector"] == "Information Technology").to_numpy() & sample.members[i]
    mask &= np.isfinite(sample.caps[i])
    caps = sample.caps[i][mask]
    codes = np.unique(sample.issuer_codes[mask], return_inverse=True)[1]
    ref = sp_select_sector(caps / caps.sum(), issuer_codes=codes, rule="2024")
    np.testing.assert_allclose(w.reindex(sample.tickers[mask]).to_numpy(), ref, atol=1e-15)
    iw = w.groupby(sample.securities["issuer"].reindex(w.index).to_numpy()).sum()
    assert iw.max() <= 0.24 + 1e-12 and iw[iw > 0.048 + 1e-12].sum() <= 0.50 + 1e-9


def test_file_age_and_opaque_before_the_first_file(sample: Market) -> None:
    res = FundResolver(sample, default_library())
    look = res.look("QQQ", "2025-10-20")
    assert look.method == "file" and look.age_days == 16 and "16 days old" in look.description
    early = res.look("QQQ", "2025-01-02")
    assert early.opaque and "2025-10-04" in early.description
    # a file wins over the model with prefer="file"
    spy = FundResolver(sample, default_library(), prefer="file").look("SPY", "2025-02-10")
    assert spy.method == "file" and spy.age_days == 3


def test_drifting_a_stale_file_by_total_return(tiny_market: Market, tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text(
        "fund,date,ticker,weight\nFND,2024-01-02,AAA,0.50\nFND,2024-01-02,BBB,0.30\n"
        "FND,2024-01-02,ZZZ,0.15\nFND,2024-01-02,USD,0.05\n"
    )
    lib = HoldingsLibrary(read_fund_file(p))
    plain = FundResolver(tiny_market, lib).look("FND", "2024-01-08")
    assert plain.weights.to_dict() == pytest.approx({"AAA": 0.5, "BBB": 0.3, "ZZZ": 0.15})
    look = FundResolver(tiny_market, lib, drift_files=True).look("FND", "2024-01-08")
    # by hand: AAA 11 -> 13.31 (x1.21), BBB 20 -> 19.8 (x0.99), ZZZ unpriced: the priced average
    g_zzz = (0.5 * 1.21 + 0.3 * 0.99) / 0.8
    raw = {"AAA": 0.5 * 1.21, "BBB": 0.3 * 0.99, "ZZZ": 0.15 * g_zzz}
    scale = 0.95 / sum(raw.values())
    assert look.weights.to_dict() == pytest.approx(
        {k: v * scale for k, v in raw.items()}, abs=1e-15
    )
    assert "drifted to 2024-01-08" in look.description and "2 of 3 names priced" in look.description


def test_the_sp500_model_against_ssgas_published_spy(sample: Market) -> None:
    """On 2025-02-07 the SPY model holds 99% in common with SSGA's file. Not independent: the
    sample's float factors are measured from this very file, so this checks that the model
    (estimated caps x IWF over the Market's members) reproduces it; the rest is members the
    sample lacks and the caps' estimation between snapshots."""
    lib = default_library()
    model = FundResolver(sample, lib).look("SPY", "2025-02-07")
    published = FundResolver(sample, lib, prefer="file").look("SPY", "2025-02-07")
    assert model.method == "model" and published.method == "file" and published.age_days == 0

    def by_issuer(w: pd.Series) -> pd.Series:
        return (w / w.sum()).groupby(_issuer_of(sample, pd.Index(w.index))).sum()

    a, b = by_issuer(model.weights).align(by_issuer(published.weights), fill_value=0.0)
    overlap = float(np.minimum(a, b).sum())
    assert overlap > 0.985
    assert abs(a["Nvidia"] - b["Nvidia"]) < 0.001  # 6.26% vs 6.24%
    assert abs(a["Apple Inc."] - b["Apple Inc."]) < 0.001  # 6.76% vs 6.73%
