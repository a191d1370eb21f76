"""Backtest analysis, the policy adapter, the tear sheet and the CLI, on the embedded sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import counterweight as cw
from counterweight.backtest import (
    CappedCapWeight,
    CapWeight,
    EqualWeight,
    PolicyRule,
    Quarterly,
    parse_rule,
    run_backtest,
)
from counterweight.backtest.analysis import (
    benchmark_returns,
    comparison_table,
    etf_check,
    group_weight,
    tearsheet_data,
    top_n_weight,
)
from counterweight.cli import main
from counterweight.errors import ConfigError
from counterweight.groups import MAG7_TICKERS
from counterweight.measure import performance as pf

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample() -> cw.Market:
    return cw.load_sample().slice("2024-01-01", "2025-06-30")


@pytest.fixture(scope="module")
def result(sample: cw.Market):
    return run_backtest(sample, [CapWeight(), EqualWeight()], schedule=Quarterly(), cost_bps=5)


def test_group_and_top_weights_brute_force(result, sample: cw.Market) -> None:
    mag = group_weight(result)
    top = top_n_weight(result, 10)
    w = result.strategies["cap"].weights
    assert w is not None
    for d in [w.index[0], w.index[100], w.index[-1]]:
        row = w.loc[d]
        assert mag.loc[d, "cap"] == pytest.approx(
            row[row.index.isin(MAG7_TICKERS)].sum(), abs=1e-14
        )
        by_issuer = row.groupby(sample.securities["issuer"]).sum()
        assert top.loc[d, "cap"] == pytest.approx(by_issuer.nlargest(10).sum(), abs=1e-14)
    # equal weight gives each company 1/n (GOOG + GOOGL share Alphabet's slot, split by cap) at
    # the reference close r (S&P: the second Friday) and holds those shares to the trade close
    # d: right after the trade a name weighs w_r * P_d / P_r, renormalised (the 1/n cancels)
    d = result.strategies["equal"].rebalance_dates[1]
    row = result.strategies["equal"].weights.loc[d]
    held = row.index[row > 0]
    issuer = sample.securities["issuer"].reindex(held)
    assert len({issuer[t] for t in MAG7_TICKERS if t in held}) == 7
    dates = result.market.dates
    trade_pos = Quarterly().positions(dates).tolist().index(dates.get_loc(d))
    r = dates[Quarterly().reference_positions(dates)[trade_pos]]
    px = pd.DataFrame(result.market.prices, index=dates, columns=result.market.tickers)
    caps = pd.DataFrame(result.market.caps, index=dates, columns=result.market.tickers)
    # a single-class company gets its whole slot; classes split by cap when all have one, else
    # equally (members without a cap in the point-in-time panel are still held)
    c_r = caps.loc[r, held].where(caps.loc[r, held] > 0)
    n_cls = issuer.groupby(issuer).transform("size")
    all_known = c_r.notna().groupby(issuer).transform("all")
    split = (c_r / c_r.groupby(issuer).transform("sum")).where(all_known, 1.0 / n_cls)
    # a holding without a close on d is carried at its last close (no return), as the engine does
    px = px.ffill()
    x = split * px.loc[d, held] / px.loc[r, held]
    want = x[x.index.isin(MAG7_TICKERS)].sum() / x.sum()
    assert r < d and mag.loc[d, "equal"] == pytest.approx(want, abs=1e-12)


def test_comparison_table_consistent_with_metrics(result) -> None:
    spy = benchmark_returns(result, "SPY")
    table = comparison_table(result, spy)
    assert list(table.index) == ["cap", "equal", "SPY"]
    eq = result.strategies["equal"]
    assert table.loc["equal", "cagr"] == pytest.approx(pf.cagr(eq.returns), abs=1e-15)
    assert table.loc["equal", "tracking_error"] == pytest.approx(
        pf.tracking_error(eq.returns, spy), abs=1e-15
    )
    years = len(result.market.dates) / 252
    assert table.loc["equal", "turnover"] == pytest.approx(eq.traded.iloc[1:].sum() / 2 / years)
    assert table.loc["equal", "costs_per_year"] == pytest.approx(eq.costs.sum() / years)
    assert table.loc["equal", "turnover"] > table.loc["cap", "turnover"]


def test_spy_returns_from_prices(result) -> None:
    spy = benchmark_returns(result, "SPY")
    px = result.market.benchmarks["SPY"]
    d0, d1 = result.market.dates[10], result.market.dates[11]
    assert spy.loc[d1] == pytest.approx(px.loc[d1] / px.loc[d0] - 1, abs=1e-15)
    assert np.isnan(spy.iloc[0])


def test_etf_check_reports_spreads(result) -> None:
    check = etf_check(result)
    assert check is not None
    assert set(check.table.index) == {"cap", "equal"}
    assert check.table.loc["equal", "etf"] == "RSP"
    # the backtests track their funds closely in daily moves (not tuned: same rules as the index)
    assert check.table.loc["cap", "correlation"] > 0.98
    assert check.table.loc["equal", "correlation"] > 0.98
    label, s, _etf = check.spread
    assert s == pytest.approx(
        pf.cagr(result.strategies["equal"].returns) - pf.cagr(result.strategies["cap"].returns)
    )
    assert "equal - cap" in label


def test_policy_adapter_matches_builtin_capped_rule(sample: cw.Market) -> None:
    from counterweight.construct.policy import load_policy

    policy = load_policy(REPO / "examples" / "policies" / "single_name_5pct.toml")
    short = sample.slice("2024-01-01", "2024-04-30")
    res = run_backtest(
        short, [PolicyRule(policy), CappedCapWeight(0.05)], schedule=Quarterly(), cost_bps=5
    )
    a = res.strategies[policy.name].returns
    b = res.strategies["cap-weight capped 5%"].returns
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-12)


def test_parse_rule() -> None:
    assert isinstance(parse_rule("cap"), CapWeight)
    assert isinstance(parse_rule("EW"), EqualWeight)
    capped = parse_rule("capped:0.1")
    assert isinstance(capped, CappedCapWeight) and capped.cap == 0.1
    with pytest.raises(ConfigError, match="unknown policy"):
        parse_rule("momentum")
    with pytest.raises(ConfigError, match="not a number"):
        parse_rule("capped:x")


def test_duplicate_names_rejected(sample: cw.Market) -> None:
    with pytest.raises(ConfigError, match="distinct"):
        run_backtest(sample, [CapWeight(), CapWeight()])


def test_tearsheet_html(result, tmp_path: Path) -> None:
    from counterweight.report.tearsheet import write_tearsheet

    data = tearsheet_data(result, "SPY")
    path = write_tearsheet(tmp_path / "ts.html", data, result.market.provenance)
    text = path.read_text()
    for needle in (
        "Growth of 1",
        "Drawdowns",
        "relative return",
        "Mag 7 weight",
        "Top-10 issuer weight",
        "Turnover",
        "Calendar years",
    ):  # no "Survivorship bias" warning: the embedded panel is point in time since issue 12
        assert needle in text
    assert data.values.columns.tolist() == ["cap", "equal", "SPY"]
    assert data.values["cap"].iloc[-1] == pytest.approx(
        result.strategies["cap"].value.iloc[-1], rel=1e-12
    )


def test_cli_prints_table_and_writes_outputs(tmp_path: Path, capsys) -> None:
    html = tmp_path / "t.html"
    js = tmp_path / "t.json"
    code = main(
        [
            "backtest",
            "-p",
            "cap",
            "-p",
            "equal",
            "--start",
            "2025-01-01",
            "--end",
            "2025-12-31",
            "--html",
            str(html),
            "--json",
            str(js),
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    # the embedded panel holds former members since issue 12: no survivorship-bias warning
    assert "CAGR" in out and "equal" in out and "Survivorship bias" not in out
    assert "RSP" in out
    payload = json.loads(js.read_text())
    assert set(payload["strategies"]) == {"cap", "equal", "SPY"}
    assert html.exists()


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["backtest", "-p", "nonsense", "--quiet"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: unknown policy") and err.count("\n") == 1
    bad = tmp_path / "spreads.csv"
    bad.write_text("ticker,spread_bps\nAAPL,2\nMSFT,-1\n")
    assert main(["backtest", "--spreads", str(bad), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "row 3" in err and "spread_bps" in err
    out = tmp_path / "never.html"
    assert main(["backtest", "--schedule", "weekly", "--html", str(out), "--quiet"]) != 0
    assert not out.exists()


def test_spreads_raise_costs(sample: cw.Market) -> None:
    short = sample.slice("2025-01-01", "2025-06-30")
    spreads = pd.Series(20.0, index=short.tickers)
    base = run_backtest(short, [EqualWeight()], cost_bps=5)
    wide = run_backtest(short, [EqualWeight()], cost_bps=5, spread_bps=spreads)
    c0 = base.strategies["equal"].costs.sum()
    c1 = wide.strategies["equal"].costs.sum()
    # 5 bps + half of 20 bps = 15 bps: three times the cost, to first order
    assert c1 == pytest.approx(3 * c0, rel=1e-3)


def test_monthly_panel_annualises_by_12() -> None:
    monthly = cw.load_sample("monthly")
    res = run_backtest(monthly, [CapWeight()], schedule=Quarterly(), cost_bps=5)
    table = comparison_table(res)
    r = res.strategies["cap"].returns
    assert table.loc["cap", "cagr"] == pytest.approx(pf.cagr(r, 12), abs=1e-15)
    assert table.loc["cap", "volatility"] == pytest.approx(pf.annual_volatility(r, 12), abs=1e-15)
    # former members are in this panel: names leave and are sold between rebalances
    assert res.strategies["cap"].traded.gt(0).sum() >= len(res.strategies["cap"].rebalance_dates)


def test_cli_cap_weight_on_a_price_only_store_refuses_in_one_line(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`backtest -p cap` on a store without caps used to print 0.00% everywhere."""
    dates = pd.bdate_range("2024-01-02", periods=30)
    rows = [
        f"{d.date()},{t},{10 + i + 0.1 * k}"
        for k, d in enumerate(dates)
        for i, t in enumerate(["AAA", "BBB"])
    ]
    csv = tmp_path / "p.csv"
    csv.write_text("Date,Ticker,Close\n" + "\n".join(rows) + "\n")
    db = str(tmp_path / "s.duckdb")
    assert main(["data", "import", str(csv), "--kind", "prices", "--store", db, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["backtest", "-p", "cap", "--store", db]) != 0
    out = capsys.readouterr()
    lines = [ln for ln in out.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cap weight needs market caps, and this data has none" in lines[0]
    assert "0.00%" not in out.out
    assert main(["backtest", "-p", "equal", "--store", db]) == 0  # prices suffice for equal
