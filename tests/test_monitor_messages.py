"""Alert messages name the signal, value, threshold and group; guardrails on a signal the data
lacks abstain (price-only market and store) instead of stopping the run."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from counterweight.cli import main
from counterweight.data.store import Store
from counterweight.errors import ConfigError
from counterweight.groups import MAG7_TICKERS
from counterweight.market import Market
from counterweight.monitor import run_monitor
from counterweight.monitor.alerts import AlertBook, statuses_without_store
from counterweight.monitor.config import Guardrail, load_config
from counterweight.monitor.guardrails import evaluate
from counterweight.monitor.signals import Signal, SignalSet
from counterweight.report.monitor_text import alert_message, fmt_value


def price_frame(t: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tickers = [*MAG7_TICKERS, *[f"S{i:02d}" for i in range(12)]]
    r = rng.normal(0.0004, 0.015, size=(t, len(tickers))) + rng.normal(0, 0.01, size=(t, 1))
    r[-1] = 0.12  # a 12% day for everyone on the last session: a shock
    px = 100 * np.cumprod(1 + r, axis=0)
    return pd.DataFrame(px, index=pd.bdate_range("2023-01-02", periods=t), columns=tickers)


def test_price_only_market_guardrails_abstain() -> None:
    market = Market.from_frames(price_frame())
    result = run_monitor(market, load_config())
    by = {h.guardrail.name: h for h in result.guardrails}
    assert by["mag7-share-high"].abstains and by["top10-up-2pp-month"].abstains
    assert "no caps" in by["mag7-share-high"].unavailable
    assert not by["breadth-weak"].abstains
    assert not by["mag7-share-high"].frame["active"].any()
    assert any("mag7-share-high abstains" in n for n in result.signals.notes)
    statuses = statuses_without_store(result.guardrails, result.as_of)
    st = {a.guardrail: a for a in statuses}
    assert st["mag7-share-high"].status == "unavailable" and not st["mag7-share-high"].is_new
    assert "abstains" in alert_message(st["mag7-share-high"])
    # the regime's concentration vote abstains too
    assert result.regime.abstained >= 1


def test_unknown_signal_is_still_a_config_error() -> None:
    idx = pd.bdate_range("2024-01-01", periods=3)
    sigs = SignalSet(
        {"x": Signal("x", "x", pd.Series([0.0, 1, 2], index=idx))},
        unavailable={"concentration.mag7_share": "the market has no caps"},
    )
    with pytest.raises(ConfigError, match="unknown signal 'nope'"):
        evaluate(Guardrail("g", "nope", ">", 1.0), sigs)
    h = evaluate(Guardrail("g", "concentration.mag7_share", ">", 0.3), sigs)
    assert h.abstains and len(h.frame) == 3


def test_price_only_store_runs_and_lists_abstaining_guardrails(tmp_path, capsys) -> None:
    store = tmp_path / "prices.duckdb"
    with Store(store) as st:
        st.import_frame("prices", price_frame())
    out = tmp_path / "m.json"
    code = main(["monitor", "--store", str(store), "--json", str(out)])
    assert code in (0, 3)
    printed = capsys.readouterr().out
    assert "unavailable" in printed and "mag7-share-high abstains" in printed
    payload = json.loads(out.read_text())
    alerts = {a["guardrail"]: a for a in payload["alerts"]}
    assert alerts["mag7-share-high"]["status"] == "unavailable"
    assert "no caps" in alerts["mag7-share-high"]["note"]
    assert "abstains" in alerts["mag7-share-high"]["message"]
    assert alerts["breadth-weak"]["message"].startswith("breadth-weak: breadth.above_200d = ")
    # abstaining guardrails leave no state; a second run is fine as well
    with Store(store) as st:
        assert "mag7-share-high" not in AlertBook(st.con).state()
    assert main(["monitor", "--store", str(store), "--quiet"]) in (0, 3)


def test_group_shock_message_names_group_value_threshold(capsys) -> None:
    market = Market.from_frames(price_frame())
    result = run_monitor(market, load_config())
    (a,) = [
        s
        for s in statuses_without_store(result.guardrails, result.as_of)
        if s.guardrail == "group-shock"
    ]
    assert a.status == "fired" and a.signal == "shocks.max_z" and a.unit == "sd"
    z = result.signals.shocks.loc[result.as_of]
    top = z.abs().idxmax()
    assert a.group == top and a.value == pytest.approx(abs(z[top]))
    ret = result.signals.shock_returns.loc[result.as_of, top]
    assert a.move == pytest.approx(ret)
    msg = alert_message(a)
    assert "k " not in msg and " k" not in msg
    for part in ("group-shock", "shocks.max_z", fmt_value(a.value, "sd"), "5.0 sd", str(top)):
        assert part in msg
    assert f"{ret:+.2%}" in msg


def test_every_default_alert_message_names_its_parts() -> None:
    """Each default guardrail, made active on a synthetic series: the message names it, its
    signal, the value and threshold in the signal's unit, and the group."""
    idx = pd.bdate_range("2024-01-01", periods=30)
    cfg = load_config()
    for g in cfg.guardrails:
        unit = {"shocks.max_z": "sd", "correlation.21d": "correlation"}.get(g.signal, "fraction")
        up = g.comparison in (">", ">=")
        base = g.threshold + (1.0 if up else -1.0) * 0.5 * (abs(g.threshold) + 0.1)
        values = np.full(len(idx), base)
        if g.change_over:
            values = np.cumsum(np.full(len(idx), base / g.change_over + 0.01))
        sig = Signal(g.signal, g.signal, pd.Series(values, index=idx), unit, group="Mag 7")
        h = evaluate(g, SignalSet({g.signal: sig}))
        (a,) = statuses_without_store([h], idx[-1])
        assert a.active, g.name
        msg = alert_message(a)
        shown_unit = "spread" if g.change_over else unit
        for part in (
            g.name,
            g.signal,
            fmt_value(a.value, shown_unit),
            fmt_value(g.threshold, shown_unit),
            "group: Mag 7",
        ):
            assert part in msg, (g.name, part, msg)
        assert not re.search(r"\bk\b", msg)
