"""JSON rendering of the main report: every number shown in the terminal and the HTML.

Values are fractions (shares, returns) as in the API; dates are ISO strings; NaN is null.
Histories are included as ``{"dates": [...], "<column>": [...]}`` blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from counterweight.report.main_report import MainReport
from counterweight.report.valuation_section import json_dict as valuation_json


def _records(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Frame -> {row label: {column: value}} with NaN as None and numpy scalars as Python."""
    out: dict[str, dict[str, Any]] = {}
    for idx, row in frame.iterrows():
        out[str(idx)] = {str(k): _scalar(v) for k, v in row.items()}
    return out


def _scalar(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if not np.isfinite(f) else f
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v if isinstance(v, (int, str, bool)) else str(v)


def _series(s: pd.Series) -> dict[str, Any]:
    return {str(k): _scalar(v) for k, v in s.items()}


def _history(frame: pd.DataFrame) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {
        "dates": [d.date().isoformat() for d in pd.DatetimeIndex(frame.index)]
    }
    for c in frame.columns:
        out[str(c)] = [_scalar(v) for v in frame[c].to_numpy()]
    return out


def report_to_dict(rep: MainReport, *, histories: bool = True) -> dict[str, Any]:
    """The report as plain JSON-ready data (``histories`` adds the daily series behind the charts)."""
    out: dict[str, Any] = {
        "title": rep.title,
        "as_of": rep.as_of.date().isoformat(),
        "start": rep.start.date().isoformat(),
        "level": rep.level,
        "groups": list(rep.groups),
        "units": "fractions (0.25 = 25%); HHI as a fraction (x 10,000 for the usual scale)",
        "concentration": _records(rep.concentration_summary),
        "concentration_long_run": None
        if rep.long_run_summary is None
        else {"label": rep.long_run_label, "measures": _records(rep.long_run_summary)},
        "top_holdings": _records(rep.top_holdings),
        "sectors": _records(rep.sector_summary),
        "windows": [w.to_dict() for w in rep.windows],
        "skipped_windows": list(rep.skipped_windows),
        "returns": _records(rep.returns),
        "equal_vs_cap": _records(rep.equal_vs_cap),
        "size_style": _records(rep.size_style),
        "group_breadth": [b.to_dict() for b in rep.breadth],
        "contributions": {
            "window": rep.contribution_window.to_dict(),
            "method": "daily previous-close cap weights x daily returns, each day scaled by the "
            "index growth to the previous close; sums exactly to the index return",
            "index_return": _scalar(rep.contribution_total),
            "top": _records(rep.contributions_top),
            "by_group": _series(rep.contributions_groups),
            "by_sector": _series(rep.contributions_sectors),
        },
        "sector_returns": _records(rep.sector_returns),
        "valuation": None
        if rep.valuation is None
        else {
            "snapshot": None
            if rep.valuation_date is None
            else rep.valuation_date.date().isoformat(),
            "method": "aggregate P/E = total market cap / total trailing earnings "
            "(earnings = cap x EPS / price, else cap / P/E)",
            "baskets": _records(rep.valuation),
        },
        "valuation_over_time": valuation_json(
            rep.valuation_overview, rep.as_of, rep.valuation_date
        ),
        "notes": list(rep.notes),
        "provenance": rep.provenance.to_dict(),
    }
    if histories:
        out["history"] = {
            "concentration": _history(rep.concentration.measures),
            "concentration_long_run": None
            if rep.long_run is None
            else _history(rep.long_run.measures),
            "sector_weights": _history(rep.concentration.sectors),
            "daily_returns": _history(rep.daily_returns),
            "rolling_relative": _history(rep.rolling_relative.to_frame()),
        }
    return out
