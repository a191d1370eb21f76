"""Self-contained HTML documents made of sections of Plotly charts and tables.

Every report (the main report, the monitor section, rebalance before/after, the backtest tear
sheet) is a list of :class:`Section` objects rendered by :func:`render_html` into one file that
embeds plotly.js once, so it opens offline with no network. This module formats; it never
computes a figure: callers pass finished numbers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from counterweight.market import Provenance
from counterweight.report.caveats import caveat_lines

CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0;color:#1d2330;background:#f6f7f9}
header{background:#14213d;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c9d1e3;font-size:13px}
main{max-width:1180px;margin:0 auto;padding:16px 24px 48px}
section{background:#fff;border:1px solid #e2e5ea;border-radius:8px;margin:18px 0;padding:14px 20px}
section h2{font-size:18px;margin:4px 0 8px}section p.intro{color:#4a5262;font-size:14px;margin:0 0 8px}
table.cw{border-collapse:collapse;font-size:13px;margin:8px 0 12px}
table.cw th,table.cw td{padding:4px 10px;border-bottom:1px solid #eceef2;text-align:right}
table.cw th:first-child,table.cw td:first-child{text-align:left}
table.cw thead th{background:#f0f2f5}
.caveats{font-size:13px;color:#4a5262}.caveats li{margin:2px 0}
.chart{min-height:360px}
"""


@dataclass
class Section:
    """One titled block of a report: an intro, Plotly figures and tables, in that order."""

    title: str
    intro: str = ""
    figures: list[Any] = field(default_factory=list)  # plotly.graph_objects.Figure
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # (caption, frame)
    html_blocks: list[str] = field(default_factory=list)  # pre-escaped extra HTML
    anchor: str = ""


def table_html(frame: pd.DataFrame, caption: str = "", float_format: str = "{:,.4f}") -> str:
    """Render a frame as an HTML table (values already in display units)."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if pd.isna(v):
                return "–"
            return float_format.format(v)
        return html.escape(str(v))

    head = "".join(
        f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns]
    )
    rows = []
    for idx, row in frame.iterrows():
        cells = "".join(f"<td>{fmt(v)}</td>" for v in row.tolist())
        rows.append(f"<tr><td>{html.escape(str(idx))}</td>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<table class="cw">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _figure_html(fig: Any, div_id: str) -> str:
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def render_html(
    title: str,
    sections: Sequence[Section],
    provenance: Provenance | None = None,
    subtitle: str = "",
) -> str:
    """One self-contained HTML page: plotly.js inlined once, every section in order."""
    from plotly.offline import get_plotlyjs

    parts: list[str] = []
    n = 0
    for sec in sections:
        body: list[str] = [f"<h2>{html.escape(sec.title)}</h2>"]
        if sec.intro:
            body.append(f'<p class="intro">{html.escape(sec.intro)}</p>')
        for fig in sec.figures:
            n += 1
            body.append(f'<div class="chart">{_figure_html(fig, f"chart-{n}")}</div>')
        for caption, frame in sec.tables:
            body.append(table_html(frame, caption))
        body.extend(sec.html_blocks)
        anchor = f' id="{html.escape(sec.anchor)}"' if sec.anchor else ""
        parts.append(f"<section{anchor}>{''.join(body)}</section>")
    if provenance is not None:
        src = "".join(f"<li>{html.escape(s)}</li>" for s in provenance.sources)
        cav = "".join(f"<li>{html.escape(c)}</li>" for c in caveat_lines(provenance.caveats))
        parts.append(
            '<section class="caveats"><h2>Data and caveats</h2>'
            f"<p>Data: {html.escape(provenance.name)}, as of "
            f"{'' if provenance.as_of is None else provenance.as_of.date()}; data end "
            f"{'unknown' if provenance.data_end is None else provenance.data_end.date()}; "
            f"weights from {html.escape(provenance.cap_basis_label)}</p>"
            f"<h3>Sources</h3><ul>{src}</ul><h3>Caveats</h3><ul>{cav}</ul></section>"
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body><header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main>{''.join(parts)}</main></body></html>"
    )


def write_html(path: str | Path, document: str) -> Path:
    """Write atomically: a temporary file renamed into place, so nothing is half-written."""
    from counterweight.data.files import atomic_write_text

    return atomic_write_text(path, document)
