"""Replay the default monitor guardrails on the embedded sample and write the firing-rate
table into docs/monitor.md (between the ``firing-rates`` markers).

Run from the repository root:  python scripts/monitor_firing_rates.py [--check]

``--check`` only compares and exits 1 when the document differs (tests/test_monitor_docs.py
does the same in the test suite).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "monitor.md"
START, END = "<!-- firing-rates:start -->", "<!-- firing-rates:end -->"


def block() -> str:
    """The Markdown table of the default guardrails' firing rates on the embedded sample."""
    import counterweight as cw
    from counterweight.monitor import run_monitor
    from counterweight.monitor.guardrails import firing_rates
    from counterweight.report.monitor_text import firing_rates_markdown

    market = cw.load_sample()
    result = run_monitor(market)
    rates = firing_rates(result.guardrails)
    return firing_rates_markdown(rates, market.dates[0], market.dates[-1])


def rewrite(text: str, table: str) -> str:
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), flags=re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: markers {START} / {END} not found")
    return pattern.sub(lambda _m: f"{START}\n{table}\n{END}", text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = ap.parse_args(argv)
    text = DOC.read_text()
    new = rewrite(text, block())
    if args.check:
        return 0 if new == text else 1
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
