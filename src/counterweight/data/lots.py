"""Import tax lots and accounts (CSV or Parquet) for the tax-aware household rebalance.

A **lots file** has one row per tax lot: account, ticker, lot id (optional: the row's order in
its position), shares, a cost basis either per share (``cost_basis`` / ``basis_per_share`` /
``unit_cost``) or in total (``total_cost`` / ``cost_basis_total``), the acquisition date and
optionally a current price. Cash rows (ticker ``CASH`` / ``USD``, shares read as dollars) give
the account's cash.

An **accounts file** has one row per account: account, household, type and optionally cash.
Types: ``taxable`` (brokerage, individual, joint, trust), ``deferred`` (IRA, traditional IRA,
rollover IRA, SEP IRA, 401k, 403b, tax-deferred) and ``exempt`` (Roth, Roth IRA, Roth 401k, HSA,
tax-exempt). Every lot's account must be in the accounts file.

Column names are matched case- and punctuation-insensitively. Bad input raises
:class:`~counterweight.errors.InputError` naming the file, row (the header is row 1) and column.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from counterweight.data.holdings import CASH_TICKERS
from counterweight.errors import InputError
from counterweight.market import normalize_ticker

ACCOUNT_TYPES = ("taxable", "deferred", "exempt")

LOT_ALIASES: dict[str, tuple[str, ...]] = {
    "account": ("account", "accountnumber", "accountid", "acct", "portfolio"),
    "ticker": ("ticker", "symbol"),
    "lot_id": ("lot", "lotid", "lotnumber", "taxlot", "taxlotid"),
    "shares": ("shares", "quantity", "qty", "units"),
    "basis": ("costbasis", "basispershare", "unitcost", "costpershare", "basis"),
    "total_basis": ("totalcost", "costbasistotal", "totalcostbasis", "totalbasis"),
    "acquired": ("acquired", "acquisitiondate", "dateacquired", "opendate", "tradedate", "date"),
    "price": ("price", "lastprice", "currentprice", "close"),
}
ACCOUNT_ALIASES: dict[str, tuple[str, ...]] = {
    "account": ("account", "accountnumber", "accountid", "acct", "portfolio"),
    "household": ("household", "householdid", "client", "clientid", "family"),
    "type": ("type", "accounttype", "taxtype", "registration"),
    "cash": ("cash", "cashbalance", "cashusd"),
}
TYPE_ALIASES: dict[str, str] = {
    **{k: "taxable" for k in ("taxable", "brokerage", "individual", "joint", "trust")},
    **{
        k: "deferred"
        for k in (
            "deferred",
            "taxdeferred",
            "ira",
            "traditionalira",
            "rolloverira",
            "sepira",
            "simpleira",
            "401k",
            "403b",
            "457b",
        )
    },
    **{k: "exempt" for k in ("exempt", "taxexempt", "roth", "rothira", "roth401k", "hsa")},
}
_CASH = frozenset(re.sub(r"[^A-Z0-9$]", "", c) for c in CASH_TICKERS)
LOT_COLUMNS = ["account", "ticker", "lot_id", "shares", "basis", "acquired", "price"]


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _columns(frame: pd.DataFrame, aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    cols: dict[str, str] = {}
    for col in frame.columns:
        k = _key(col)
        for field, names in aliases.items():
            if k in names and field not in cols:
                cols[field] = str(col)
    return cols


def _read(path: str | Path) -> tuple[pd.DataFrame, str]:
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    try:
        if p.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(p), str(p)
        return pd.read_csv(p, dtype=str, keep_default_na=False), str(p)
    except Exception as exc:  # the user's file, not our bug
        raise InputError(f"cannot read the file ({type(exc).__name__}: {exc})", file=p) from None


def _texts(values: pd.Series) -> pd.Series:
    """Strings stripped, missing as '' (vectorised)."""
    return values.astype("string").fillna("").str.strip().astype(object)


def _text(raw: object) -> str:
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return ""
    return str(raw).strip()


def _numbers(values: pd.Series, file: str, column: str, first_row: int) -> np.ndarray:
    """Parse a column of '$1,234.5' style numbers; '' -> NaN; a non-number names its row."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        out = values.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(out)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                "expected a finite number", file=file, row=first_row + i, column=column
            )
        return out
    s = _texts(values)
    neg = s.str.startswith("(") & s.str.endswith(")")
    clean = s.str.strip("()").str.replace(r"[$,\s]", "", regex=True)
    out = pd.to_numeric(clean.where(clean != "", None), errors="coerce").to_numpy(dtype=float)
    bad = (np.isnan(out) & (clean != "").to_numpy()) | np.isinf(out)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"expected a number, got '{values.iloc[i]}'",
            file=file,
            row=first_row + i,
            column=column,
        )
    return np.where(neg.to_numpy(), -out, out)


def _dates(values: pd.Series, file: str, column: str, first_row: int) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = (
            pd.DatetimeIndex(values).tz_localize(None)
            if getattr(values.dt, "tz", None)
            else pd.DatetimeIndex(values)
        )
        if out.isna().any():
            i = int(np.argmax(out.isna()))
            raise InputError(
                "expected an acquisition date, got nothing",
                file=file,
                row=first_row + i,
                column=column,
            )
        return out.to_numpy(dtype="datetime64[ns]")
    s = _texts(values)
    parsed = pd.to_datetime(s.where(s != "", None), errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"expected an acquisition date (YYYY-MM-DD), got '{values.iloc[i]}'",
            file=file,
            row=first_row + i,
            column=column,
        )
    return parsed.to_numpy(dtype="datetime64[ns]")


@dataclass(frozen=True)
class Lots:
    """Tax lots and cash of accounts.

    ``lots``: one row per lot, columns account, ticker, lot_id, shares (> 0), basis (USD per
    share, >= 0), acquired (datetime64), price (USD per share from the file, NaN if absent).
    ``cash``: USD per account given by cash rows (accounts without cash rows are absent).
    """

    lots: pd.DataFrame
    cash: pd.Series
    source: str = ""


@dataclass(frozen=True)
class Accounts:
    """Accounts indexed by account id: household, type (taxable / deferred / exempt), cash USD."""

    table: pd.DataFrame
    source: str = ""

    @property
    def households(self) -> pd.Index:
        return pd.Index(pd.unique(self.table["household"]), name="household")


def load_lots(path: str | Path, accounts: Collection[str] | None = None) -> Lots:
    """Read a lots file (see the module docstring); ``accounts``: keep only these accounts
    (a Parquet file is filtered while it is read, so a worker holds only its households)."""
    p = Path(path)
    if accounts is not None and p.suffix.lower() in {".parquet", ".pq"} and p.exists():
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(p)
        except Exception as exc:
            raise InputError(
                f"cannot read the file ({type(exc).__name__}: {exc})", file=p
            ) from None
        names = pf.schema_arrow.names
        acol = next((c for c in names if _key(c) in LOT_ALIASES["account"]), None)
        if acol is None:
            raise InputError("no account column (expected account)", file=p)
        wanted = sorted(map(str, accounts))
        groups = _row_groups(pf, names.index(acol), wanted[0], wanted[-1]) if wanted else []
        table = pf.read_row_groups(groups) if groups else pf.schema_arrow.empty_table()
        frame = table.to_pandas()
        keep = frame[acol].astype(str).isin(set(wanted)).to_numpy()
        return lots_from_frame(frame[keep], str(p))
    frame, source = _read(path)
    if accounts is not None:
        cols = _columns(frame, LOT_ALIASES)
        if "account" in cols:
            keep = _texts(frame[cols["account"]]).isin(set(map(str, accounts)))
            frame = frame[keep.to_numpy()]
    return lots_from_frame(frame, source)


def _row_groups(pf: Any, column: int, lo: str, hi: str) -> list[int]:
    """Row groups whose account statistics overlap [lo, hi] (all when statistics are absent),
    so a file written in household order is read only where a partition's accounts are."""
    out = []
    for i in range(pf.metadata.num_row_groups):
        st = pf.metadata.row_group(i).column(column).statistics
        if st is None or not st.has_min_max or (str(st.min) <= hi and str(st.max) >= lo):
            out.append(i)
    return out


def lots_from_frame(frame: pd.DataFrame, source: str = "<frame>") -> Lots:
    """Validate a raw lots frame (see the module docstring). Rows are numbered as in the file
    (header row 1) from the frame's position, so a filtered frame keeps its original rows."""
    cols = _columns(frame, LOT_ALIASES)
    for need, hint in (
        ("account", "account"),
        ("ticker", "ticker or symbol"),
        ("shares", "shares or quantity"),
        ("acquired", "acquired or acquisition_date"),
    ):
        if need not in cols:
            raise InputError(
                f"no {need} column (expected {hint}); found {', '.join(map(str, frame.columns))}",
                file=source,
            )
    if "basis" not in cols and "total_basis" not in cols:
        raise InputError(
            "need a cost basis column: cost_basis (per share) or total_cost (per lot)", file=source
        )
    if pd.api.types.is_integer_dtype(frame.index):
        rows = np.asarray(frame.index, dtype=np.int64) + 2
    else:
        rows = np.arange(len(frame), dtype=np.int64) + 2
    frame = frame.reset_index(drop=True)
    account = _texts(frame[cols["account"]])
    ticker_raw = _texts(frame[cols["ticker"]])

    def where(mask: np.ndarray, message: str, column: str) -> None:
        if mask.any():
            i = int(np.argmax(mask))
            raise InputError(message, file=source, row=int(rows[i]), column=column)

    where((account == "").to_numpy(), "empty account", cols["account"])
    where((ticker_raw == "").to_numpy(), "empty ticker", cols["ticker"])
    try:
        shares = _numbers(frame[cols["shares"]], source, cols["shares"], 0)
    except InputError as exc:  # _numbers reports positions; name the file row
        raise InputError(
            exc.detail, file=source, row=int(rows[exc.row or 0]), column=cols["shares"]
        ) from None
    is_cash = (
        ticker_raw.str.upper().str.replace(r"[^A-Z0-9$]", "", regex=True).isin(_CASH).to_numpy()
    )
    where(np.isnan(shares), "expected a number of shares", cols["shares"])
    where(~is_cash & (shares <= 0), "shares must be positive (no short lots)", cols["shares"])
    where(is_cash & (shares < 0), "negative cash: margin is not supported", cols["shares"])
    cash = pd.Series(shares[is_cash], index=account[is_cash].to_numpy(), dtype=float)
    cash = cash.groupby(level=0).sum()
    keep = ~is_cash
    lots_rows = rows[keep]
    sub = frame[keep].reset_index(drop=True)
    sh = shares[keep]

    def numbers(col: str) -> np.ndarray:
        try:
            return _numbers(sub[col], source, col, 0)
        except InputError as exc:
            raise InputError(
                exc.detail, file=source, row=int(lots_rows[exc.row or 0]), column=col
            ) from None

    if "basis" in cols:
        basis = numbers(cols["basis"])
        bcol = cols["basis"]
        if "total_basis" in cols:
            total = numbers(cols["total_basis"])
            basis = np.where(np.isnan(basis), total / sh, basis)
    else:
        bcol = cols["total_basis"]
        basis = numbers(bcol) / sh
    m = np.isnan(basis)
    if m.any():
        i = int(np.argmax(m))
        raise InputError("missing cost basis", file=source, row=int(lots_rows[i]), column=bcol)
    m = basis < 0
    if m.any():
        i = int(np.argmax(m))
        raise InputError(
            f"cost basis must be >= 0, got {basis[i]:g}",
            file=source,
            row=int(lots_rows[i]),
            column=bcol,
        )
    try:
        acquired = _dates(sub[cols["acquired"]], source, cols["acquired"], 0)
    except InputError as exc:
        raise InputError(
            exc.detail, file=source, row=int(lots_rows[exc.row or 0]), column=cols["acquired"]
        ) from None
    price = numbers(cols["price"]) if "price" in cols else np.full(len(sub), np.nan)
    m = ~np.isnan(price) & (price <= 0)
    if m.any():
        i = int(np.argmax(m))
        raise InputError(
            f"price must be positive, got {price[i]:g}",
            file=source,
            row=int(lots_rows[i]),
            column=cols["price"],
        )
    acct = account[keep].to_numpy().astype(str)
    raw_t = ticker_raw[keep].to_numpy()
    norm = {t: normalize_ticker(t) for t in pd.unique(raw_t)}
    tick = np.array([norm[t] for t in raw_t], dtype=object)
    if "lot_id" in cols:
        lot_id = _texts(sub[cols["lot_id"]]).to_numpy().astype(str)
    else:
        lot_id = np.array([str(r) for r in lots_rows], dtype=object).astype(str)
    out = pd.DataFrame(
        {
            "account": acct,
            "ticker": tick.astype(str),
            "lot_id": lot_id,
            "shares": sh,
            "basis": basis,
            "acquired": acquired,
            "price": price,
        }
    )
    dup = out.duplicated(["account", "ticker", "lot_id"]).to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise InputError(
            f"lot {lot_id[i]} of {acct[i]} {tick[i]} appears twice",
            file=source,
            row=int(lots_rows[i]),
            column=cols.get("lot_id", cols["ticker"]),
        )
    cash.index.name = "account"
    return Lots(lots=out, cash=cash.rename("cash"), source=source)


def load_accounts(path: str | Path) -> Accounts:
    """Read an accounts file (account, household, type, optional cash)."""
    frame, source = _read(path)
    return accounts_from_frame(frame, source)


def accounts_from_frame(frame: pd.DataFrame, source: str = "<frame>") -> Accounts:
    cols = _columns(frame, ACCOUNT_ALIASES)
    for need in ("account", "household", "type"):
        if need not in cols:
            raise InputError(
                f"no {need} column; found {', '.join(map(str, frame.columns))}", file=source
            )
    frame = frame.reset_index(drop=True)
    acct = _texts(frame[cols["account"]])
    hh = frame[cols["household"]].map(_text)
    typ_raw = frame[cols["type"]].map(_text)
    for series, col, what in ((acct, "account", "account"), (hh, "household", "household")):
        m = (series == "").to_numpy()
        if m.any():
            raise InputError(
                f"empty {what}", file=source, row=int(np.argmax(m)) + 2, column=cols[col]
            )
    typ = typ_raw.map(lambda t: TYPE_ALIASES.get(_key(t), ""))
    m = (typ == "").to_numpy()
    if m.any():
        i = int(np.argmax(m))
        raise InputError(
            f"unknown account type '{typ_raw.iloc[i]}' (expected taxable, IRA / 401k "
            "(tax-deferred) or Roth (tax-exempt))",
            file=source,
            row=i + 2,
            column=cols["type"],
        )
    dup = acct.duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise InputError(
            f"account {acct.iloc[i]} appears twice", file=source, row=i + 2, column=cols["account"]
        )
    cash = (
        _numbers(frame[cols["cash"]], source, cols["cash"], 2)
        if "cash" in cols
        else np.zeros(len(frame))
    )
    cash = np.where(np.isnan(cash), 0.0, cash)
    m = cash < 0
    if m.any():
        i = int(np.argmax(m))
        raise InputError(
            "negative cash: margin is not supported", file=source, row=i + 2, column=cols["cash"]
        )
    if not len(frame):
        raise InputError("no accounts found", file=source)
    table = pd.DataFrame(
        {"household": hh.to_numpy().astype(str), "type": typ.to_numpy().astype(str), "cash": cash},
        index=pd.Index(acct.to_numpy().astype(str), name="account"),
    )
    return Accounts(table=table, source=source)


def check_lots_accounts(lots: Lots, accounts: Accounts) -> None:
    """Every lot's account must be listed in the accounts file."""
    known = accounts.table.index
    missing = sorted((set(lots.lots["account"]) | set(map(str, lots.cash.index))) - set(known))
    if len(missing):
        raise InputError(
            f"accounts not in the accounts file ({accounts.source}): {', '.join(map(str, missing[:5]))}",
            file=lots.source,
        )
