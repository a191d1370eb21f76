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
    from counterweight.monitor.config import Guardrail
    from counterweight.monitor.guardrails import evaluate
    from counterweight.monitor.guardrails import firing_rates as rates
    from counterweight.report.doc_tables import firing_rates_markdown

    market = cw.load_sample()
    result = run_monitor(market)
    table = firing_rates_markdown(rates(result.guardrails), market.dates[0], market.dates[-1])
    # the former group-shock rule, for comparison: any group beyond k = 3 sd on the day
    old = evaluate(Guardrail("group-shock (former)", "shocks.count", ">=", 1.0), result.signals)
    r = rates([old]).iloc[0]
    return (
        f"{table}\n\nThe former group-shock rule (`shocks.count >= 1`, any group beyond 3 sd) "
        f"fired {int(r['fired'])} times ({r['per_year']:.1f} a year) on the same data, "
        f"{r['weekly_new_share']:.1%} of weekly runs."
    )


def cap_errors() -> str:
    import counterweight as cw
    from counterweight.cli.data import cap_estimate_check  # exactly what `data info` prints
    from counterweight.report.doc_tables import cap_errors_markdown

    return cap_errors_markdown(cap_estimate_check(cw.load_sample()))


def alert_examples() -> str:
    """The alert lines `counterweight monitor --sample --as-of D --quiet` prints on the last
    day group-shock and mag7-share-high fired."""
    import counterweight as cw
    from counterweight.monitor import run_monitor
    from counterweight.monitor.alerts import statuses_without_store
    from counterweight.report.monitor_text import alert_message

    result = run_monitor(cw.load_sample())
    lines = []
    for h in result.guardrails:
        if h.guardrail.name not in ("group-shock", "mag7-share-high"):
            continue
        ev = h.events()
        day = ev[ev["event"] == "fired"]["date"].iloc[-1]
        (a,) = statuses_without_store([h], day)
        lines += [
            f"    $ counterweight monitor --sample --as-of {day.date()} --quiet",
            f"    ALERT {alert_message(a)}",
        ]
    return "\n" + "\n".join(lines) + "\n"  # blank lines around: a Markdown code block


def cash_example() -> str:
    """The leftover-cash line of `rebalance` for $235,000 in cash toward the Mag 7 <= 20 %
    policy with a $500 minimum trade."""
    import pandas as pd

    import counterweight as cw
    from counterweight.data.holdings import Holdings
    from counterweight.rebalance import TradeRules, last_prices, rebalance
    from counterweight.rebalance.targets import policy_target
    from counterweight.report.rebalance_text import cash_lines

    market = cw.load_sample()
    policy = Path(__file__).resolve().parents[1] / "examples" / "policies" / "mag7_max_20.toml"
    target = policy_target(policy, market)[0]
    book = Holdings.from_frame(
        pd.DataFrame([{"account": "A", "ticker": "CASH", "shares": 235_000}])
    )
    res = rebalance(
        book, target, prices=last_prices(market.prices_frame()), rules=TradeRules(min_trade=500)
    )
    return "\n" + "\n".join(f"    {line}" for line in cash_lines(res)) + "\n"


BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "firing-rates": ("monitor.md", firing_rates),
    "alert-examples": ("monitor.md", alert_examples),
    "cap-errors": ("data.md", cap_errors),
    "cash-example": ("rebalance.md", cash_example),
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
