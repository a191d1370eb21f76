"""Numbers about a finished backtest: the comparison table, exposures over time, ETF checks.

Everything a terminal table or the HTML tear sheet shows is computed here from a
:class:`~counterweight.backtest.engine.BacktestResult`; the renderers only format it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from counterweight.backtest.engine import BacktestResult
from counterweight.errors import DataUnavailableError
from counterweight.groups import MAG7_TICKERS
from counterweight.measure import performance as pf

DEFAULT_ETF_PAIRS: dict[str, str] = {"cap": "SPY", "equal": "RSP"}
"""Real-world counterparts of the built-in rules: SPY tracks the cap-weighted S&P 500, RSP the
S&P 500 Equal Weight index (quarterly rebalanced)."""


def benchmark_returns(result: BacktestResult, ticker: str) -> pd.Series:
    """Daily total returns of a reference ETF from ``market.benchmarks`` on the backtest's dates.

    r_t = P_t / P_{t-1} - 1 over consecutive backtest dates (NaN on the first date and where
    the ETF has no price).
    """
    bm = result.market.benchmarks
    if bm.empty or ticker not in bm.columns:
        have = ", ".join(map(str, bm.columns[:12])) if not bm.empty else "none"
        raise DataUnavailableError(f"no prices for reference ETF '{ticker}' (available: {have})")
    px = bm[ticker].reindex(result.market.dates)
    r = px / px.shift(1) - 1.0
    r.name = ticker
    return r


def comparison_table(result: BacktestResult, benchmark: pd.Series | None = None) -> pd.DataFrame:
    """One row per strategy (and the benchmark, when given): performance plus trading figures.

    Annualised with :func:`~counterweight.measure.performance.periods_per_year` of the dates
    (252 for daily data, 12 for month ends). Adds to :func:`counterweight.measure.performance.summary`: ``turnover`` (one-sided, per
    year, the initial purchase on the first date excluded), ``costs_per_year`` (sum of costs paid as fractions of value / years), ``rebalances``
    and the drawdown's peak / trough / recovery dates.
    """
    rows: dict[str, dict[str, object]] = {}
    n = len(result.market.dates)
    ppy = pf.periods_per_year(result.market.dates)
    years = n / ppy
    series: list[tuple[str, pd.Series, object]] = [
        (name, s.returns, s) for name, s in result.strategies.items()
    ]
    if benchmark is not None:
        series.append((str(benchmark.name), benchmark, None))
    for name, r, strat in series:
        row: dict[str, object] = dict(pf.summary(r, benchmark, ppy))
        dd = pf.max_drawdown_info(r)
        row["drawdown_peak"] = dd.peak
        row["drawdown_trough"] = dd.trough
        row["drawdown_recovery"] = dd.recovery
        if strat is not None:
            s = result.strategies[name]
            # the initial purchase from cash is funding, not turnover
            row["turnover"] = pf.annual_turnover(s.traded.to_numpy()[1:], n, ppy)
            row["costs_per_year"] = float(s.costs.sum()) / years
            row["rebalances"] = len(s.rebalance_dates)
        else:
            row["turnover"] = row["costs_per_year"] = float("nan")
            row["rebalances"] = 0
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def calendar_years(result: BacktestResult, extra: Sequence[pd.Series] = ()) -> pd.DataFrame:
    """Calendar-year returns (years x strategies, plus any ``extra`` series such as an ETF)."""
    cols = {name: pf.calendar_year_returns(s.returns) for name, s in result.strategies.items()}
    for e in extra:
        cols[str(e.name)] = pf.calendar_year_returns(e)
    return pd.DataFrame(cols)


def group_weight(result: BacktestResult, tickers: Sequence[str] = MAG7_TICKERS) -> pd.DataFrame:
    """Weight held in ``tickers`` at each close (dates x strategies): sum_{i in group} w_i,t."""
    wanted = [t for t in result.market.tickers if t in set(tickers)]
    out = {}
    for name, s in result.strategies.items():
        if s.weights is None:
            raise DataUnavailableError("weights were not recorded (run with record_weights=True)")
        out[name] = s.weights[wanted].sum(axis=1)
    return pd.DataFrame(out)


def top_n_weight(result: BacktestResult, n: int = 10, issuer_level: bool = True) -> pd.DataFrame:
    """Weight of the ``n`` largest holdings at each close (dates x strategies).

    With ``issuer_level`` share classes of one issuer are added first (GOOG + GOOGL is one).
    """
    out = {}
    for name, s in result.strategies.items():
        if s.weights is None:
            raise DataUnavailableError("weights were not recorded (run with record_weights=True)")
        w = s.weights.to_numpy()
        if issuer_level:
            w = np.nan_to_num(result.market.to_issuers(w), nan=0.0)
        k = min(n, w.shape[1])
        top = -np.partition(-w, k - 1, axis=1)[:, :k] if k else np.zeros((w.shape[0], 0))
        out[name] = pd.Series(top.sum(axis=1), index=s.weights.index)
    return pd.DataFrame(out)


@dataclass(frozen=True)
class EtfCheck:
    """Backtested strategies next to their real-world ETFs over the same dates.

    ``table``: per strategy its CAGR, its ETF's CAGR and the gap (strategy - ETF), as fractions
    per year. ``spread``: when two pairs are present, the strategy spread (second - first) next to
    the ETF spread, e.g. (equal - cap) vs (RSP - SPY); ``spread_gap`` is their difference.
    """

    table: pd.DataFrame
    spread: tuple[str, float, float] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def spread_gap(self) -> float:
        return float("nan") if self.spread is None else self.spread[1] - self.spread[2]


def etf_check(result: BacktestResult, pairs: Mapping[str, str] | None = None) -> EtfCheck | None:
    """Compare strategies with ETFs (default: cap -> SPY, equal -> RSP) where both are present.

    CAGRs are measured over the same dates (the ETF's first return is the day after the first
    backtest date, when the backtest's money is first invested). None when no pair is available.
    """
    pairs = DEFAULT_ETF_PAIRS if pairs is None else pairs
    bm = result.market.benchmarks
    ppy = pf.periods_per_year(result.market.dates)
    rows = {}
    for strat, etf in pairs.items():
        if strat in result.strategies and not bm.empty and etf in bm.columns:
            er = benchmark_returns(result, etf)
            if er.iloc[1:].isna().any():
                continue
            sr = result.strategies[strat].returns
            rows[strat] = {
                "etf": etf,
                "strategy_cagr": pf.cagr(sr, ppy),
                "etf_cagr": pf.cagr(er, ppy),
                "gap": pf.cagr(sr, ppy) - pf.cagr(er, ppy),
                "tracking_error": pf.tracking_error(sr, er, ppy),
                "correlation": float(sr.iloc[1:].corr(er.iloc[1:])),
            }
    if not rows:
        return None
    table = pd.DataFrame.from_dict(rows, orient="index")
    spread = None
    if len(rows) >= 2:
        a, b = list(rows)[:2]
        spread = (
            f"{b} - {a} vs {rows[b]['etf']} - {rows[a]['etf']}",
            float(rows[b]["strategy_cagr"]) - float(rows[a]["strategy_cagr"]),  # type: ignore[arg-type]
            float(rows[b]["etf_cagr"]) - float(rows[a]["etf_cagr"]),  # type: ignore[arg-type]
        )
    notes = (
        "ETF returns are net of their expense ratios (SPY 0.09%, RSP 0.20% a year) and of their "
        "own trading; the backtest pays only the stated costs.",
        "The index providers weight by float-adjusted caps; a backtest on company-level caps "
        "differs slightly.",
    )
    return EtfCheck(table=table, spread=spread, notes=notes)


@dataclass(frozen=True)
class TearSheetData:
    """Every series and table the tear sheet draws, computed once."""

    title: str
    summary: pd.DataFrame
    values: pd.DataFrame  # growth of 1, strategies (+ benchmark)
    drawdowns: pd.DataFrame
    rolling_relative: pd.DataFrame  # trailing-window return minus the reference's
    relative_to: str
    rolling_window: int  # periods in the rolling window
    periods_per_year: int
    mag7_weight: pd.DataFrame
    top10_weight: pd.DataFrame
    traded: pd.DataFrame  # two-sided traded value on each trade date
    years: pd.DataFrame
    etf: EtfCheck | None
    caveats: tuple[str, ...]


def tearsheet_data(result: BacktestResult, benchmark: str | None = "SPY") -> TearSheetData:
    """Compute the tear sheet's contents; the benchmark ETF is used when the market has it."""
    bench = None
    bm = result.market.benchmarks
    if benchmark is not None and not bm.empty and benchmark in bm.columns:
        bench = benchmark_returns(result, benchmark)
    rets = result.returns
    all_r = rets if bench is None else rets.assign(**{str(bench.name): bench})
    values = (1.0 + all_r.fillna(0.0)).cumprod()
    drawdowns = all_r.apply(lambda c: pf.drawdown_series(c))
    ref = bench if bench is not None else rets.iloc[:, 0]
    ref_name = str(ref.name) if bench is not None else str(rets.columns[0])
    ppy = pf.periods_per_year(result.market.dates)
    window = min(ppy, max(2, len(rets) // 3))  # one year, shorter for short backtests
    rolling = pd.DataFrame(
        {c: pf.rolling_relative_return(rets[c], ref, window) for c in rets.columns if c != ref_name}
    )
    traded = pd.DataFrame({k: s.traded.where(s.traded > 0) for k, s in result.strategies.items()})
    has_weights = all(s.weights is not None for s in result.strategies.values())
    empty = pd.DataFrame(index=rets.index)
    years = calendar_years(result, [bench] if bench is not None else [])
    return TearSheetData(
        title=f"Backtest: {', '.join(result.strategies)}",
        summary=comparison_table(result, bench),
        values=values,
        drawdowns=drawdowns,
        rolling_relative=rolling,
        relative_to=ref_name,
        rolling_window=window,
        periods_per_year=ppy,
        mag7_weight=group_weight(result) if has_weights else empty,
        top10_weight=top_n_weight(result, 10) if has_weights else empty,
        traded=traded.dropna(how="all"),
        years=years,
        etf=etf_check(result),
        caveats=result.caveats,
    )
