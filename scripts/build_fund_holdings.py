"""Build the embedded fund holdings (src/counterweight/data/funds/fund_holdings.csv.gz).

Reads the project's shared holdings files with :func:`counterweight.data.funds.read_fund_file`
(the same importer users run) and writes one small long CSV: fund, date, ticker, name, weight
(fraction of net assets), shares, sector, kind, source. Run from the repository root:

    python scripts/build_fund_holdings.py [SHARED_HOLDINGS_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from counterweight.data.funds import read_fund_file, to_long

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "counterweight" / "data" / "fund_holdings" / "fund_holdings.csv.gz"


def main(shared: Path) -> None:
    spy = read_fund_file(shared / "spy_holdings_ssga_2025-02-07.csv", fund="SPY", date="2025-02-07")
    others = read_fund_file(shared / "etf_holdings_qqq_iwm_mdy_spsm_2025-10.csv")
    long = to_long([*spy, *others])
    long["source"] = long["fund"].map(
        lambda f: (
            "SSGA daily holdings of SPY, 2025-02-07 (umiuni-community/company_market_cap_2025, MIT)"
            if f == "SPY"
            else "issuer holdings snapshot recorded 2025-10-04 (public repository major/index-etfs, no licence file)"
        )
    )
    long["date"] = long["date"].dt.strftime("%Y-%m-%d")
    long["weight"] = long["weight"].round(12)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    long.to_csv(OUT, index=False, compression={"method": "gzip", "mtime": 0})
    print(
        f"wrote {len(long)} lines of {long['fund'].nunique()} funds to {OUT} ({OUT.stat().st_size:,} bytes)"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data/holdings"))
