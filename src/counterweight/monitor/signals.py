"""Monitor signals: each a labelled daily series with its current reading and percentile.

Families (all on the market's trading dates; fractions unless the unit says otherwise):

* ``breadth.*``: share of members above their 50- / 200-day average, at 252-day highs / lows,
  the advance/decline line, participation (share beating the cap-weight index over 63 sessions);
* ``dispersion.*`` / ``correlation.*``: cross-sectional std of daily and 21-session returns,
  rolling 21- and 63-session average pairwise correlation;
* ``rotation.*``: Mag 7 minus rest (cap weighted) over 21 / 63 / 126 sessions and the streak
  (sessions the sign of the 21-session spread has held: + Mag 7 ahead, - behind), equal minus
  cap weight, small minus large (IWM - SPY) and value minus growth (VTV - VUG) from benchmarks;
* ``concentration.*``: top-10 issuer share, Mag 7 share and the change of the top-10 share over
  21 / 63 sessions;
* ``flows.*``: 21-session sum of diversified minus cap-weighted fund flows (USD);
* ``shocks.count``: groups whose daily return exceeds k standard deviations of their own past.

Window spreads are differences of compounded returns, ``prod(1 + r_a) - prod(1 + r_b)``.
A signal's percentile is the share of its observations up to the as-of date that are <= the
current value (see :func:`counterweight.measure.concentration.versus_history`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError
from counterweight.groups import MAG7
from counterweight.market import Market
from counterweight.measure import breadth as br
from counterweight.measure import dispersion as ds
from counterweight.measure.concentration import concentration_history
from counterweight.measure.history import versus_history
from counterweight.measure.leadership import group_daily_returns, sector_daily_returns
from counterweight.monitor.config import MonitorConfig

MONTH, QUARTER, HALF_YEAR = 21, 63, 126

ETF_SPREADS: dict[str, tuple[tuple[str, str], ...]] = {
    "small_vs_large": (("IWM", "SPY"), ("IJR", "IVV")),
    "value_vs_growth": (("VTV", "VUG"), ("IWD", "IWF"), ("SPYV", "SPYG")),
}
"""ETF pairs for the style spreads, first available pair wins."""


@dataclass(frozen=True)
class Signal:
    """A named daily series. ``unit``: fraction (a level, 0..1) | spread (a signed difference of
    fractions) | count | sessions | correlation | usd."""

    name: str
    label: str
    series: pd.Series
    unit: str = "fraction"
    note: str = ""

    def reading(self, as_of: pd.Timestamp | None = None) -> dict[str, Any]:
        """Current value, date and percentile in its own history up to ``as_of``."""
        r = versus_history(self.series.rename(self.name), as_of)
        return {
            "signal": self.name,
            "label": self.label,
            "unit": self.unit,
            "date": r.date.date().isoformat(),
            "value": r.current,
            "percentile": r.percentile,
            "average": r.average,
            "min": r.minimum,
            "max": r.maximum,
            "since": r.since.date().isoformat(),
        }

    def available(self, as_of: pd.Timestamp | None = None) -> bool:
        s = self.series.dropna()
        if as_of is not None:
            s = s[s.index <= as_of]
        return not s.empty


@dataclass
class SignalSet:
    """All signals of one run, by name, plus shock details and caveats."""

    signals: dict[str, Signal]
    shocks: pd.DataFrame = field(default_factory=pd.DataFrame)  # date x group: z-scores
    shock_returns: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Signal:
        if name not in self.signals:
            raise DataUnavailableError(f"unknown or unavailable signal '{name}'")
        return self.signals[name]

    def __contains__(self, name: object) -> bool:
        return name in self.signals

    def __iter__(self) -> Iterator[Signal]:
        return iter(self.signals.values())

    def frame(self) -> pd.DataFrame:
        """date x signal name."""
        return pd.DataFrame({n: s.series for n, s in self.signals.items()})

    def table(self, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
        rows = [s.reading(as_of) for s in self if s.available(as_of)]
        return pd.DataFrame(rows).set_index("signal") if rows else pd.DataFrame()


def sign_streak(x: np.ndarray) -> np.ndarray:
    """Signed run length of the sign of ``x``: +k after k positive values in a row, -k after
    k negative ones; 0 on zero, NaN on NaN (a NaN or zero ends the run)."""
    out = np.full(len(x), np.nan)
    run = 0
    for t, v in enumerate(np.asarray(x, dtype=np.float64)):
        if not np.isfinite(v):
            run = 0
            continue
        s = 1 if v > 0 else (-1 if v < 0 else 0)
        run = run + s if s != 0 and np.sign(run) == s else s
        out[t] = run
    return out


def window_spread(a: np.ndarray, b: np.ndarray, window: int) -> np.ndarray:
    """``prod(1 + a) - prod(1 + b)`` over the trailing ``window`` returns (NaN if any missing)."""
    return br.compound(a, window) - br.compound(b, window)


def shock_zscores(daily: pd.DataFrame, lookback: int, min_history: int) -> pd.DataFrame:
    """``z_t = r_t / std(r_{t-lookback..t-1})`` per column (sample std, ddof 1), NaN without
    ``min_history`` past returns. Today's return is never in its own yardstick."""
    sd = daily.rolling(lookback, min_periods=min_history).std().shift(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = daily / sd.where(sd > 0)
    return z


def _etf_spread(
    bench: pd.DataFrame, dates: pd.DatetimeIndex, pairs: Iterable[tuple[str, str]], window: int
) -> tuple[np.ndarray, str] | None:
    for a, b in pairs:
        if a in bench.columns and b in bench.columns:
            px = bench[[a, b]].dropna()
            if len(px) <= window:
                continue
            ret = px.iloc[window:].to_numpy() / px.iloc[:-window].to_numpy() - 1.0
            spread = pd.Series(ret[:, 0] - ret[:, 1], index=px.index[window:])
            return spread.reindex(dates).to_numpy(), f"{a} - {b}"
    return None


def compute_signals(
    market: Market,
    config: MonitorConfig,
    flows: pd.DataFrame | None = None,
) -> SignalSet:
    """Every monitor signal on every date of ``market`` (see the module docstring)."""
    sig: dict[str, Signal] = {}
    notes: list[str] = []
    idx = market.dates

    def add(
        name: str,
        label: str,
        values: np.ndarray | pd.Series,
        unit: str = "fraction",
        note: str = "",
    ) -> None:
        s = pd.Series(np.asarray(values, dtype=np.float64), index=idx, name=name)
        sig[name] = Signal(name, label, s, unit, note)

    b = br.breadth_history(
        market, ma_windows=(50, 200), high_low_window=252, participation_window=QUARTER
    )
    add("breadth.above_50d", "Share above 50-day average", b["above_50d"])
    add("breadth.above_200d", "Share above 200-day average", b["above_200d"])
    add("breadth.new_highs", "Share at 52-week highs", b["new_highs"])
    add("breadth.new_lows", "Share at 52-week lows", b["new_lows"])
    add("breadth.ad_line", "Advance/decline line", b["ad_line"], "count")
    add("breadth.participation_3m", "Share beating cap-weight index, 3m", b["participation"])

    d = ds.dispersion_history(
        market, correlation_windows=(MONTH, QUARTER), dispersion_windows=(1, MONTH)
    )
    add("dispersion.daily", "Cross-sectional std of daily returns", d["dispersion_1d"])
    add("dispersion.1m", "Cross-sectional std of 1m returns", d["dispersion_21d"])
    add("correlation.21d", "Average pairwise correlation, 21d", d["avg_corr_21d"], "correlation")
    add("correlation.63d", "Average pairwise correlation, 63d", d["avg_corr_63d"], "correlation")
    add(
        "correlation.vw63d",
        "Volatility-weighted average correlation, 63d",
        d["avg_corr_vw_63d"],
        "correlation",
    )

    daily = group_daily_returns(market, [MAG7], weightings=("cap", "equal"))
    mag, rest = daily["Mag 7 (cap)"].to_numpy(), daily["Rest (cap)"].to_numpy()
    for w, tag in ((MONTH, "1m"), (QUARTER, "3m"), (HALF_YEAR, "6m")):
        add(
            f"rotation.mag7_vs_rest_{tag}",
            f"Mag 7 minus rest, {tag}",
            window_spread(mag, rest, w),
            "spread",
        )
    add(
        "rotation.mag7_streak",
        "Sessions Mag 7 ahead (+) / behind (-) over 1m",
        sign_streak(sig["rotation.mag7_vs_rest_1m"].series.to_numpy()),
        "sessions",
    )
    ew, cw = daily["Index (equal)"].to_numpy(), daily["Index (cap)"].to_numpy()
    for w, tag in ((MONTH, "1m"), (QUARTER, "3m")):
        add(
            f"rotation.ew_minus_cw_{tag}",
            f"Equal minus cap weight, {tag}",
            window_spread(ew, cw, w),
        )
    for key, pairs in ETF_SPREADS.items():
        got = (
            _etf_spread(market.benchmarks, idx, pairs, QUARTER)
            if not market.benchmarks.empty
            else None
        )
        if got is None:
            notes.append(
                f"rotation.{key}_3m unavailable: none of the ETF pairs {pairs} in the benchmarks"
            )
            continue
        label = "Small minus large" if key == "small_vs_large" else "Value minus growth"
        add(f"rotation.{key}_3m", f"{label} ({got[1]}), 3m", got[0], "spread", note=got[1])

    if np.isfinite(market.caps).any():
        conc = concentration_history(market, groups=[MAG7], top=(10,), issuer_level=True).measures
        top10 = conc["top10"].to_numpy()
        add("concentration.top10_share", "Top-10 issuer share", top10)
        add("concentration.mag7_share", "Mag 7 share", conc[MAG7.name])
        for w, tag in ((MONTH, "1m"), (QUARTER, "3m")):
            ch = np.full(len(top10), np.nan)
            ch[w:] = top10[w:] - top10[:-w]
            add(f"concentration.top10_change_{tag}", f"Change in top-10 share, {tag}", ch, "spread")
    else:
        notes.append("concentration signals unavailable: the market has no caps")

    if flows is not None:
        from counterweight.monitor.flows import classify_flows

        buckets = classify_flows(flows, idx, config.flow_classes)
        net = (buckets["diversified"] - buckets["cap_weighted"]).rolling(MONTH, min_periods=1).sum()
        first = pd.DatetimeIndex(flows["date"]).min()
        net[idx < first] = np.nan
        add(
            "flows.diversified_minus_cap_1m", "Diversified minus cap-weighted flows, 1m", net, "usd"
        )

    groups = daily[["Mag 7 (cap)", "Rest (cap)", "Index (cap)", "Index (equal)"]].copy()
    groups.columns = ["Mag 7", "Rest", "Index (cap)", "Index (equal)"]
    if market.securities["sector"].notna().any() and np.isfinite(market.caps).any():
        groups = groups.join(sector_daily_returns(market, "cap"))
    z = shock_zscores(groups, config.shock_lookback, config.shock_min_history)
    shocked = (z.abs() > config.shock_k).sum(axis=1).astype(np.float64)
    shocked[z.notna().sum(axis=1) == 0] = np.nan
    add("shocks.count", f"Groups moving > {config.shock_k:g} sd", shocked, "count")
    return SignalSet(sig, shocks=z, shock_returns=groups, notes=notes)
