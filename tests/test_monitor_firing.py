"""Firing rates of the default guardrails on the sample: group-shock is rare; the rates agree
with a brute-force count of the replay (docs/monitor.md quotes them, see test_report_docs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import counterweight as cw
from counterweight.monitor import run_monitor
from counterweight.monitor.guardrails import firing_rates


def test_group_shock_is_rare_and_rates_match_a_brute_force_count() -> None:
    market = cw.load_sample()
    result = run_monitor(market)
    rates = firing_rates(result.guardrails)
    assert rates.loc["group-shock", "per_year"] < 2
    for h in result.guardrails:
        act = h.frame["active"].to_numpy()
        fired = sum(1 for t in range(len(act)) if act[t] and (t == 0 or not act[t - 1]))
        assert rates.loc[h.guardrail.name, "fired"] == fired
        runs = act[::5]
        new = [runs[i] and (i == 0 or not runs[i - 1]) for i in range(len(runs))]
        assert rates.loc[h.guardrail.name, "weekly_new_share"] == np.mean(new)
    # the replay's fire events say the same
    ev = result.replay(None, None)
    counts = ev[ev["event"] == "fired"].groupby("guardrail").size()
    for name in rates.index.drop("any"):
        assert int(counts.get(name, 0)) == rates.loc[name, "fired"]
    shock = ev[(ev["guardrail"] == "group-shock") & (ev["event"] == "fired")]
    days = set(pd.DatetimeIndex(shock["date"]).strftime("%Y-%m-%d"))
    # the days docs/monitor.md names
    assert {
        "2015-08-24",
        "2018-02-08",
        "2020-03-09",
        "2024-11-06",
        "2025-04-03",
        "2025-04-09",
    } <= days
    z = result.signals["shocks.max_z"].series
    assert (z.reindex(pd.DatetimeIndex(shock["date"])) > 5).all()
