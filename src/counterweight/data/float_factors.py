"""Investable weight factors (IWF): the float-adjusted share of each company's cap.

S&P weights its indices by float-adjusted caps, ``float cap = IWF x company cap`` with
``0 < IWF <= 1`` the share of a company's shares available to investors (S&P Dow Jones Indices,
*Float Adjustment Methodology*). This module turns the three kinds of evidence a user may have
into one long table ``(ticker, date, iwf, source)``, each row valid from ``date`` until the
ticker's next row:

* an IWF file (``date, ticker, iwf``): used as given, checked to lie in (0, 1];
* an index-shares file (``date, ticker, index_shares``): IWF = index shares / shares outstanding;
* a fund's holdings with shares held (an index fund holds each member in proportion to its
  index shares): :func:`iwf_from_holdings`.

:func:`iwf_panel` aligns the table on a (dates x tickers) grid for the Market.

Holdings method
---------------
A full-replication index fund holds ``S_i = N_i / k`` shares of member i, with ``N_i`` the index
(float-adjusted) shares and one fund-wide constant ``k`` (index divisor over fund size). With the
shares outstanding ``O_i`` from a cap snapshot on (or near) the holdings date,

    r_i = S_i / O_i,    IWF_i = k r_i,    k = 1 / median{ r_j : r_j in the top cluster }.

The top cluster is the set of names with ``r_j >= q`` of the upper quantile ``q`` of r (default:
the median of the upper half): most large US companies have an IWF of (nearly) 1, so the scale
is set there. Factors above 1 (share counts that disagree, classes counted differently) are
clipped to 1 and reported; factors below ``min_iwf`` are reported as suspect and kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from counterweight.errors import InputError
from counterweight.market import normalize_ticker

MIN_IWF = 0.05
"""Below this an IWF is reported as suspect (S&P excludes companies with a float under 10%)."""


@dataclass(frozen=True)
class HoldingsIwf:
    """Result of :func:`iwf_from_holdings`: the factors, the scale k and what was adjusted."""

    table: pd.DataFrame  # ticker, date, iwf, raw, source
    k: float
    clipped: tuple[str, ...]  # raw factor > 1, set to 1
    suspect: tuple[str, ...]  # factor < MIN_IWF
    unmatched: tuple[str, ...]  # holdings without shares outstanding: no factor


def iwf_from_holdings(
    holdings: pd.DataFrame,
    shares_outstanding: pd.Series,
    date: pd.Timestamp | str,
    *,
    source: str = "fund holdings",
    min_iwf: float = MIN_IWF,
) -> HoldingsIwf:
    """IWF of each held name from a fund's shares held and the shares outstanding.

    ``holdings``: columns ticker, shares_held. ``shares_outstanding``: indexed by ticker (same
    spelling, normalised). See the module docstring for the method.
    """
    frame = holdings.copy()
    frame["ticker"] = frame["ticker"].map(normalize_ticker)
    h: pd.Series = frame.groupby("ticker", sort=True)["shares_held"].sum()
    out = shares_outstanding.copy()
    out.index = pd.Index([normalize_ticker(t) for t in out.index])
    out = out[~out.index.duplicated()]
    both = h.index.intersection(out.index[np.isfinite(out.to_numpy(float)) & (out > 0)])
    unmatched = tuple(sorted(set(h.index) - set(both)))
    r = (h.reindex(both) / out.reindex(both)).astype(float)
    r = r[np.isfinite(r) & (r > 0)]
    if r.empty:
        raise InputError(
            "no holding matches a ticker with shares outstanding: cannot scale the IWF"
        )
    vals = np.sort(r.to_numpy(dtype=float))
    upper = vals[vals >= np.median(vals)]
    k = 1.0 / float(np.median(upper[upper >= np.median(upper)]))
    raw = k * r
    iwf = raw.clip(upper=1.0)
    clipped = tuple(sorted(str(t) for t in raw.index[(raw > 1.0).to_numpy()]))
    suspect = tuple(sorted(str(t) for t in iwf.index[(iwf < min_iwf).to_numpy()]))
    table = pd.DataFrame(
        {
            "ticker": iwf.index,
            "date": pd.Timestamp(date),
            "iwf": iwf.to_numpy(),
            "raw": raw.to_numpy(),
            "source": source,
        }
    ).reset_index(drop=True)
    return HoldingsIwf(table=table, k=k, clipped=clipped, suspect=suspect, unmatched=unmatched)


def read_float_file(path: str | Path, shares_outstanding: pd.Series | None = None) -> pd.DataFrame:
    """Read an IWF or index-shares file (CSV or Parquet) into ``(ticker, date, iwf, source)``.

    Columns: ``date`` (valid from), ``ticker`` and either ``iwf`` (a fraction in (0, 1]; a column
    named ``iwf_pct`` is percent) or ``index_shares`` (then ``shares_outstanding`` per ticker is
    needed, from the file's ``shares_outstanding`` column or the argument). A holdings file with
    ``shares_held`` (and a date column, or the date in the file name) goes through
    :func:`iwf_from_holdings`. Bad values raise :class:`InputError` naming file, row and column.
    """
    from counterweight.data.importers import find_column, read_table

    p = Path(path)
    frame, csv_like = read_table(p)
    cols = list(frame.columns)

    def row(i: int) -> int:
        return i + 2 if csv_like else i + 1

    tcol = find_column(cols, "ticker")
    if tcol is None:
        raise InputError("no ticker column (expected 'ticker' or 'symbol')", file=p)
    dcol = find_column(cols, "date")
    lower = {c.strip().lower().replace(" ", "_"): c for c in cols}
    if dcol is None:
        found = _date_in_name(p.name)
        if found is None:
            raise InputError("no date column and no YYYY-MM-DD date in the file name", file=p)
        dates = pd.Series(found, index=frame.index)
    else:
        dates = pd.to_datetime(frame[dcol], errors="coerce")
        bad = dates.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"expected a date, got {frame[dcol].iloc[i]!r}", file=p, row=row(i), column=dcol
            )
    tickers = frame[tcol].astype(str).map(normalize_ticker)

    def numbers(col: str) -> pd.Series:
        v = pd.to_numeric(frame[col], errors="coerce")
        bad = v.isna() | ~np.isfinite(v.to_numpy(float))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"expected a number, got {frame[col].iloc[i]!r}", file=p, row=row(i), column=col
            )
        return v.astype(float)

    if "iwf" in lower or "iwf_pct" in lower:
        col = lower.get("iwf", lower.get("iwf_pct"))
        assert col is not None
        v = numbers(col) / (100.0 if col == lower.get("iwf_pct") else 1.0)
        bad = (v <= 0) | (v > 1)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"an IWF must be in (0, 1], got {frame[col].iloc[i]!r}",
                file=p,
                row=row(i),
                column=col,
            )
        out = pd.DataFrame({"ticker": tickers, "date": dates, "iwf": v, "source": str(p.name)})
    elif "index_shares" in lower:
        idx = numbers(lower["index_shares"])
        if "shares_outstanding" in lower:
            so = numbers(lower["shares_outstanding"])
        elif shares_outstanding is not None:
            so = tickers.map(shares_outstanding).astype(float)
        else:
            raise InputError(
                "an index-shares file needs shares outstanding: add a 'shares_outstanding' column",
                file=p,
            )
        v = idx / so
        bad = ~np.isfinite(v.to_numpy(float)) | (v <= 0) | (v > 1.0 + 1e-9)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"index shares / shares outstanding must be in (0, 1], got {v.iloc[i]!r}",
                file=p,
                row=row(i),
                column=lower["index_shares"],
            )
        out = pd.DataFrame(
            {"ticker": tickers, "date": dates, "iwf": v.clip(upper=1.0), "source": str(p.name)}
        )
    elif "shares_held" in lower:
        if shares_outstanding is None:
            raise InputError(
                "a holdings file gives IWFs only with shares outstanding (import caps first)",
                file=p,
            )
        held = numbers(lower["shares_held"])
        res = iwf_from_holdings(
            pd.DataFrame({"ticker": tickers, "shares_held": held}),
            shares_outstanding,
            dates.iloc[0],
            source=str(p.name),
        )
        out = res.table[["ticker", "date", "iwf", "source"]]
    else:
        raise InputError(
            "expected an 'iwf', 'iwf_pct', 'index_shares' or 'shares_held' column", file=p
        )
    dup = out.duplicated(["ticker", "date"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"duplicate ticker {out['ticker'].iloc[i]} on {out['date'].iloc[i].date()}",
            file=p,
            row=row(i),
        )
    return out.sort_values(["ticker", "date"]).reset_index(drop=True)


def _date_in_name(name: str) -> pd.Timestamp | None:
    import re

    m = re.search(r"(\d{4}-\d{2}-\d{2})", name)
    return None if m is None else pd.Timestamp(m.group(1))


def iwf_panel(
    table: pd.DataFrame,
    dates: pd.DatetimeIndex,
    tickers: pd.Index,
    *,
    before_first: str = "one",
) -> np.ndarray:
    """(T, N) IWF on every date: each row of ``table`` holds from its date to the next row.

    ``before_first``: "one" gives 1 (company caps) before a ticker's first factor; "first"
    carries the first factor backwards (for a single measurement meant to describe the whole
    history, as for the embedded data, stated in its caveats). Tickers without a factor get 1.
    """
    if before_first not in ("one", "first"):
        raise ValueError(f"before_first must be 'one' or 'first', not {before_first!r}")
    out = np.full((len(dates), len(tickers)), np.nan)
    if not table.empty:
        t = table[table["ticker"].isin(tickers)].sort_values("date", kind="stable")
        rows = dates.searchsorted(pd.DatetimeIndex(t["date"]), side="left")
        cols = tickers.get_indexer(pd.Index(t["ticker"]))
        vals = t["iwf"].to_numpy(float)
        inside = rows < len(dates)
        out[rows[inside], cols[inside]] = vals[inside]
        frame = pd.DataFrame(out).ffill()
        if before_first == "first":
            frame = frame.bfill()
        out = np.array(frame.to_numpy(), dtype=np.float64)
    out[~np.isfinite(out)] = 1.0
    return np.ascontiguousarray(out)


def pool_share_classes(
    table: pd.DataFrame, caps: pd.Series, issuer_of: dict[str, str], split: set[str]
) -> pd.DataFrame:
    """Factors of share classes whose caps are a company cap split equally among the classes.

    Such a class's "shares outstanding" is half (a third, ...) the company's, not its own, so
    its raw factor is its float relative to an equal split and may exceed 1 (News Corp's A
    class has twice the B class's shares). For those tickers (``split``), the issuer's
    factor ``sum_i raw_i cap_i / sum_i cap_i`` is the IWF proper; each class keeps its raw
    factor scaled so that the issuer's factor is at most 1, so the class float caps add up to
    the issuer's float cap. Other rows are returned unchanged. Adds a ``note`` column.
    """
    out = table.copy()
    if "note" not in out.columns:
        out["note"] = ""
    rows = out["ticker"].isin(split)
    if not rows.any():
        return out
    sub = out[rows]
    issuer = _issuers(sub["ticker"], issuer_of)
    c = sub["ticker"].map(caps).astype(float)
    whole = (sub["raw"] * c).groupby(issuer).transform("sum") / c.groupby(issuer).transform("sum")
    scale = np.minimum(1.0, 1.0 / whole)
    out.loc[rows, "iwf"] = (sub["raw"] * scale).to_numpy()
    out.loc[rows, "note"] = [
        f"class of a company cap split equally; issuer factor {min(w, 1.0):.3f}" for w in whole
    ]
    return out


def _issuers(tickers: pd.Series, issuer_of: Mapping[str, str]) -> pd.Series:
    """Issuer of each ticker (the ticker itself where unknown), vectorised."""
    mapped = tickers.map(dict(issuer_of))
    return mapped.astype(object).where(mapped.notna(), tickers).astype(str)
