"""Import account holdings (CSV or Parquet) from common broker export layouts.

A holdings file has one row per position: an account, a ticker, and either a share count or a
market value (USD), optionally a price. Cash is a row whose ticker is a cash word (``CASH``,
``USD``, ``$CASH``, ``Cash & Cash Investments``, ...) or whose ``type`` column says cash; its
market value (or its share count, read as dollars) is the account's cash.

Column names are matched case- and punctuation-insensitively against the aliases in
:data:`COLUMN_ALIASES` (``Symbol``, ``Quantity``, ``Market Value``, ``Account Number``, ...).
Numbers may carry ``$``, thousands separators, or accounting parentheses for negatives.
Several rows of one (account, ticker) (tax lots) are summed. A file without an account
column is one account named ``"default"``. Rows named ``Total`` / ``Account Total`` are skipped.

Bad input raises :class:`~counterweight.errors.InputError` naming the file, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from counterweight.data.importers import NULL_SPELLINGS, THOUSANDS_PATTERN, one_line_errors
from counterweight.errors import InputError
from counterweight.market import normalize_ticker

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "account": (
        "account",
        "accountnumber",
        "accountno",
        "accountid",
        "accountname",
        "acct",
        "acctno",
        "portfolio",
        "portfolioid",
    ),
    "ticker": ("ticker", "symbol", "tickersymbol", "securitysymbol", "instrument"),
    "shares": ("shares", "quantity", "qty", "units", "position", "sharesheld", "quantityheld"),
    "market_value": (
        "marketvalue",
        "mktvalue",
        "mktval",
        "value",
        "currentvalue",
        "positionvalue",
        "marketvalueusd",
        "valueusd",
    ),
    "price": ("price", "lastprice", "last", "close", "currentprice", "priceusd", "marketprice"),
    "type": ("type", "assettype", "securitytype", "securitytypedescription", "assetclass"),
}

CASH_TICKERS: frozenset[str] = frozenset(
    {
        "CASH",
        "USD",
        "$CASH",
        "CASH-USD",
        "CASHANDCASHINVESTMENTS",
        "CASH&CASHINVESTMENTS",
        "MONEYMARKET",
        "CASHSWEEP",
        "SWEEP",
    }
)
CASH_TYPES: frozenset[str] = frozenset(
    {"cash", "cashandmoneymarket", "cashequivalent", "moneymarket"}
)
TOTAL_ROWS: frozenset[str] = frozenset({"TOTAL", "ACCOUNTTOTAL", "TOTALS", "GRANDTOTAL"})
DEFAULT_ACCOUNT = "default"
_CASH_KEYS = frozenset(re.sub(r"[^A-Z0-9]", "", c) for c in CASH_TICKERS)


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class Holdings:
    """Positions and cash of one or more accounts.

    ``positions``: one row per (account, ticker) with ``shares`` (float, >= 0), ``price``
    (USD per share from the file, NaN if not given) and ``market_value`` (USD from the file,
    NaN if not given). ``cash``: USD cash per account (0 where none was given), indexed by
    every account in the file.
    """

    positions: pd.DataFrame
    cash: pd.Series
    source: str = ""

    @property
    def accounts(self) -> pd.Index:
        return pd.Index(self.cash.index, name="account")

    @property
    def tickers(self) -> pd.Index:
        return pd.Index(sorted(self.positions["ticker"].unique()), name="ticker")

    def __len__(self) -> int:
        return len(self.positions)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str = "<frame>") -> Holdings:
        """Validate a raw frame (broker column names allowed) into Holdings; errors count rows
        as in a CSV of the frame (header = row 1)."""
        return _parse(frame.set_axis(pd.RangeIndex(2, len(frame) + 2), axis=0), source)


@one_line_errors
def load_holdings(path: str | Path) -> Holdings:
    """Read a holdings CSV or Parquet file (see the module docstring for the layout).

    The file is read by :func:`counterweight.data.importers.read_table`, so empty or duplicate
    column names, rows with missing or extra fields, non-UTF-8 text and truncated gzip files
    are refused with the row, as for every importer.
    """
    from counterweight.data.importers import read_table

    p = Path(path)
    frame, _ = read_table(p, default_csv=True)
    return _parse(frame, str(p))


MAX_SHARES_HELD = 1e12
"""Shares of one position; more than any listed company has outstanding (about 3e10)."""
MAX_VALUE_USD = 1e13
"""Market value of one position or an account's cash, USD (the largest company is about 5e12)."""
MAX_PRICE_USD = 1e7
"""Price per share, USD (the dearest US share, BRK-A, is below 1e6)."""
HOLDING_TICKER = re.compile(r"^[A-Z0-9^$][A-Z0-9\-=^$*#]{0,31}$")


def _bounded(value: float, limit: float, what: str, *, file: str, row: int, column: str) -> float:
    if np.isfinite(value) and abs(value) > limit:
        raise InputError(
            f"{what} {value:g} is implausibly large (at most {limit:g})",
            file=file,
            row=row,
            column=column,
        )
    return value


def _number(raw: object, *, file: str, row: int, column: str) -> float:
    """Parse '$1,234.50', '(12.5)', '12%'-free numbers; '' or NaN -> NaN."""
    if raw is None:
        return float("nan")
    if isinstance(raw, (bool, np.bool_)):
        raise InputError(f"expected a number, got '{raw}'", file=file, row=row, column=column)
    if isinstance(raw, (int, float, np.integer, np.floating)):
        v = float(raw)
        if np.isinf(v):
            raise InputError(
                f"expected a finite number, got '{raw}'", file=file, row=row, column=column
            )
        return v
    s = str(raw).strip()
    if s.upper() in {"", "-", "--", "N/A", "NA", "NAN", "NULL", "NONE", "<NA>"}:
        return float("nan")
    neg = s.startswith("(") and s.endswith(")")
    s = s.strip("()").replace("$", "").replace(" ", "")
    if "," in s:
        if not THOUSANDS_PATTERN.match(s):
            raise InputError(
                f"expected a number, got '{raw}' (decimal point '.', thousands ',')",
                file=file,
                row=row,
                column=column,
            )
        s = s.replace(",", "")
    v = finite_float(s, raw, file=file, row=row, column=column)
    return -v if neg else v


def finite_float(text: str, raw: object, *, file: str, row: int, column: str) -> float:
    """``float(text)``, which must be finite; else an :class:`InputError` quoting ``raw`` (the
    cell as written) at ``file``, ``row``, ``column``. Shared by the broker and fund readers."""
    try:
        v = float(text)
    except ValueError:
        raise InputError(
            f"expected a number, got '{raw}'", file=file, row=row, column=column
        ) from None
    if not np.isfinite(v):
        raise InputError(
            f"expected a finite number, got '{raw}'", file=file, row=row, column=column
        )
    return v


def _parse(frame: pd.DataFrame, source: str) -> Holdings:
    cols: dict[str, str] = {}
    keys: dict[str, str] = {}
    for col in frame.columns:
        k = _key(col)
        if k and k in keys:
            raise InputError(
                f"columns '{keys[k]}' and '{col}' name the same field; keep one",
                file=source,
                row=1,
                column=str(col),
            )
        keys[k] = str(col)
        for field, aliases in COLUMN_ALIASES.items():
            if k in aliases and field not in cols:
                cols[field] = str(col)
    if "ticker" not in cols:
        raise InputError(
            f"no ticker column (expected one of: ticker, symbol); found {', '.join(map(str, frame.columns))}",
            file=source,
        )
    if "shares" not in cols and "market_value" not in cols:
        raise InputError(
            "need a shares column (shares, quantity, qty) or a market value column (market value, value)",
            file=source,
        )
    rows: list[tuple[str, str, float, float, float]] = []
    cash: dict[str, float] = {}
    accounts: list[str] = []
    rows_of = (
        [int(r) for r in frame.index]
        if pd.api.types.is_integer_dtype(frame.index)
        else list(range(2, len(frame) + 2))
    )
    for i, rec in zip(rows_of, frame.to_dict("records"), strict=True):
        raw_t = rec.get(cols["ticker"])
        ticker_raw = (
            ""
            if raw_t is None or (not isinstance(raw_t, str) and bool(pd.isna(raw_t)))
            else str(raw_t).strip()
        )
        if ticker_raw in NULL_SPELLINGS:
            ticker_raw = ""
        account = DEFAULT_ACCOUNT
        if "account" in cols:
            a = rec.get(cols["account"])
            account = (
                "" if a is None or (not isinstance(a, str) and bool(pd.isna(a))) else str(a).strip()
            )
            if not account:
                if not ticker_raw:
                    continue  # blank line
                raise InputError("empty account", file=source, row=i, column=cols["account"])
        if _key(ticker_raw).upper() in TOTAL_ROWS or _key(account).upper() in TOTAL_ROWS:
            continue
        if account not in cash:
            cash[account] = 0.0
            accounts.append(account)
        shares = (
            _number(rec.get(cols["shares"]), file=source, row=i, column=cols["shares"])
            if "shares" in cols
            else float("nan")
        )
        value = (
            _number(rec.get(cols["market_value"]), file=source, row=i, column=cols["market_value"])
            if "market_value" in cols
            else float("nan")
        )
        price = (
            _number(rec.get(cols["price"]), file=source, row=i, column=cols["price"])
            if "price" in cols
            else float("nan")
        )
        shares = _bounded(
            shares, MAX_SHARES_HELD, "shares", file=source, row=i, column=cols.get("shares", "")
        )
        value = _bounded(
            value,
            MAX_VALUE_USD,
            "market value",
            file=source,
            row=i,
            column=cols.get("market_value", ""),
        )
        price = _bounded(
            price, MAX_PRICE_USD, "price", file=source, row=i, column=cols.get("price", "")
        )
        typ = _key(rec.get(cols["type"], "")) if "type" in cols else ""
        is_cash = _key(ticker_raw).upper() in _CASH_KEYS or typ in CASH_TYPES
        if not ticker_raw and not is_cash:
            if np.isnan(shares) and np.isnan(value):
                continue  # an empty line of a broker export
            raise InputError("empty ticker", file=source, row=i, column=cols["ticker"])
        if is_cash:
            amount = value if np.isfinite(value) else shares
            if not np.isfinite(amount):
                raise InputError("cash row without an amount", file=source, row=i)
            _bounded(amount, MAX_VALUE_USD, "cash", file=source, row=i, column=cols["ticker"])
            cash[account] += amount
            continue
        if not HOLDING_TICKER.match(normalize_ticker(ticker_raw)):
            raise InputError(
                f"not a ticker: {ticker_raw!r}", file=source, row=i, column=cols["ticker"]
            )
        if np.isfinite(price) and price <= 0:
            raise InputError(
                f"price must be positive, got {price}", file=source, row=i, column=cols["price"]
            )
        if not np.isfinite(shares):
            if not np.isfinite(value):
                raise InputError(
                    f"position {ticker_raw} has neither shares nor market value", file=source, row=i
                )
        elif shares < 0:
            raise InputError(
                f"negative shares ({shares:g}) for {ticker_raw}: short positions are not supported",
                file=source,
                row=i,
                column=cols["shares"],
            )
        if np.isfinite(value) and value < 0:
            raise InputError(
                f"negative market value for {ticker_raw}: short positions are not supported",
                file=source,
                row=i,
                column=cols["market_value"],
            )
        rows.append((account, normalize_ticker(ticker_raw), shares, price, value))
    for account, amount in cash.items():
        if amount < 0:
            raise InputError(
                f"account {account} has negative cash ({amount:,.2f}): margin is not supported",
                file=source,
            )
    if not rows and not cash:
        raise InputError("no positions found", file=source)
    pos = pd.DataFrame(rows, columns=["account", "ticker", "shares", "price", "market_value"])
    if pos.duplicated(["account", "ticker"]).any():
        # tax lots: sum shares and values; keep the (first) price
        pos = pos.groupby(["account", "ticker"], sort=False, as_index=False).agg(
            shares=("shares", lambda s: s.sum(min_count=1)),
            price=("price", "first"),
            market_value=("market_value", lambda s: s.sum(min_count=1)),
        )
    pos = pos.reset_index(drop=True)
    cash_s = pd.Series(cash, dtype=float).reindex(accounts)
    cash_s.index.name = "account"
    cash_s.name = "cash"
    return Holdings(positions=pos, cash=cash_s, source=source)
