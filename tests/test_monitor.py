"""Monitor signals, regime votes, guardrails and flows against brute-force loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from counterweight.errors import ConfigError, InputError
from counterweight.groups import MAG7_TICKERS
from counterweight.market import Market
from counterweight.monitor import run_monitor
from counterweight.monitor.config import Guardrail, Vote, load_config, parse_config
from counterweight.monitor.flows import classify_flows, load_flows, unclassified_funds
from counterweight.monitor.guardrails import evaluate, replay, run_lengths
from counterweight.monitor.regime import cast_vote, regime_call
from counterweight.monitor.signals import Signal, SignalSet, shock_zscores, sign_streak


def synthetic_market(t: int = 320, seed: int = 0) -> Market:
    rng = np.random.default_rng(seed)
    tickers = [*MAG7_TICKERS, *[f"S{i:02d}" for i in range(16)]]
    n = len(tickers)
    r = rng.normal(0.0004, 0.015, size=(t, n)) + rng.normal(0, 0.008, size=(t, 1))
    px = 100 * np.cumprod(1 + r, axis=0)
    px[rng.random((t, n)) < 0.01] = np.nan
    px[:50, -1] = np.nan  # listed late
    dates = pd.bdate_range("2022-01-03", periods=t)
    shares = rng.uniform(1e8, 1e9, size=n)
    shares[:8] *= 20
    caps = pd.DataFrame(px * shares, index=dates, columns=tickers)
    members = pd.DataFrame(True, index=dates, columns=tickers)
    members.iloc[:100, -2] = False  # joins the index later
    members.iloc[250:, -3] = False  # leaves
    sectors = ["Information Technology"] * 8 + [
        "Financials",
        "Energy",
        "Health Care",
        "Utilities",
    ] * 4
    sec = pd.DataFrame({"sector": sectors, "issuer": tickers}, index=tickers)
    sec.loc[["GOOG", "GOOGL"], "issuer"] = "Alphabet"
    bench = pd.DataFrame(
        100 * np.cumprod(1 + rng.normal(0.0003, 0.01, size=(t, 4)), axis=0),
        index=dates,
        columns=["IWM", "SPY", "VTV", "VUG"],
    )
    return Market.from_frames(
        pd.DataFrame(px, index=dates, columns=tickers),
        caps=caps,
        members=members,
        securities=sec,
        benchmarks=bench,
    )


@pytest.fixture(scope="module")
def result():
    return run_monitor(synthetic_market(), load_config())


def test_default_config_parses_and_documents_every_guardrail():
    cfg = load_config()
    assert cfg.margin >= 1 and len(cfg.votes) >= 5
    names = {g.name for g in cfg.guardrails}
    assert {"mag7-share-high", "breadth-weak", "top10-up-2pp-month", "mag7-beat-rest-20"} <= names
    assert all(g.description for g in cfg.guardrails)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (
            {"guardrails": [{"name": "x", "signal": "a", "comparison": "=>", "threshold": 1}]},
            "guardrails.x.comparison",
        ),
        (
            {"guardrails": [{"name": "x", "signal": "a", "comparison": ">"}]},
            "guardrails.x.threshold",
        ),
        (
            {
                "guardrails": [
                    {
                        "name": "x",
                        "signal": "a",
                        "comparison": ">",
                        "threshold": 1,
                        "persistence": 0,
                    }
                ]
            },
            "guardrails.x.persistence",
        ),
        (
            {"regime": {"margin": 1, "votes": [{"signal": "a", "broadening": "about 3"}]}},
            "regime.votes[0].broadening",
        ),
        ({"regime": {"votes": []}}, "regime.votes"),
        (
            {"regime": {"votes": [{"signal": "a", "broadening": "> 0.5", "narrowing": "< 0.6"}]}},
            "overlap",
        ),
        (
            {"regime": {"votes": [{"signal": "a", "broadening": ">= 0.5", "narrowing": "<= 0.5"}]}},
            "overlap",
        ),
        (
            {"regime": {"votes": [{"signal": "a", "broadening": "> 0.5", "narrowing": "> 0.7"}]}},
            "overlap",
        ),
        ({"bogus": {}}, "bogus"),
        ({"shocks": {"k": -1}}, "shocks.k"),
        ({"flows": {"classes": {"XYZ": "growth"}}}, "flows.classes.XYZ"),
    ],
)
def test_config_errors_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        cfg = parse_config(data)
        from counterweight.monitor.flows import fund_classes

        fund_classes(cfg.flow_classes)


def test_conditions_overlap_brute_force():
    from counterweight.monitor.config import COMPARISONS, conditions_overlap

    grid = np.linspace(-1, 1, 81)
    for op1 in COMPARISONS:
        for op2 in COMPARISONS:
            for c1 in (-0.5, 0.0, 0.5):
                for c2 in (-0.5, 0.0, 0.5):
                    both = any(COMPARISONS[op1](x, c1) and COMPARISONS[op2](x, c2) for x in grid)
                    assert conditions_overlap((op1, c1), (op2, c2)) == both, (op1, c1, op2, c2)


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[regime\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)


def test_sign_streak_brute_force():
    x = np.array([np.nan, 1, 2, -1, -2, -3, 0, 4, np.nan, 5, 6])
    assert np.array_equal(
        sign_streak(x), [np.nan, 1, 2, -1, -2, -3, 0, 1, np.nan, 1, 2], equal_nan=True
    )


def test_run_lengths_and_guardrail_history_brute_force():
    rng = np.random.default_rng(1)
    vals = rng.normal(0.3, 0.05, size=200)
    vals[rng.random(200) < 0.05] = np.nan
    idx = pd.bdate_range("2024-01-01", periods=200)
    sigs = SignalSet({"x": Signal("x", "x", pd.Series(vals, index=idx))})
    for change_over in (0, 5):
        g = Guardrail(
            "g", "x", ">", 0.32 if not change_over else 0.0, persistence=3, change_over=change_over
        )
        h = evaluate(g, sigs)
        run, prev_active, fires = 0, False, []
        for t in range(200):
            y = (
                vals[t] - vals[t - change_over]
                if change_over and t >= change_over
                else (vals[t] if not change_over else np.nan)
            )
            run = run + 1 if np.isfinite(y) and y > g.threshold else 0
            active = run >= 3
            assert h.frame["run"].iloc[t] == run
            if active and not prev_active:
                fires.append(idx[t])
            prev_active = active
        ev = h.events()
        assert list(ev.loc[ev["event"] == "fired", "date"]) == fires
    assert list(run_lengths(np.array([1, 1, 0, 1, 1, 1], dtype=bool))) == [1, 2, 0, 1, 2, 3]


def test_replay_lists_active_at_start():
    idx = pd.bdate_range("2024-01-01", periods=10)
    sigs = SignalSet(
        {"x": Signal("x", "x", pd.Series([0, 1, 1, 1, 1, 0, 0, 1, 1, 0.0], index=idx))}
    )
    h = evaluate(Guardrail("g", "x", ">=", 1, persistence=2), sigs)
    ev = replay([h], idx[3], idx[-1])
    assert list(ev["event"]) == ["active at start", "cleared", "fired", "cleared"]
    assert list(ev["date"]) == [idx[3], idx[5], idx[8], idx[9]]


def test_regime_votes_and_call():
    idx = pd.bdate_range("2024-01-01", periods=5)
    sigs = SignalSet(
        {
            "a": Signal("a", "a", pd.Series([0.1, 0.2, 0.3, 0.4, 0.7], index=idx)),
            "b": Signal("b", "b", pd.Series([5, 4, 3, 2, 1.0], index=idx)),
        }
    )
    votes = (
        Vote("a", (">", 0.6), ("<", 0.4)),
        Vote("b", ("<", 2.0), (">", 4.0)),
        Vote("b", None, ("<=", 0.2), on="percentile"),  # lowest reading: percentile 0.2
        Vote("missing", (">", 0.0), None),
    )
    cfg = parse_config({}).__class__(votes=votes, margin=1, guardrails=())
    call = regime_call(sigs, cfg, idx[-1])
    assert [v.verdict for v in call.votes] == ["broadening", "broadening", "narrowing", "n/a"]
    assert (call.broadening, call.narrowing, call.abstained, call.call) == (2, 1, 1, "broadening")
    assert (
        regime_call(sigs, cfg.__class__(votes=votes, margin=2, guardrails=()), idx[-1]).call
        == "mixed"
    )
    early = regime_call(sigs, cfg, idx[1])  # no look-ahead: only data up to idx[1]
    assert early.votes[0].value == pytest.approx(0.2) and early.votes[0].verdict == "narrowing"
    assert cast_vote(Vote("a", (">", 0.5), None), float("nan"), 0.5) == 0


def test_rotation_and_concentration_signals_brute_force(result):
    mk = synthetic_market()
    from counterweight.measure.leadership import group_daily_returns

    daily = group_daily_returns(mk, weightings=("cap", "equal"))
    mag, rest = daily["Mag 7 (cap)"].to_numpy(), daily["Rest (cap)"].to_numpy()
    s = result.signals["rotation.mag7_vs_rest_3m"].series.to_numpy()
    for t in (63, 100, 319):
        ref = np.prod(1 + mag[t - 62 : t + 1]) - np.prod(1 + rest[t - 62 : t + 1])
        assert s[t] == pytest.approx(ref, rel=1e-10)
    assert np.isnan(s[:63]).all()
    # top-10 issuer share: Alphabet's two classes count once
    w = mk.to_issuers(np.where(mk.members, mk.caps, np.nan))
    t = 200
    row = np.sort(w[t][np.isfinite(w[t])])[::-1]
    assert result.signals["concentration.top10_share"].series.iloc[t] == pytest.approx(
        row[:10].sum() / row.sum()
    )
    ch = result.signals["concentration.top10_change_1m"].series
    top = result.signals["concentration.top10_share"].series
    assert ch.iloc[t] == pytest.approx(top.iloc[t] - top.iloc[t - 21])
    iwm = mk.benchmarks["IWM"].to_numpy()
    spy = mk.benchmarks["SPY"].to_numpy()
    sl = result.signals["rotation.small_vs_large_3m"].series.iloc[t]
    assert sl == pytest.approx(iwm[t] / iwm[t - 63] - spy[t] / spy[t - 63])
    streak = result.signals["rotation.mag7_streak"].series.to_numpy()
    one_m = result.signals["rotation.mag7_vs_rest_1m"].series.to_numpy()
    assert np.array_equal(streak, sign_streak(one_m), equal_nan=True)


def test_shock_zscores_brute_force():
    rng = np.random.default_rng(2)
    r = rng.normal(0, 0.01, size=120)
    r[100] = 0.08
    frame = pd.DataFrame({"g": r})
    z = shock_zscores(frame, lookback=50, min_history=20)["g"].to_numpy()
    for t in range(120):
        past = r[max(0, t - 50) : t]
        if len(past) < 20:
            assert np.isnan(z[t])
        else:
            assert z[t] == pytest.approx(r[t] / np.std(past, ddof=1), rel=1e-9)
    assert abs(z[100]) > 3


def test_signal_readings_have_percentiles(result):
    table = result.signals.table(result.as_of)
    assert {
        "breadth.above_200d",
        "correlation.63d",
        "rotation.ew_minus_cw_3m",
        "shocks.count",
    } <= set(table.index)
    s = result.signals["breadth.above_50d"].series.dropna()
    assert table.loc["breadth.above_50d", "percentile"] == pytest.approx((s <= s.iloc[-1]).mean())
    payload = result.to_dict()
    assert payload["regime"]["call"] in ("broadening", "narrowing", "mixed")


def test_flows_loading_and_buckets(tmp_path):
    p = tmp_path / "flows.csv"
    p.write_text(
        "date,fund,flow_usd\n2024-01-06,RSP,100\n2024-01-08,spy,-40\n2024-01-08,IWM,5\n2024-01-09,ZZZ,7\n"
    )
    flows = load_flows(p)
    dates = pd.bdate_range("2024-01-05", periods=5)
    b = classify_flows(flows, dates)
    assert b.loc["2024-01-08", "diversified"] == 105  # Saturday RSP flow booked Monday
    assert b.loc["2024-01-08", "cap_weighted"] == -40
    assert b.loc["2024-01-09", "other"] == 7
    assert unclassified_funds(flows) == ["ZZZ"]
    b2 = classify_flows(flows, dates, {"ZZZ": "cap_weighted"})
    assert b2.loc["2024-01-09", "cap_weighted"] == 7
    bad = tmp_path / "bad.csv"
    bad.write_text("date,fund,flow_usd\n2024-01-06,RSP,abc\n")
    with pytest.raises(InputError, match=r"row 2, column 'flow_usd'"):
        load_flows(bad)
    bad.write_text("date,fund\n2024-01-06,RSP\n")
    with pytest.raises(InputError, match="flow_usd"):
        load_flows(bad)


def test_flow_signal_is_rolling_difference():
    mk = synthetic_market(t=120)
    flows = pd.DataFrame(
        {"date": mk.dates[[10, 20, 40]], "fund": ["RSP", "SPY", "RSP"], "flow_usd": [1e9, 3e8, 2e8]}
    )
    res = run_monitor(mk, load_config(), flows=flows)
    s = res.signals["flows.diversified_minus_cap_1m"].series
    assert np.isnan(s.iloc[5])
    assert s.iloc[20] == pytest.approx(1e9 - 3e8)
    assert s.iloc[35] == pytest.approx(-3e8)  # the 1e9 of date 10 has left the 21-session window
    assert s.iloc[40] == pytest.approx(2e8 - 3e8)


def test_report_sections_have_breadth_and_correlation_charts(result):
    from counterweight.monitor.alerts import statuses_without_store
    from counterweight.report.html import render_html
    from counterweight.report.monitor_section import monitor_sections

    secs = monitor_sections(result, statuses_without_store(result.guardrails, result.as_of))
    titles = [s.title for s in secs]
    assert titles[:3] == ["Rotation monitor", "Breadth history", "Correlation history"]
    breadth_fig = secs[1].figures[0]
    names = [tr.name for tr in breadth_fig.data]
    assert "Above 200-day average" in names
    y = breadth_fig.data[names.index("Above 200-day average")].y
    assert np.allclose(y, result.signals["breadth.above_200d"].series.dropna().to_numpy())
    assert len(secs[2].figures[0].data) == 2
    assert any(cap == "Guardrails" for cap, _ in secs[0].tables)
    assert "Rotation monitor" in render_html("t", secs)


def test_regime_history_matches_the_call_on_each_date(result):
    from counterweight.monitor.regime import expanding_percentile, regime_call

    h = result.regime_history
    for d in h.index[::23]:
        c = regime_call(result.signals, result.config, d)
        assert (c.call, c.broadening, c.narrowing) == (
            h.loc[d, "call"],
            h.loc[d, "broadening"],
            h.loc[d, "narrowing"],
        )
    x = np.array([3.0, np.nan, 1.0, 2.0, 2.0, 5.0])
    ref = [
        np.nan if np.isnan(v) else np.mean(x[: t + 1][np.isfinite(x[: t + 1])] <= v)
        for t, v in enumerate(x)
    ]
    np.testing.assert_allclose(expanding_percentile(x), ref, equal_nan=True)
