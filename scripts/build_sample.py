"""Rebuild the embedded default dataset (src/counterweight/data/sample/) from ../shared/data.

Run from the repository root:  python scripts/build_sample.py [--shared ../shared/data]

Reproducible: the same inputs give byte-identical Parquet files (fixed column order, sorted
rows, no timestamps written). Every file's source, licence and caveats are recorded in
src/counterweight/data/sample/README.md (hand-written) and in ``manifest.json`` (generated here:
row counts, date ranges and SHA-256 of each input and output).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from counterweight.data.store import file_sha256

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "counterweight" / "data" / "sample"

ETF_CLASSES = {
    "SPY": "cap-weighted S&P 500",
    "IVV": "cap-weighted S&P 500",
    "VOO": "cap-weighted S&P 500",
    "RSP": "equal-weight S&P 500",
}


def norm(t: str) -> str:
    s = str(t).strip().upper()
    for sep in (".", "/", "_", " "):
        s = s.replace(sep, "-")
    return s


def write(frame: pd.DataFrame, name: str) -> Path:
    path = OUT / name
    frame.to_parquet(path, compression="zstd", index=False, engine="pyarrow")
    return path


def wide_to_long(frame: pd.DataFrame, date_col: str, value: str) -> pd.DataFrame:
    frame = frame.rename(columns={date_col: "date"})
    frame["date"] = pd.to_datetime(frame["date"])
    long = frame.melt(id_vars="date", var_name="ticker", value_name=value).dropna()
    long["ticker"] = long["ticker"].map(norm)
    return long.sort_values(["ticker", "date"]).reset_index(drop=True)


def rename_old_tickers(
    fund: pd.DataFrame, sec: pd.DataFrame, full: Path, inputs: list[Path]
) -> pd.DataFrame:
    """Snapshots taken before a ticker change carry the old symbol: give them today's.

    Two sources of evidence, both data-driven: the membership events file's ticker changes
    (BK -> BNY, FI -> FISV, ...) and, for a current member with no snapshot at all, an old
    symbol whose company name is identical after normalisation.
    """
    f = full / "membership" / "index_constitution_us_events.csv"
    inputs.append(f)
    ev = pd.read_csv(f)
    ev = ev[ev["event_type"] == "ticker_change"].dropna(subset=["new_symbol"])
    current = set(sec.loc[sec["date_added"].notna(), "ticker"])
    fund = fund.copy()
    for _, e in ev.iterrows():
        old, new = norm(e["old_symbol"]), norm(e["new_symbol"])
        if new in current:
            hit = (fund["ticker"] == old) & (fund["date"] < pd.Timestamp(e["event_date"]))
            fund.loc[hit, "ticker"] = new

    def key(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", str(name).lower().replace("&", "and"))

    names = fund.groupby("ticker")["ticker"].first()
    fund_names = {}
    fund_name_src = pd.read_csv(full.parent / "sample" / "sp500_market_cap_snapshots_yahoo.csv.gz")
    for sym, nm in zip(fund_name_src["symbol"], fund_name_src["name"], strict=True):
        fund_names.setdefault(key(nm), norm(sym))
    have = set(names.index)
    for t, nm in zip(sec["ticker"], sec["name"], strict=True):
        if t in current and t not in have:
            old = fund_names.get(key(nm))
            if old and old not in current:
                fund.loc[fund["ticker"] == old, "ticker"] = t
    return fund.drop_duplicates(["date", "ticker"], keep="first")


def carried_quarterly_caps(
    fund: pd.DataFrame, daily: pd.DataFrame, full: Path, inputs: list[Path]
) -> pd.DataFrame:
    """For daily-panel tickers with no cap in any snapshot (BRK-B, BF-B: the Yahoo scrape failed
    on their dotted symbols), carry the last cap of the quarterly cap file forward by the
    total-return price change to the first daily date, as an explicitly estimated snapshot."""
    in_range = fund["date"] > daily.index[0]
    with_caps = set(fund[in_range].dropna(subset=["market_cap"])["ticker"])
    missing = [t for t in daily.columns if t not in with_caps]
    if not missing:
        return fund.iloc[0:0]
    f = full / "sp500_market_caps_quarterly_2001_2025.csv.gz"
    inputs.append(f)
    q = pd.read_csv(f)
    q["ticker"] = q["ticker"].map(norm)
    q["date"] = pd.to_datetime(q["date"])
    q = q[q["ticker"].isin(missing)].sort_values("date")
    f = full / "sp500_members_and_etfs_adjclose_long.parquet"
    inputs.append(f)
    px = pd.read_parquet(
        f, filters=[("ticker", "in", [t.replace("-", ".") for t in missing] + missing)]
    )
    px["ticker"] = px["ticker"].map(norm)
    px = px.pivot(index="date", columns="ticker", values="adj_close").sort_index()
    first = daily.index[0]
    rows = []
    for t, g in q.groupby("ticker"):
        if t not in px.columns:
            continue
        last = g.iloc[-1]
        series = px[t].dropna()
        p0 = series[series.index < last["date"]]
        p1 = series[series.index <= first]
        if p0.empty or p1.empty:
            continue
        cap = float(last["market_cap_usd"]) * float(p1.iloc[-1]) / float(p0.iloc[-1])
        rows.append(
            {
                "date": daily.index[1],  # anchored on the first daily close
                "ticker": t,
                "price": np.nan,
                "market_cap": cap,
                "eps": np.nan,
                "pe": np.nan,
                "div_yield": np.nan,
                "source": f"estimated: quarterly cap of {last['date'].date()} x total-return price change "
                f"to {first.date()} (full/sp500_market_caps_quarterly_2001_2025, MIT)",
            }
        )
    return pd.DataFrame(rows, columns=fund.columns)


def build(shared: Path) -> dict[str, object]:
    sample, full = shared / "sample", shared / "full"
    OUT.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {"inputs": {}, "outputs": {}}
    inputs: list[Path] = []

    # --- daily total-return closes of S&P 500 members, 2023-01 .. 2026-08, plus UNH
    f = sample / "sp500_current_daily_adjclose_2023_2026.csv.gz"
    inputs.append(f)
    daily = pd.read_csv(f)
    daily["date"] = pd.to_datetime(daily["date"])
    daily = daily.set_index("date")
    daily.columns = [norm(c) for c in daily.columns]
    f = full / "megacap_ohlcv_long_2010_2026.parquet"
    inputs.append(f)
    mega = pd.read_parquet(f, columns=["date", "ticker", "close"])
    unh = mega[mega["ticker"] == "UNH"].set_index("date")["close"]
    unh.index = pd.to_datetime(unh.index)
    daily = pd.concat([daily, unh.reindex(daily.index).rename("UNH")], axis=1)
    daily = daily.sort_index(axis=1).copy()
    prices_daily = daily.reset_index().melt(id_vars="date", var_name="ticker", value_name="price")
    prices_daily = prices_daily.dropna().sort_values(["ticker", "date"]).reset_index(drop=True)
    prices_daily["price"] = prices_daily["price"].astype("float64")
    write(prices_daily, "prices_daily.parquet")

    # --- month-end closes of current and former members, 2014 .. 2026
    f = sample / "sp500_pit_monthly_adjclose_2014_2026.csv.gz"
    inputs.append(f)
    monthly = pd.read_csv(f)
    write(wide_to_long(monthly, "month_end", "price"), "prices_monthly.parquet")

    # --- 56 ETFs daily 2014 .. 2026
    f = sample / "etf_daily_adjclose_2014_2026.csv.gz"
    inputs.append(f)
    etf = pd.read_csv(f)
    write(wide_to_long(etf, "date", "price"), "etf_daily.parquet")

    # --- security master: today's members with GICS, former members from membership/snapshots
    f = sample / "sp500_constituents_gics_2026-08-08.csv"
    inputs.append(f)
    gics = pd.read_csv(f, dtype={"CIK": "string"})
    sec = pd.DataFrame(
        {
            "ticker": gics["Symbol"].map(norm),
            "name": gics["Security"],
            "sector": gics["GICS Sector"],
            "industry": gics["GICS Sub-Industry"],
            "cik": gics["CIK"].astype("string").str.lstrip("0"),
            "date_added": gics["Date added"],
        }
    )
    f = full / "sp500_constituents_sector_snapshots.parquet"
    inputs.append(f)
    snaps = pd.read_parquet(f)
    snaps["ticker"] = snaps["Symbol"].map(norm)
    # a sector must be one of the 11 GICS sectors (some 2023 snapshots carry sub-industries)
    valid = set(sec["sector"].dropna())
    snaps = snaps[snaps["GICS Sector"].isin(valid)].sort_values("snapshot_date")
    latest = snaps.groupby("ticker").tail(1).set_index("ticker")
    f = full / "membership" / "index_constitution_sp500_history.csv"
    inputs.append(f)
    hist = pd.read_csv(f)
    hist["ticker"] = hist["symbol"].map(norm)
    former = sorted(set(hist["ticker"]) - set(sec["ticker"]))
    extra = pd.DataFrame(
        {
            "ticker": former,
            "name": [hist.loc[hist["ticker"] == t, "name"].iloc[-1] for t in former],
            "sector": [latest["GICS Sector"].get(t, np.nan) for t in former],
            "industry": [latest["GICS Sub-Industry"].get(t, np.nan) for t in former],
            "cik": [
                (
                    str(latest["CIK"].get(t)).split(".")[0]
                    if pd.notna(latest["CIK"].get(t))
                    else pd.NA
                )
                for t in former
            ],
            "date_added": [np.nan] * len(former),
        }
    )
    sec = pd.concat([sec, extra], ignore_index=True)
    # issuer: one per CIK (GOOG and GOOGL share Alphabet's CIK); name without the class suffix
    base_name = (
        sec["name"].astype(str).str.replace(r"\s*\((Class|Series) [A-Z]\)\s*$", "", regex=True)
    )
    first_name = base_name.groupby(sec["cik"].fillna(sec["ticker"])).transform("first")
    sec["issuer"] = np.where(sec["cik"].notna(), first_name, base_name)
    sec = sec[["ticker", "name", "issuer", "sector", "industry", "cik", "date_added"]]
    sec = sec.sort_values("ticker").reset_index(drop=True)
    sec["cik"] = sec["cik"].astype("string")
    write(sec, "securities.parquet")

    # --- point-in-time membership: [start, end) per ticker
    members = pd.DataFrame(
        {
            "ticker": hist["ticker"],
            "start": pd.to_datetime(hist["opt-in"]),
            "end": pd.to_datetime(hist["opt-out"]),
        }
    ).sort_values(["ticker", "start"])
    write(members.reset_index(drop=True), "membership.parquet")

    # --- fundamentals / market-cap snapshots: the sample's 6 dates, plus the history file's
    # snapshots before 2019 (for the monthly history) and its last one
    f = sample / "sp500_market_cap_snapshots_yahoo.csv.gz"
    inputs.append(f)
    snap = pd.read_csv(f)
    fund = pd.DataFrame(
        {
            "date": pd.to_datetime(snap["snapshot_date"]),
            "ticker": snap["symbol"].map(norm),
            "price": snap["price"],
            "market_cap": snap["market_cap_usd"],
            "eps": snap["eps"],
            "pe": snap["pe"],
            "div_yield": snap["div_yield"],
            "source": "sample/sp500_market_cap_snapshots_yahoo",
        }
    )
    f = full / "sp500_constituents_financials_history.parquet"
    inputs.append(f)
    fh = pd.read_parquet(f)
    fh["date"] = pd.to_datetime(fh["snapshot_date"])
    keep = (fh["date"] < "2019-01-01") | (fh["date"] == fh["date"].max())
    fh = fh[keep & ~fh["date"].isin(set(fund["date"]))]
    fund2 = pd.DataFrame(
        {
            "date": fh["date"],
            "ticker": fh["symbol"].map(norm),
            "price": fh["price"],
            "market_cap": fh["market_cap_usd"],
            "eps": fh["eps"],
            "pe": fh["pe"],
            "div_yield": fh["div_yield"],
            "source": "full/sp500_constituents_financials_history",
        }
    )
    fund = pd.concat([fund, fund2], ignore_index=True)
    fund = fund.drop_duplicates(["date", "ticker"], keep="first")
    fund = rename_old_tickers(fund, sec, full, inputs)
    fund = pd.concat([fund, carried_quarterly_caps(fund, daily, full, inputs)], ignore_index=True)
    fund = fund.sort_values(["date", "ticker"]).reset_index(drop=True)
    write(fund, "fundamentals.parquet")

    # --- Fama-French 5 factors + momentum, daily, converted from percent to fractions
    f = sample / "ff5_mom_daily_pct_2014_2026-01.csv.gz"
    inputs.append(f)
    ff = pd.read_csv(f)
    ff["date"] = pd.to_datetime(ff["date"])
    for c in ff.columns[1:]:
        ff[c] = ff[c] / 100.0
    write(ff.sort_values("date").reset_index(drop=True), "factors_daily.parquet")

    for p in inputs:
        manifest["inputs"][str(p.relative_to(shared))] = file_sha256(p)  # type: ignore[index]
    for p in sorted(OUT.glob("*.parquet")):
        d = pd.read_parquet(p)
        info: dict[str, object] = {"rows": len(d), "sha256": file_sha256(p), "bytes": p.stat().st_size}
        if "date" in d.columns:
            info["first"] = str(pd.Timestamp(d["date"].min()).date())
            info["last"] = str(pd.Timestamp(d["date"].max()).date())
        if "ticker" in d.columns:
            info["tickers"] = int(d["ticker"].nunique())
        manifest["outputs"][p.name] = info  # type: ignore[index]
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    if not (args.shared / "sample").is_dir():
        raise SystemExit(
            f"error: {args.shared}/sample not found (this script needs ../shared/data)"
        )
    manifest = build(args.shared)
    total = sum(int(v["bytes"]) for v in manifest["outputs"].values())  # type: ignore[union-attr]
    for name, info in manifest["outputs"].items():  # type: ignore[union-attr]
        print(f"{name:28s} {info}")
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
