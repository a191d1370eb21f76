"""Measure what each fix of issue 12 gains in the self-check against SPY and RSP.

Run from the repository root (no ../shared needed): python scripts/selfcheck_ablation.py

Variants, each on the embedded daily panel 2014-01-02 .. 2026-08-03 (and on 2023-01-03 ..,
the span of the old sample):

1. survivors, raw caps, company level: only the members of the last date (the old sample's
   universe), every cap snapshot as reported (no screens) and the first one carried backwards;
2. + point in time: every member on each date, former members included;
3. + caps: screened snapshots (unit errors, single-class, jumps), never back-filled;
4. + float: float-adjusted caps (the embedded default).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from counterweight.data.build import build_market
from counterweight.data.sample import (
    SAMPLE_CAVEATS,
    SAMPLE_SOURCES,
    SAMPLE_START,
    _plain,
    _read,
    _read_wide,
    _wide,
)
from counterweight.market import Market, Provenance
from counterweight.measure.selfcheck import self_check


def variant(*, screened: bool, floated: bool) -> Market:
    prices = _read_wide("prices_daily.parquet")
    caps = _plain(_read("cap_snapshots.parquet"))
    if not screened:
        caps = caps.assign(cap_flag="")
    m = build_market(
        prices,
        caps=caps,
        securities=_plain(_read("securities.parquet")).set_index("ticker"),
        membership=_plain(_read("membership.parquet")),
        benchmarks=_wide(_read("etf_daily.parquet")),
        provenance=Provenance(sources=SAMPLE_SOURCES, caveats=SAMPLE_CAVEATS),
        float_factors=_plain(_read("float_factors.parquet")) if floated else None,
        iwf_before_first="first",
        unpriced_caps=True,
        cap_backfill=not screened,
    )
    return m.slice(SAMPLE_START, None)


def survivors(m: Market) -> Market:
    last = m.members[-1]
    return replace(m, members=m.members & last[None, :])


def summary(m: Market, start: str | None = None) -> dict[str, float]:
    if start is not None:
        m = m.slice(start, None)
    c = self_check(m)
    spy, rsp = c.tables["SPY"], c.tables["RSP"]
    yrs = spy.drop(index="all")
    return {
        "SPY gap/yr": float(spy.loc["all", "gap"]),
        "mean |annual gap| SPY": float(yrs["gap"].abs().mean()),
        "max |annual gap| SPY": float(yrs["gap"].abs().max()),
        "TE vs SPY": float(spy.loc["all", "tracking_error"]),
        "TE vs index level": float(spy.loc["all", "tracking_error_vs_index"]),
        "RSP gap/yr": float(rsp.loc["all", "gap"]),
        "mean |annual gap| RSP": float(rsp.drop(index="all")["gap"].abs().mean()),
    }


def main() -> None:
    raw = variant(screened=False, floated=False)
    fixed = variant(screened=True, floated=False)
    final = variant(screened=True, floated=True)
    rows = {
        "1 survivors, raw caps, company": survivors(raw),
        "2 + point in time": raw,
        "3 + screened caps, no back-fill": fixed,
        "4 + float-adjusted (default)": final,
    }
    for start in (None, "2023-01-03"):
        table = pd.DataFrame({k: summary(v, start) for k, v in rows.items()}).T
        label = "2014-01-02 .. 2026-08-03" if start is None else "2023-01-03 .. 2026-08-03"
        print(f"\n{label}")
        print((table * 100).round(2).to_string())
    print("\n(percent; gaps are member index - fund fee - fund)")
    assert np.isfinite(table.to_numpy()).all()


if __name__ == "__main__":
    main()
