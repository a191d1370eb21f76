"""Markdown tables that the documentation quotes, so the docs state computed figures only.

Each formats a result computed elsewhere; ``scripts/doc_tables.py`` writes them between
``<!-- NAME:start -->`` / ``<!-- NAME:end -->`` markers in ``docs/`` and the tests recompute
them and fail when a document differs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def firing_rates_markdown(rates: pd.DataFrame, start: Any, end: Any) -> str:
    """The table of :func:`~counterweight.monitor.guardrails.firing_rates` (docs/monitor.md)."""
    lines = [
        f"Replay of the default guardrails on the embedded sample, {pd.Timestamp(start).date()}"
        f" to {pd.Timestamp(end).date()}:",
        "",
        "| guardrail | sessions | fired | per year | active | weekly runs with a new alert |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for rec in rates.reset_index().to_dict(orient="records"):
        if rec["guardrail"] == "any":
            lines += [
                "",
                f"A weekly run (every 5th session, {int(rec['weekly_runs'])} runs) reports at"
                f" least one new alert, and exits 3, on {rec['weekly_new_share']:.1%} of runs.",
            ]
            continue
        lines.append(
            f"| {rec['guardrail']} | {int(rec['sessions'])} | {int(rec['fired'])} | "
            f"{rec['per_year']:.1f} | {rec['active_share']:.1%} | {rec['weekly_new_share']:.1%} |",
        )
    return "\n".join(lines)


def cap_errors_markdown(check: pd.DataFrame) -> str:
    """The table of :func:`~counterweight.data.caps.estimate_error` (docs/data.md), with the
    same rounding as ``counterweight data info``."""
    lines = [
        "| from | to | days | names | median abs error | 90th pct | mean |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in check.itertuples(index=False):
        lines.append(
            f"| {pd.Timestamp(r[0]).date()} | {pd.Timestamp(r[1]).date()} | {int(r[2])} | "
            f"{int(r[3])} | {r[4]:.2%} | {r[5]:.2%} | {r[6]:+.2%} |"
        )
    return "\n".join(lines)
