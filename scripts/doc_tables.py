"""Write the computed tables the docs quote (between ``<!-- NAME:start/end -->`` markers).

Run from the repository root:  python scripts/doc_tables.py [--check]

Blocks: ``firing-rates`` in docs/monitor.md (replay of the default guardrails on the embedded
sample) and ``cap-errors`` in docs/data.md (out-of-sample error of the cap estimates on the
embedded sample, as ``counterweight data info`` prints it). ``--check`` only compares and
exits 1 when a document differs; tests/test_report_docs.py does the same.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def firing_rates() -> str:
    import counterweight as cw
    from counterweight.monitor import run_monitor
    from counterweight.monitor.guardrails import firing_rates as rates
    from counterweight.report.doc_tables import firing_rates_markdown

    market = cw.load_sample()
    result = run_monitor(market)
    return firing_rates_markdown(rates(result.guardrails), market.dates[0], market.dates[-1])


def cap_errors() -> str:
    import counterweight as cw
    from counterweight.data.caps import estimate_error
    from counterweight.report.doc_tables import cap_errors_markdown

    market = cw.load_sample()
    return cap_errors_markdown(estimate_error(market.prices_frame(), market.fundamentals))


BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "firing-rates": ("monitor.md", firing_rates),
    "cap-errors": ("data.md", cap_errors),
}


def rewrite(text: str, name: str, table: str) -> str:
    """``text`` with the block ``name`` replaced by ``table``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), flags=re.S)
    if not pattern.search(text):
        raise SystemExit(f"markers {start} / {end} not found")
    return pattern.sub(lambda _m: f"{start}\n{table}\n{end}", text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = ap.parse_args(argv)
    stale = []
    for name, (doc, make) in BLOCKS.items():
        path = DOCS / doc
        text = path.read_text()
        new = rewrite(text, name, make())
        if new != text:
            stale.append(f"{doc}:{name}")
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print("stale: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
