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

from counterweight.data.caps import estimate_caps, screen_snapshots, split_company_level_caps
from counterweight.data.float_factors import iwf_from_holdings, pool_share_classes
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


EXTRA_TICKER_CHANGES = [
    # (first day under the new symbol, old, new): symbol changes the membership events file
    # lacks, from the companies' announcements; snapshots before the date carry the old symbol
    ("2014-04-03", "GOOG", "GOOGL"),  # Alphabet's class A traded as GOOG before the C split
    ("2015-06-29", "GCI", "TGNA"),
    ("2016-04-08", "UA", "UAA"),  # the new class C took UA
    ("2018-02-28", "HCN", "WELL"),
    ("2018-03-01", "CBG", "CBRE"),
    ("2018-07-10", "DPS", "KDP"),
    ("2019-08-08", "TMK", "GL"),
    ("2019-11-05", "SYMC", "NLOK"),
    ("2019-12-05", "CBS", "VIAC"),
    ("2019-12-09", "BBT", "TFC"),
    ("2020-03-02", "IR", "TT"),  # Ingersoll-Rand plc became Trane; Gardner Denver took IR
    ("2020-04-03", "UTX", "RTX"),
    ("2020-09-18", "CTL", "LUMN"),
    ("2020-11-16", "MYL", "VTRS"),
    ("2021-08-03", "LB", "BBWI"),
    ("2022-02-16", "VIAC", "PARA"),
    ("2022-11-08", "NLOK", "GEN"),
    ("2023-05-16", "PKI", "RVTY"),
    ("2023-08-30", "ABC", "COR"),
]


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
    ev = pd.concat(
        [
            ev[["event_date", "old_symbol", "new_symbol"]],
            pd.DataFrame(EXTRA_TICKER_CHANGES, columns=["event_date", "old_symbol", "new_symbol"]),
        ],
        ignore_index=True,
    )
    ev["event_date"] = pd.to_datetime(ev["event_date"])
    ev = ev[ev["event_date"] <= pd.Timestamp("2026-08-31")]  # PSKY -> SKYD is after the data
    current = set(sec.loc[sec["date_added"].notna(), "ticker"])
    fund = fund.copy()
    # in date order, so chains (WLP -> ANTM -> ELV, CBS -> VIAC -> PARA) end at today's symbol;
    # rows before a change carry the old company's symbol by definition
    for _, e in ev.sort_values("event_date", kind="stable").iterrows():
        old, new = norm(e["old_symbol"]), norm(e["new_symbol"])
        hit = (fund["ticker"] == old) & (fund["date"] < e["event_date"])
        fund.loc[hit, "ticker"] = new

    def key(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", str(name).lower().replace("&", "and"))

    names = fund.groupby("ticker")["ticker"].first()
    fund_names = {}
    f = full.parent / "sample" / "sp500_market_cap_snapshots_yahoo.csv.gz"
    inputs.append(f)
    fund_name_src = pd.read_csv(f)
    for sym, nm in zip(fund_name_src["symbol"], fund_name_src["name"], strict=True):
        fund_names.setdefault(key(nm), norm(sym))
    have = set(names.index)
    for t, nm in zip(sec["ticker"], sec["name"], strict=True):
        if t in current and t not in have:
            old = fund_names.get(key(nm))
            if old and old not in current:
                fund.loc[fund["ticker"] == old, "ticker"] = t
    return fund.drop_duplicates(["date", "ticker"], keep="first")


START = pd.Timestamp("2014-01-02")
WARM_UP = pd.Timestamp("2013-10-01")
"""Prices are stored from here so that the snapshots of 2013-10 and 2013-11 anchor the caps of
the first panel dates; the loader starts the Market at START."""
REUSED = frozenset("ADT APC CAM DOW EMC FB INFO LB NE NFX PCL POM SE SNDK SPLS STI TE".split())
"""Symbols whose prices in the long file belong to today's holder, not the former member
(../shared/data/README.md)."""
AT_DATA_END = {"SKYD": "PSKY"}
SNAPSHOT_SYMBOLS = {"PARA": "PSKY"}
"""Paramount Global (PARA) became Paramount Skydance (PSKY) in 2025-08; the price file carries
its whole history as PSKY."""
"""Membership symbols that changed after the data's end: the prices carry the symbol of the
data's last date (Paramount Skydance became SKYD on 2026-10-06, after 2026-08-03)."""
HOLDINGS_TICKERS = {"PARA": "PSKY"}


def pit_prices(
    full: Path,
    universe: list[str],
    dates: pd.DatetimeIndex,
    members: pd.DataFrame,
    inputs: list[Path],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Daily total-return and price-return closes of every member since START.

    Sources in order: the long adjusted-close file; for names missing there the supplement
    (dieperdev: close and adjusted close to 2024-03-08; after that Spooky-Labs split-adjusted
    closes to 2025-04-04, chained on: total return continues by price return, dividends
    missed); UNH from its auto-adjusted series (total return) to the data's end. Reused symbols
    keep their prices only when today's holder is itself a member (an interval starting after
    its prices begin); a former holder never gets them.
    """
    f = full / "sp500_members_and_etfs_adjclose_long.parquet"
    inputs.append(f)
    lf = pd.read_parquet(f, filters=[("date", ">=", WARM_UP.to_pydatetime())])
    lf["ticker"] = lf["ticker"].map(norm)
    lf = lf[lf["ticker"].isin(universe)]
    tr = lf.pivot(index="date", columns="ticker", values="adj_close").reindex(dates)
    why: dict[str, str] = {}
    for t in sorted(REUSED & set(tr.columns)):
        first = tr[t].first_valid_index()
        iv = members[members["ticker"] == t]
        own = iv[iv["start"] >= (first - pd.Timedelta(days=30) if first is not None else START)]
        if first is None or own.empty:
            tr = tr.drop(columns=t)
            why[t] = "reused symbol: the prices belong to its later holder"
        else:
            tr.loc[tr.index < own["start"].min() - pd.Timedelta(days=30), t] = np.nan
    f = full / "supplement_missing_tickers_long.parquet"
    inputs.append(f)
    sup = pd.read_parquet(f)
    sup["ticker"] = sup["ticker"].map(norm)
    sup = sup[sup["ticker"].isin(universe) & (sup["date"] >= WARM_UP)]
    pr = pd.DataFrame(index=dates)
    add_tr = {}
    for t, g in sup.groupby("ticker"):
        if t in tr.columns and tr[t].notna().any():
            continue
        main = g[g["source"].str.startswith("dieperdev")].set_index("date").sort_index()
        late = g[g["source"].str.startswith("Spooky")].set_index("date").sort_index()
        auto = g[g["source"].str.startswith("guydekowski")].set_index("date").sort_index()
        trs = main["adj_close"].copy()
        prs = main["close"].copy()
        if len(late) and len(main):
            tail = late[late.index > main.index[-1]]
            if len(tail):
                base = late["close"][late.index <= main.index[-1]]
                if len(base) and base.index[-1] == main.index[-1]:
                    growth = tail["close"] / float(base.iloc[-1])
                    trs = pd.concat([trs, growth * float(trs.iloc[-1])])
                    prs = pd.concat([prs, growth * float(prs.iloc[-1])])
                    why[t] = (
                        f"after {main.index[-1].date()} split-adjusted closes only (dividends missed)"
                    )
        if len(auto):
            trs = auto["adj_close"]  # auto-adjusted: a total-return series to the data's end
        add_tr[t] = trs.reindex(dates)
        pr[t] = prs.reindex(dates)
    tr = pd.concat([tr, pd.DataFrame(add_tr)], axis=1).sort_index(axis=1)
    tr = tr.loc[:, tr.notna().any()]
    pr = pr.reindex(columns=[c for c in pr.columns if c in tr.columns]).dropna(how="all", axis=1)
    return tr, pr, why


QQQ_REF_MAX_WEIGHT = 1.5
"""QQQ weights (percent) above this belong to the largest Nasdaq-100 names, whose weights the
index's modified capping changes; the scale is measured on the others."""


def qqq_caps(
    shared: Path, tr: pd.DataFrame, screened: pd.DataFrame, inputs: list[Path]
) -> list[dict[str, object]]:
    """Company caps on 2025-10-03 for members with no cap snapshot anywhere but a QQQ weight.

    The Nasdaq-100 weights its members by company cap (modified only for the largest), so for the
    others cap_i = w_i x median_j(cap_j / w_j) over the QQQ names whose caps the snapshots give
    (carried to 2025-10-03; their ratio's interquartile range is about +-1.5%). The S&P 400 and
    600 funds' weights give no such scale (+-25% on the few names with caps), so their names stay
    without caps.
    """
    f = shared / "holdings" / "etf_holdings_qqq_iwm_mdy_spsm_2025-10.csv"
    inputs.append(f)
    h = pd.read_csv(f)
    h = h[h["fund"] == "QQQ"].assign(ticker=lambda d: d["ticker"].astype(str).map(norm))
    w = h.groupby("ticker")["weight_pct"].sum()
    day = pd.Timestamp(h["snapshot_date"].iloc[0])
    usable = screened[(screened["cap_flag"] == "") & screened["market_cap"].notna()]
    have = set(usable["ticker"])
    caps, _ = estimate_caps(tr, usable[["date", "ticker", "market_cap"]])
    pos = int(tr.index.searchsorted(day, side="left")) - 1
    on = caps.iloc[pos]
    ref = pd.concat([w, on], axis=1, keys=["w", "cap"]).dropna()
    ref = ref[ref["w"] < QQQ_REF_MAX_WEIGHT]
    scale = float((ref["cap"] / ref["w"]).median())
    out: list[dict[str, object]] = []
    for t, wt in w.items():
        if t in tr.columns and t not in have and tr[t].notna().any():
            out.append(
                {
                    "date": day,
                    "ticker": t,
                    "price": np.nan,
                    "market_cap": float(wt) * scale,
                    "source": f"company cap from QQQ holdings {day.date()} (weight x median cap/weight "
                    f"of {len(ref)} Nasdaq-100 members with snapshot caps)",
                    "cap_basis": "estimated from a fund's weight",
                    "cap_flag": "",
                }
            )
    return out


def build(shared: Path) -> dict[str, object]:
    sample, full = shared / "sample", shared / "full"
    OUT.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {"inputs": {}, "outputs": {}}
    inputs: list[Path] = []

    # --- 56 ETFs daily 2014 .. 2026: also the trading calendar
    f = sample / "etf_daily_adjclose_2014_2026.csv.gz"
    inputs.append(f)
    etf = pd.read_csv(f)
    etf_long = wide_to_long(etf, "date", "price")
    # the S&P 500 price index level itself (GSPC), for the self-check's tracking error: a fund's
    # closing price differs from its index's close by a few basis points a day
    f = full / "megacap_ohlcv_long_2010_2026.parquet"
    inputs.append(f)
    gspc = pd.read_parquet(
        f, columns=["date", "ticker", "close"], filters=[("ticker", "==", "GSPC")]
    )
    gspc = gspc[(gspc["date"] >= etf_long["date"].min()) & (gspc["date"] <= etf_long["date"].max())]
    gspc = pd.DataFrame(
        {
            "date": pd.to_datetime(gspc["date"]).astype("datetime64[ns]"),
            "ticker": "GSPC",
            "price": gspc["close"].astype(float),
        }
    )
    etf_long["date"] = etf_long["date"].astype("datetime64[ns]")
    etf_long = pd.concat([etf_long, gspc], ignore_index=True)
    etf_long = etf_long.sort_values(["ticker", "date"]).reset_index(drop=True)
    write(etf_long, "etf_daily.parquet")
    spy = pd.read_parquet(
        full / "sp500_members_and_etfs_adjclose_long.parquet",
        filters=[("ticker", "==", "SPY"), ("date", ">=", WARM_UP.to_pydatetime())],
    )
    dates = pd.DatetimeIndex(sorted(spy["date"].unique())).as_unit("ns")
    dates = dates[dates <= etf_long["date"].max()]

    # --- point-in-time membership: [start, end) per ticker, symbols as of the data's end
    f = full / "membership" / "index_constitution_sp500_history.csv"
    inputs.append(f)
    hist = pd.read_csv(f)
    hist["ticker"] = hist["symbol"].map(norm).replace(AT_DATA_END)
    members = (
        pd.DataFrame(
            {
                "ticker": hist["ticker"],
                "start": pd.to_datetime(hist["opt-in"]),
                "end": pd.to_datetime(hist["opt-out"]),
            }
        )
        .sort_values(["ticker", "start"])
        .reset_index(drop=True)
    )
    write(members, "membership.parquet")
    live = members[
        (members["end"].isna() | (members["end"] > START)) & (members["start"] <= dates[-1])
    ]
    universe = sorted(set(live["ticker"]))

    # --- daily prices of every member since START (point in time, former members included)
    tr, pr, price_notes = pit_prices(full, universe, dates, members, inputs)
    # wide (date x ticker, NaN stored as null): the loader reads it in a tenth of the time a
    # long table needs to be read and pivoted, for about 15% more bytes
    def wide(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.sort_index(axis=1).astype("float64").copy()
        frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
        return frame.rename_axis("date").reset_index()

    write(wide(tr), "prices_daily.parquet")
    write(wide(pr), "price_return_daily.parquet")

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
    issuer_of = dict(zip(sec["ticker"], sec["issuer"], strict=True))

    # --- fundamentals: all 142 snapshots of the financials history (every column)
    f = full / "sp500_constituents_financials_history.parquet"
    inputs.append(f)
    fh = pd.read_parquet(f)
    fund = pd.DataFrame(
        {
            "date": pd.to_datetime(fh["snapshot_date"]).astype("datetime64[ns]"),
            "ticker": fh["symbol"].map(norm),
            "price": fh["price"],
            "market_cap": fh["market_cap_usd"],
            "eps": fh["eps"],
            "pe": fh["pe"],
            "div_yield": fh["div_yield"],
            "price_sales": fh["price_sales"],
            "price_book": fh["price_book"],
            "ebitda": fh["ebitda_usd"],
            "source": "full/sp500_constituents_financials_history",
        }
    )
    fund = rename_old_tickers(fund, sec, full, inputs)
    fund["ticker"] = fund["ticker"].replace(AT_DATA_END).replace(SNAPSHOT_SYMBOLS)
    fund = fund.sort_values(["date", "ticker"]).reset_index(drop=True)

    # --- cap snapshots: the financials history + the quarterly file, screened
    f = full / "sp500_market_caps_quarterly_2001_2025.csv.gz"
    inputs.append(f)
    q = pd.read_csv(f)
    q = pd.DataFrame(
        {
            "date": pd.to_datetime(q["date"]).astype("datetime64[ns]"),
            "ticker": q["ticker"].map(norm).replace(AT_DATA_END).replace(SNAPSHOT_SYMBOLS),
            "price": np.nan,
            "market_cap": q["market_cap_usd"].astype(float),
            "source": "full/sp500_market_caps_quarterly_2001_2025",
        }
    )
    q = q[q["date"] >= START - pd.Timedelta(days=400)]
    q = rename_old_tickers(q, sec, full, inputs)
    hist_caps = fund[["date", "ticker", "price", "market_cap", "source"]]
    hist_caps, split_notes = split_company_level_caps(hist_caps, issuer_of)
    q["cap_basis"] = "reported"
    snaps_all = pd.concat([hist_caps, q], ignore_index=True)
    snaps_all = snaps_all.sort_values(["date", "ticker", "source"]).reset_index(drop=True)
    screened = screen_snapshots(snaps_all, tr, issuer_of)

    # --- investable weight factors from SPY's holdings of 2025-02-07
    f = shared / "holdings" / "spy_holdings_ssga_2025-02-07.csv"
    inputs.append(f)
    hold = pd.read_csv(f)
    hold = hold[hold["Ticker"].notna() & hold["Shares Held"].notna()]
    hold = pd.DataFrame(
        {
            "ticker": hold["Ticker"].map(norm).replace(HOLDINGS_TICKERS),
            "shares_held": hold["Shares Held"],
            "weight": hold["Weight"] / 100.0,
        }
    )
    hold_date = pd.Timestamp("2025-02-07")
    near = fund[fund["date"] == pd.Timestamp("2025-02-01")].set_index("ticker")
    near_split, _ = split_company_level_caps(near.reset_index(), issuer_of)
    near_split = near_split.set_index("ticker")
    shares_out = (near_split["market_cap"] / near_split["price"]).dropna()
    res = iwf_from_holdings(hold, shares_out, hold_date, source="SPY holdings 2025-02-07 (SSGA)")
    split = set(near_split.index[near_split["cap_basis"] != "reported"])
    iwf = pool_share_classes(res.table, near_split["market_cap"], issuer_of, split)
    iwf = iwf[["ticker", "date", "iwf", "raw", "source", "note"]]
    write(iwf, "float_factors.parquet")
    # members SPY holds but with no company cap near that date (BRK-B, BF-B): the fund gives
    # their float cap, k x shares held x price = k x weight x NAV, as a cap snapshot
    by_t = hold.groupby("ticker")[["shares_held", "weight"]].sum()
    nav = float((by_t["shares_held"] * near_split["price"] / by_t["weight"]).dropna().median())
    no_cap = sorted(set(hold["ticker"]) - set(shares_out.index))
    extra_caps = []
    for t in no_cap:
        if t not in tr.columns:
            continue
        w = float(by_t.loc[t, "weight"])
        extra_caps.append(
            {
                "date": hold_date + pd.Timedelta(days=1),  # the close of 02-07 anchors it
                "ticker": t,
                "price": np.nan,
                "market_cap": res.k * w * nav,
                "source": "float cap from SPY holdings 2025-02-07 (k x weight x fund NAV)",
                "cap_basis": "float-adjusted (IWF 1 applied)",
                "cap_flag": "",
            }
        )
    extra_caps += qqq_caps(shared, tr, screened, inputs)
    caps_table = pd.concat([screened, pd.DataFrame(extra_caps)], ignore_index=True)
    caps_table = caps_table.sort_values(["date", "ticker", "source"]).reset_index(drop=True)
    caps_table = caps_table[
        ["date", "ticker", "price", "market_cap", "source", "cap_basis", "cap_flag"]
    ]
    write(caps_table, "cap_snapshots.parquet")
    # fundamentals carry the screen's verdict on their own cap (h12b reads valuation from them)
    verdict = screened[screened["source"] == "full/sp500_constituents_financials_history"]
    verdict = verdict.set_index(["date", "ticker"])["cap_flag"]
    fund["cap_flag"] = [
        verdict.get((d, t), "") for d, t in zip(fund["date"], fund["ticker"], strict=True)
    ]
    write(fund, "fundamentals.parquet")

    # --- Fama-French 5 factors + momentum, daily, converted from percent to fractions
    f = sample / "ff5_mom_daily_pct_2014_2026-01.csv.gz"
    inputs.append(f)
    ff = pd.read_csv(f)
    ff["date"] = pd.to_datetime(ff["date"])
    for c in ff.columns[1:]:
        ff[c] = ff[c] / 100.0
    write(ff.sort_values("date").reset_index(drop=True), "factors_daily.parquet")

    for old in ("prices_monthly.parquet", "coverage_daily.parquet"):
        (OUT / old).unlink(missing_ok=True)
    # the per-date member coverage, computed once here from the files just written (the same
    # function the loader would run; shipping it saves the loader about 0.4 s)
    from counterweight.data.sample import load_sample

    load_sample.cache_clear()
    cov = load_sample().member_coverage
    load_sample.cache_clear()
    cov = cov.rename_axis("date").reset_index()
    cov["date"] = cov["date"].astype("datetime64[ns]")
    write(cov, "coverage_daily.parquet")
    manifest["notes"] = {
        "iwf_k": res.k,
        "spy_nav_estimate_usd": nav,
        "iwf_clipped": list(res.clipped),
        "iwf_suspect": list(res.suspect),
        "holdings_without_shares_outstanding": list(res.unmatched),
        "price_notes": price_notes,
        "share_class_notes": split_notes,
    }
    for p in sorted(set(inputs)):
        manifest["inputs"][str(p.relative_to(shared))] = file_sha256(p)  # type: ignore[index]
    for p in sorted(OUT.glob("*.parquet")):
        d = pd.read_parquet(p)
        info: dict[str, object] = {
            "rows": len(d),
            "sha256": file_sha256(p),
            "bytes": p.stat().st_size,
        }
        if "date" in d.columns:
            info["first"] = str(pd.Timestamp(d["date"].min()).date())
            info["last"] = str(pd.Timestamp(d["date"].max()).date())
        if "ticker" in d.columns:
            info["tickers"] = int(d["ticker"].nunique())
        elif p.name in ("prices_daily.parquet", "price_return_daily.parquet"):  # wide
            info["tickers"] = len(d.columns) - 1
            info["values"] = int(d.drop(columns="date").notna().to_numpy().sum())
        manifest["outputs"][p.name] = info  # type: ignore[index]
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=None)
    args = ap.parse_args()
    if args.shared is None:  # ../shared/data beside the checkout (or beside its worktree folder)
        near = [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
        args.shared = next((p for p in near if (p / "sample").is_dir()), near[0])
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
