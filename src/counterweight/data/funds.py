"""Fund holdings as the issuers publish them: SSGA, iShares, Invesco, Vanguard and generic files.

A holdings file lists what one fund (or several) held on one date. :func:`read_fund_file`
reads any of the layouts below into :class:`FundHoldings`, one per fund, with every line's
weight as a **fraction of the fund's net assets** and a ``kind``:

* ``equity``: a stock, looked through to its issuer;
* ``cash``: cash, money-market sweeps, currency balances (the SSGA ``US DOLLAR`` line with
  ticker ``-``, iShares ``Cash`` / ``Money Market`` asset classes, ``CASH_USD``);
* ``future``: index futures (iShares asset class ``Futures``, ``E-MINI`` / ``EMINI`` names,
  contract codes such as ``RTYZ5``);
* ``currency``: FX forwards and foreign currency lines;
* ``other``: escrows, CVRs, earn-outs and rights, which are not shares of an operating issuer.

Only ``equity`` lines are looked through; the others stay one line per fund ("cash and
derivatives in SPY"), so every dollar of a fund is accounted for and nothing is dropped.

Layouts (detected from the header row; the preamble and trailer lines are skipped):

``ssga``
    State Street (SPDR) daily holdings: ``Name, Ticker, Identifier, SEDOL, Weight, Sector,
    Shares Held, Local Currency``, Weight in percent. The issuer's download starts with
    ``Fund Name:``, ``Ticker Symbol:`` and ``Holdings:, As of 07-Feb-2025`` lines and ends with
    disclaimer lines; the copy in the project's shared data has the header on line 1.
``ishares``
    BlackRock iShares CSV: about nine preamble lines (fund name, ``Fund Holdings as of,
    "Oct 03, 2025"``, inception date, shares outstanding, ...), then ``Ticker, Name, Sector,
    Asset Class, Market Value, Weight (%), Notional Value, Quantity|Shares, Price, Location,
    Exchange, Currency, ...`` and a quoted disclaimer after a blank line.
``invesco``
    Invesco export: ``Fund Ticker, Security Identifier, Holding Ticker, Shares/Par Value,
    MarketValue, Weight, Name, Class of Shares, Sector, Date`` (Weight in percent, Date
    MM/DD/YYYY); several funds may share one file.
``vanguard``
    Vanguard "Holdings details" export: a title, ``Total World Stock ETF (VT)``, ``Equity,as of
    09/30/2020``, then ``,SEDOL,HOLDINGS,TICKER,% OF FUNDS*,SECTOR,COUNTRY,...,MARKET VALUE*,
    SHARES``; percentages may carry a ``%`` sign.
``snapshot``
    ``fund, snapshot_date, ticker, name, weight_pct`` (the project's shared
    ``etf_holdings_qqq_iwm_mdy_spsm_2025-10.csv``; several funds, weights in percent).
``generic``
    ``fund, date, ticker`` and ``weight`` (a fraction; a fund whose weights add up to between
    50 and 150 is read as percent, and said so), ``weight_pct`` / ``weight (%)`` (percent) or
    ``shares`` (with a ``price`` or ``market_value`` to turn shares into weights).

Numbers may carry thousands separators, ``$`` and ``%``. Tickers are stripped of trailing
spaces and normalised (``BRK.B`` -> ``BRK-B``). Bad input raises
:class:`~counterweight.errors.InputError` naming the file, the 1-based line and the column.

Holdings files live in the store with their date (:func:`save_to_store`,
:func:`load_from_store`); :func:`embedded_holdings` gives the files shipped with the package
(see ``counterweight/data/fund_holdings/README.md``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from counterweight.data.holdings import finite_float
from counterweight.errors import InputError
from counterweight.market import normalize_ticker

KINDS = ("equity", "cash", "future", "currency", "other")
LAYOUTS = ("ssga", "ishares", "invesco", "vanguard", "snapshot", "generic")
WEIGHT_TOLERANCE = 0.05
"""A fund's lines may add up to at most 1 + this (5 pp of rounding and accruals)."""


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9%]", "", str(name).lower())


# header keys (lower case, punctuation dropped) of each field, per layout
_ALIASES: dict[str, tuple[str, ...]] = {
    "fund": ("fund", "fundticker", "etf", "fundsymbol", "portfolio"),
    "date": ("date", "snapshotdate", "asofdate", "holdingsdate", "effectivedate"),
    "ticker": ("ticker", "holdingticker", "symbol", "tickersymbol", "issuerticker"),
    "name": ("name", "holdings", "securityname", "holding", "description", "holdingname"),
    "weight_pct": (
        "weight%",
        "weightpct",
        "weightpercent",
        "%offunds",
        "%offunds*",
        "%offund",
        "%netassets",
        "percentofnetassets",
    ),
    "weight": ("weight",),
    "shares": ("shares", "sharesheld", "quantity", "sharesparvalue", "sharespar", "nominal"),
    "market_value": ("marketvalue", "marketvalue*", "notionalvalue", "value"),
    "price": ("price",),
    "sector": ("sector",),
    "asset_class": ("assetclass", "classofshares", "securitytype", "type"),
    "currency": ("localcurrency", "currency", "marketcurrency"),
}
_CASH_TICKERS = frozenset({"USD", "CASH-USD", "CASHUSD", "USD-CASH", "XTSLA", "MONEYMARKET"})
"""Tickers that are cash whatever the name (``CASH`` alone is Pathward Financial's ticker)."""
_CASH_NAME = re.compile(
    r"\b(US DOLLARS?|U\.S\. DOLLARS?|CASH|MONEY MARKET|TREASURY SL AGENCY|TREAS(URY)? (BILL|OBLIG)|"
    r"GOVT? MONEY|LIQUIDITY FUND|SWEEP)\b",
    re.I,
)
_FUTURE_NAME = re.compile(r"\b(E-?MINI|EMINI|FUT)\b", re.I)
_CONTRACT_MONTH = re.compile(r"\b(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\s?\d{2}\b", re.I)
_FUTURE_TICKER = re.compile(r"^[A-Z]{2,3}[FGHJKMNQUVXZ]\d{1,2}$")
_FX_NAME = re.compile(r"\b(FX FORWARD|FORWARD CONTRACT|FOREIGN CURRENCY|CURRENCY CONTRACT)\b", re.I)
_OTHER_NAME = re.compile(
    r"(\bESCROW\b|\bCVR\s*$|CONTINGENT VALUE|\bEARN-?OUT\b|\bRIGHTS?\s*$|\bWARRANTS?\s*$|"
    r"\bLITIGATION\b)",
    re.I,
)
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DATE_PATTERNS = (
    re.compile(r"(\d{4}-\d{2}-\d{2})"),
    re.compile(rf"(\d{{1,2}}-(?:{_MONTHS})[A-Z]*-\d{{4}})", re.I),
    re.compile(rf"((?:{_MONTHS})[A-Z]* \d{{1,2}},? \d{{4}})", re.I),
    re.compile(r"(\d{1,2}/\d{1,2}/\d{4})"),
)


@dataclass(frozen=True)
class FundHoldings:
    """One fund's holdings on one date.

    ``lines``: one row per line of the file with ``ticker`` (normalised; '' for cash without a
    ticker), ``name``, ``weight`` (fraction of net assets), ``shares`` (NaN if not given),
    ``sector`` (as published, NaN if not) and ``kind`` (one of :data:`KINDS`).
    """

    fund: str
    date: pd.Timestamp
    lines: pd.DataFrame
    source: str = ""
    layout: str = "generic"
    notes: tuple[str, ...] = ()

    @property
    def equity(self) -> pd.Series:
        """Weights of the equity lines by ticker (share classes kept apart), fractions of NAV."""
        eq = self.lines[self.lines["kind"] == "equity"]
        return eq.groupby("ticker", sort=False)["weight"].sum()

    @property
    def non_equity(self) -> float:
        """Weight of everything that is not looked through: 1 - sum of equity weights."""
        return float(1.0 - self.equity.sum())

    def summary(self) -> str:
        eq = self.lines["kind"] == "equity"
        return (
            f"{self.fund} on {self.date.date()}: {int(eq.sum())} equity lines "
            f"({100 * self.equity.sum():.2f}%), {int((~eq).sum())} other lines ({self.layout})"
        )


# --------------------------------------------------------------------------- parsing helpers


def _number(raw: object, *, file: str, row: int, column: str) -> float:
    """'1,234.5', '$12', '6.5%', '(3)' -> float; '', '-', 'N/A' -> NaN."""
    if raw is None:
        return float("nan")
    s = str(raw).strip()
    if s in {"", "-", "--", "N/A", "n/a", "NA", "nan", "NaN"}:
        return float("nan")
    neg = s.startswith("(") and s.endswith(")")
    t = s.strip("()").replace("$", "").replace(",", "").replace("%", "").replace(" ", "")
    v = finite_float(t, raw, file=file, row=row, column=column)
    return -v if neg else v


def _parse_date(raw: str) -> pd.Timestamp | None:
    for pat in _DATE_PATTERNS:
        m = pat.search(raw)
        if m:
            try:
                return pd.Timestamp(pd.to_datetime(m.group(1))).normalize()
            except (ValueError, TypeError):
                continue
    return None


def _classify(ticker: str, name: str, asset_class: str, sector: str) -> str:
    ac = asset_class.strip().lower()
    if ac in {"cash", "money market", "cash collateral and margins", "cash and/or derivatives"}:
        return "cash"
    if ac in {"futures", "future"}:
        return "future"
    if ac in {"fx", "currency", "forwards", "fx forward"}:
        return "currency"
    if _FX_NAME.search(name):
        return "currency"
    if _FUTURE_NAME.search(name) or (
        _FUTURE_TICKER.match(ticker) and (_CONTRACT_MONTH.search(name) or "INDEX" in name.upper())
    ):
        return "future"
    if ticker in {"", "-"}:  # no ticker: cash when the name says so (SSGA's US DOLLAR line)
        return (
            "cash"
            if _CASH_NAME.search(name)
            else ("other" if _OTHER_NAME.search(name) else "equity")
        )
    plain = ticker.replace("-", "").replace("_", "")
    if ticker in _CASH_TICKERS or plain in _CASH_TICKERS:
        return "cash"
    if _CASH_NAME.search(name) and (sector.strip().lower() in {"", "-", "unassigned", "cash"}):
        return "cash"
    if sector.strip().lower().startswith("cash and/or derivatives"):
        return "cash"
    if _OTHER_NAME.search(name) or re.fullmatch(r"\d{5,}[A-Z]?", plain):
        return "other"
    return "equity"


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every CSV record, BOM and trailing blanks stripped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    reader = csv.reader(io.StringIO(text))
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            out.append((start, [c.strip() for c in cells]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", file=path, row=reader.line_num) from None
    return out


def _find_header(
    rows: list[tuple[int, list[str]]], path: Path
) -> tuple[int, dict[str, int], list[str]]:
    """Index into ``rows`` of the header, its field -> column position map, and its cells."""
    for idx, (_, cells) in enumerate(rows[:60]):
        keys = [_key(c) for c in cells]
        fields: dict[str, int] = {}
        for pos, k in enumerate(keys):
            for fieldname, aliases in _ALIASES.items():
                if k in aliases and fieldname not in fields:
                    fields[fieldname] = pos
                    break
        has_weight = any(f in fields for f in ("weight", "weight_pct", "shares"))
        if "ticker" in fields and has_weight:
            return idx, fields, cells
    raise InputError(
        "no holdings header found in the first 60 lines: expected a ticker column "
        "(Ticker, Symbol, Holding Ticker) and a weight or shares column",
        file=path,
    )


def _layout(cells: list[str], fields: dict[str, int]) -> str:
    keys = {_key(c) for c in cells}
    if "sharesheld" in keys and "identifier" in keys:
        return "ssga"
    if "holdingticker" in keys or "sharesparvalue" in keys:
        return "invesco"
    if "assetclass" in keys and "weight%" in keys:
        return "ishares"
    if "%offunds*" in keys or "%offunds" in keys:
        return "vanguard"
    if "snapshotdate" in keys and "weightpct" in keys:
        return "snapshot"
    return "generic"


def _preamble_facts(rows: list[tuple[int, list[str]]]) -> tuple[str | None, pd.Timestamp | None]:
    """Fund ticker and date stated in the lines above the header, when they are there."""
    fund: str | None = None
    date: pd.Timestamp | None = None
    for _, cells in rows:
        joined = " ".join(c for c in cells if c)
        low = joined.lower()
        if fund is None:
            if low.startswith("ticker symbol"):
                rest = [c for c in cells[1:] if c]
                if rest:
                    fund = normalize_ticker(rest[0])
            else:
                m = re.search(r"\(([A-Z]{2,6})\)", joined)
                if m:
                    fund = m.group(1)
        if date is None and ("as of" in low or "holdings:" in low):
            date = _parse_date(joined)
    return fund, date


def _fund_from_filename(path: Path) -> str | None:
    """``IVV_holdings.csv`` (iShares), ``holdings-daily-us-en-spy.xlsx`` (SSGA) -> the fund."""
    stem = path.name.split(".")[0]
    for pat in (
        r"^([A-Za-z]{2,5})[_-]holdings",
        r"holdings-daily-[a-z]{2}-[a-z]{2}-([A-Za-z]{2,5})$",
    ):
        m = re.search(pat, stem)
        if m:
            return m.group(1).upper()
    return None


# --------------------------------------------------------------------------- reading


def read_fund_file(
    path: str | Path,
    *,
    fund: str | None = None,
    date: str | pd.Timestamp | None = None,
) -> list[FundHoldings]:
    """Read a fund holdings file (any layout of the module docstring): one entry per fund.

    ``fund`` / ``date`` name the fund and the date when the file does not (an SSGA or iShares
    file without its preamble); a file that states them wins unless they disagree, which
    raises. Lines of one fund and ticker are summed.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    rows = _rows(p)
    if not rows:
        raise InputError("the file is empty", file=p)
    h, fields, header = _find_header(rows, p)
    layout = _layout(header, fields)
    pre_fund, pre_date = _preamble_facts(rows[:h])
    given_fund = normalize_ticker(fund) if fund else None
    given_date = pd.Timestamp(date).normalize() if date is not None else None
    if given_fund and pre_fund and given_fund != pre_fund:
        raise InputError(f"the file is for {pre_fund}, not {given_fund}", file=p)
    default_fund = pre_fund or given_fund or _fund_from_filename(p)
    default_date = pre_date if pre_date is not None else given_date
    if given_date is not None and pre_date is not None and given_date != pre_date:
        raise InputError(f"the file is dated {pre_date.date()}, not {given_date.date()}", file=p)
    percent = "weight_pct" in fields or layout in ("ssga", "ishares", "invesco", "vanguard")
    wcol = "weight_pct" if "weight_pct" in fields else ("weight" if "weight" in fields else None)
    name_of = {v: header[v] for v in fields.values()}

    def cell(cells: list[str], fieldname: str) -> str:
        pos = fields.get(fieldname)
        if pos is None or pos >= len(cells):
            return ""
        return cells[pos]

    records: list[dict[str, Any]] = []
    width = len(header)
    for line, cells in rows[h + 1 :]:
        filled = [c for c in cells if c]
        if not filled:
            continue  # a blank line
        if len(filled) == 1 and width >= 3:
            break  # a disclaimer or footnote: the table has ended
        ticker_raw = cell(cells, "ticker")
        name = cell(cells, "name")
        if ticker_raw.lower() in {"total", "totals"} or name.lower() in {"total", "totals"}:
            continue
        f = cell(cells, "fund") or default_fund
        if not f:
            raise InputError(
                "no fund named: the file has no fund column nor a 'Ticker Symbol:' line; "
                "pass the fund's ticker (fund=... or --fund)",
                file=p,
                row=line,
            )
        d_raw = cell(cells, "date")
        if d_raw:
            d = _parse_date(d_raw)
            if d is None:
                raise InputError(
                    f"expected a date, got '{d_raw}'",
                    file=p,
                    row=line,
                    column=name_of[fields["date"]],
                )
        elif default_date is not None:
            d = default_date
        else:
            raise InputError(
                "no date: the file has no date column nor an 'As of' line; pass the holdings "
                "date (date=... or --date)",
                file=p,
                row=line,
            )
        weight = (
            _number(cell(cells, wcol), file=str(p), row=line, column=name_of[fields[wcol]])
            if wcol
            else float("nan")
        )
        shares = (
            _number(cell(cells, "shares"), file=str(p), row=line, column=name_of[fields["shares"]])
            if "shares" in fields
            else float("nan")
        )
        value = (
            _number(
                cell(cells, "market_value"),
                file=str(p),
                row=line,
                column=name_of[fields["market_value"]],
            )
            if "market_value" in fields
            else float("nan")
        )
        price = (
            _number(cell(cells, "price"), file=str(p), row=line, column=name_of[fields["price"]])
            if "price" in fields
            else float("nan")
        )
        sector = cell(cells, "sector")
        kind = _classify(
            normalize_ticker(ticker_raw) if ticker_raw else "",
            name,
            cell(cells, "asset_class"),
            sector,
        )
        if kind == "equity" and not ticker_raw:
            raise InputError(
                f"equity line '{name}' has no ticker",
                file=p,
                row=line,
                column=name_of[fields["ticker"]],
            )
        if np.isfinite(weight) and weight < 0 and kind == "equity":
            raise InputError(
                f"negative weight ({weight:g}) for {ticker_raw}: short positions are not supported",
                file=p,
                row=line,
                column=name_of[fields[wcol]] if wcol else None,
            )
        if np.isfinite(shares) and shares < 0 and kind == "equity":
            raise InputError(
                f"negative shares ({shares:g}) for {ticker_raw}",
                file=p,
                row=line,
                column=name_of[fields["shares"]],
            )
        if not np.isfinite(value) and np.isfinite(shares) and np.isfinite(price):
            value = shares * price
        if not np.isfinite(weight) and not np.isfinite(value):
            if kind != "equity":
                weight = 0.0
            else:
                raise InputError(
                    f"line {ticker_raw} has no weight"
                    + (" and no market value (shares need a price)" if "shares" in fields else ""),
                    file=p,
                    row=line,
                    column=name_of[fields[wcol]] if wcol else None,
                )
        records.append(
            {
                "fund": normalize_ticker(f),
                "date": d,
                "ticker": normalize_ticker(ticker_raw) if ticker_raw and ticker_raw != "-" else "",
                "name": name,
                "weight": weight,
                "shares": shares,
                "value": value,
                "sector": sector if sector and sector != "-" else np.nan,
                "kind": kind,
                "row": line,
            }
        )
    if not records:
        raise InputError("no holdings lines under the header", file=p, row=rows[h][0])
    frame = pd.DataFrame.from_records(records)
    out: list[FundHoldings] = []
    for key, g in frame.groupby(["fund", "date"], sort=True):
        fk, dk = cast(tuple[Any, Any], key)
        out.append(_finish(str(fk), pd.Timestamp(dk), g, p, layout, percent, wcol))
    return out


def _finish(
    fund: str,
    date: pd.Timestamp,
    g: pd.DataFrame,
    path: Path,
    layout: str,
    percent: bool,
    wcol: str | None,
) -> FundHoldings:
    notes: list[str] = []
    w = g["weight"].to_numpy(dtype=float)
    if np.all(np.isnan(w)):  # shares (and prices) only: weights from market values
        v = g["value"].to_numpy(dtype=float)
        total = float(np.nansum(v))
        if not total > 0:
            raise InputError(f"{fund}: market values do not add up to a positive total", file=path)
        w = np.where(np.isfinite(v), v / total, 0.0)
        notes.append(f"{fund}: weights from market values (shares x price) over their total")
    else:
        if np.isnan(w).any():
            first = int(g["row"].to_numpy()[np.isnan(w)][0])
            raise InputError(f"{fund}: missing weight", file=path, row=first)
        total = float(w.sum())
        if not percent and wcol == "weight" and 50.0 <= total <= 150.0:
            percent = True
            notes.append(f"{fund}: weights add up to {total:.2f}, read as percent")
        if percent:
            w = w / 100.0
    total = float(w.sum())
    if total > 1.0 + WEIGHT_TOLERANCE:
        raise InputError(
            f"{fund} on {date.date()}: weights add up to {100 * total:.2f}% of net assets "
            f"(expected at most {100 * (1 + WEIGHT_TOLERANCE):.0f}%)"
            + ("" if percent else "; if they are percent, name the column weight_pct"),
            file=path,
        )
    lines = g.assign(weight=w)[["ticker", "name", "weight", "shares", "sector", "kind"]]
    dup = lines["kind"].eq("equity") & lines.duplicated(["ticker"], keep=False)
    if dup.any():
        notes.append(f"{fund}: {int(dup.sum())} repeated equity lines summed by ticker")
        eq = (
            lines[lines["kind"] == "equity"]
            .groupby("ticker", as_index=False, sort=False)
            .agg(
                name=("name", "first"),
                weight=("weight", "sum"),
                shares=("shares", lambda s: s.sum(min_count=1)),
                sector=("sector", "first"),
                kind=("kind", "first"),
            )
        )
        lines = pd.concat([eq, lines[lines["kind"] != "equity"]], ignore_index=True)
    return FundHoldings(
        fund=fund,
        date=date,
        lines=lines.reset_index(drop=True),
        source=str(path),
        layout=layout,
        notes=tuple(notes),
    )


def read_fund_files(paths: Iterable[str | Path]) -> list[FundHoldings]:
    """Every fund of every file, in order."""
    out: list[FundHoldings] = []
    for p in paths:
        out.extend(read_fund_file(p))
    return out


# --------------------------------------------------------------------------- embedded files


def embedded_dir() -> Path:
    return Path(str(resources.files("counterweight.data") / "fund_holdings"))


@cache
def _embedded() -> tuple[FundHoldings, ...]:
    d = embedded_dir()
    frame = pd.read_csv(d / "fund_holdings.csv.gz", dtype={"ticker": str}, keep_default_na=False)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["shares"] = pd.to_numeric(frame["shares"].replace("", np.nan))
    frame["sector"] = frame["sector"].replace("", np.nan)
    out = []
    for key, g in frame.groupby(["fund", "date"], sort=True):
        f, dt = cast(tuple[Any, Any], key)
        src = str(g["source"].iloc[0])
        lines = g[["ticker", "name", "weight", "shares", "sector", "kind"]].reset_index(drop=True)
        out.append(
            FundHoldings(
                fund=str(f), date=pd.Timestamp(dt), lines=lines, source=src, layout="embedded"
            )
        )
    return tuple(out)


def embedded_holdings() -> list[FundHoldings]:
    """The holdings files shipped with the package (provenance in ``data/fund_holdings/README.md``)."""
    return list(_embedded())


def to_long(holdings: Sequence[FundHoldings]) -> pd.DataFrame:
    """One frame of (fund, date, ticker, name, weight, shares, sector, kind, source) rows."""
    parts = [
        h.lines.assign(fund=h.fund, date=h.date, source=h.source)[
            ["fund", "date", "ticker", "name", "weight", "shares", "sector", "kind", "source"]
        ]
        for h in holdings
    ]
    if not parts:
        return pd.DataFrame(
            columns=[
                "fund",
                "date",
                "ticker",
                "name",
                "weight",
                "shares",
                "sector",
                "kind",
                "source",
            ]
        )
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- the store

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS fund_holdings (fund VARCHAR NOT NULL, date DATE NOT NULL,
    ticker VARCHAR, name VARCHAR, weight DOUBLE NOT NULL, shares DOUBLE, sector VARCHAR,
    kind VARCHAR NOT NULL, source VARCHAR)
"""


def save_to_store(store: Any, holdings: Sequence[FundHoldings]) -> int:
    """Upsert holdings into the store's ``fund_holdings`` table, keyed by (fund, date).

    A (fund, date) already in the store is replaced as a whole in one transaction, so
    importing the same file twice changes nothing. Returns the number of lines written.
    """
    long = to_long(holdings)
    long["date"] = pd.to_datetime(long["date"]).dt.date
    long = long.astype(object).where(pd.notna(long), None)
    with store.transaction() as con:
        con.execute(TABLE_SQL)
        con.register("incoming_funds", long)
        try:
            con.execute(
                "DELETE FROM fund_holdings t USING (SELECT DISTINCT fund, date FROM incoming_funds) s "
                "WHERE t.fund = s.fund AND t.date = s.date"
            )
            con.execute(
                "INSERT INTO fund_holdings SELECT fund, CAST(date AS DATE), ticker, name, "
                "CAST(weight AS DOUBLE), CAST(shares AS DOUBLE), sector, kind, source FROM incoming_funds"
            )
        finally:
            con.unregister("incoming_funds")
    return len(long)


def load_from_store(store: Any, funds: Iterable[str] | None = None) -> list[FundHoldings]:
    """Every (fund, date) held in the store (optionally only ``funds``)."""
    exists = store.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'fund_holdings'"
    ).fetchone()
    if not exists or not exists[0]:
        return []
    frame = store.con.execute("SELECT * FROM fund_holdings ORDER BY fund, date").df()
    if funds is not None:
        wanted = {normalize_ticker(f) for f in funds}
        frame = frame[frame["fund"].isin(wanted)]
    out = []
    for key, g in frame.groupby(["fund", "date"], sort=True):
        f, dt = cast(tuple[Any, Any], key)
        lines = g[["ticker", "name", "weight", "shares", "sector", "kind"]].reset_index(drop=True)
        lines["ticker"] = lines["ticker"].fillna("")
        out.append(
            FundHoldings(
                fund=str(f),
                date=pd.Timestamp(dt),
                lines=lines,
                source=str(g["source"].iloc[0]),
                layout="store",
            )
        )
    return out


@dataclass
class HoldingsLibrary:
    """Dated holdings of many funds; :meth:`latest` picks the file on or before a date."""

    files: list[FundHoldings] = field(default_factory=list)

    def add(self, holdings: Iterable[FundHoldings]) -> HoldingsLibrary:
        self.files.extend(holdings)
        return self

    @property
    def funds(self) -> list[str]:
        return sorted({h.fund for h in self.files})

    def latest(self, fund: str, as_of: str | pd.Timestamp | None = None) -> FundHoldings | None:
        """The most recent holdings of ``fund`` dated on or before ``as_of`` (None: newest).

        Files added later win over earlier ones of the same (fund, date).
        """
        f = normalize_ticker(fund)
        cut = None if as_of is None else pd.Timestamp(as_of).normalize()
        best: FundHoldings | None = None
        for h in self.files:
            if h.fund != f or (cut is not None and h.date > cut):
                continue
            if best is None or h.date >= best.date:
                best = h
        return best

    def earliest_date(self, fund: str) -> pd.Timestamp | None:
        dates = [h.date for h in self.files if h.fund == normalize_ticker(fund)]
        return min(dates) if dates else None


def default_library(
    store: Any | None = None, extra: Iterable[FundHoldings] = ()
) -> HoldingsLibrary:
    """The embedded files, then the store's, then ``extra`` (later ones win on equal dates)."""
    lib = HoldingsLibrary(list(embedded_holdings()))
    if store is not None:
        lib.add(load_from_store(store))
    lib.add(extra)
    return lib
