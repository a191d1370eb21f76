"""A book of funds and stocks looked through: values, exposure, and where each dollar comes from.

:func:`book_values` prices the holdings (instrument values per account, USD);
:func:`lookthrough` builds the exposure matrix once and returns a :class:`LookThrough` holding
the exposure of the whole book (and of each account), issuer by issuer, split by source
(``direct`` for stocks held directly, then each fund).

Prices, in order: the holdings file's market value, its price column, the Market's total-return
close on the as-of date (stocks), the last close of the Market's reference ETF series on or
before the as-of date (funds: ``market.benchmarks``). Those closes are dividend-adjusted: on
the last date of the data they are the traded prices, earlier they are lower by the dividends
paid since, so give a price column for exact dollars on an earlier date.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from counterweight.data.holdings import Holdings
from counterweight.errors import DataUnavailableError, InputError
from counterweight.exposure.matrix import CASH, ExposureMatrix, build_matrix
from counterweight.exposure.models import FundResolver
from counterweight.market import Market

DIRECT = "direct"


@dataclass(frozen=True)
class BookValues:
    """Instrument values per account (USD) with cash as the last instrument :data:`CASH`."""

    values: pd.DataFrame  # accounts x instruments (incl. CASH)
    prices: pd.Series  # instrument -> price used (NaN where market values were given)
    price_source: dict[str, str]
    as_of: pd.Timestamp

    @property
    def total(self) -> pd.Series:
        return self.values.sum(axis=0)


def fund_price(market: Market | None, ticker: str, day: pd.Timestamp) -> tuple[float, str]:
    """(last close of ``ticker`` in the Market's reference ETF series on or before ``day``, its
    source in words); (NaN, '') when the Market has no such series."""
    if market is None or market.benchmarks.empty or ticker not in market.benchmarks.columns:
        return float("nan"), ""
    s = market.benchmarks[ticker]
    s = s[(s.index <= day) & s.notna()]
    if s.empty:
        return float("nan"), ""
    return float(s.iloc[-1]), f"the Market's reference ETF close of {s.index[-1].date()}"


def book_values(
    holdings: Holdings, market: Market | None, as_of: str | pd.Timestamp | None = None
) -> BookValues:
    """Value every position: market value, else shares x price (see the module docstring)."""
    if as_of is not None:
        day = pd.Timestamp(as_of).normalize()
    elif market is not None:
        day = market.dates[-1]
    else:
        day = pd.Timestamp.today().normalize()
    pos = holdings.positions
    tickers = list(dict.fromkeys(pos["ticker"].astype(str)))
    prices: dict[str, float] = {}
    source: dict[str, str] = {}
    i = market.date_position(day) if market is not None else None
    for t in tickers:
        px = float("nan")
        if market is not None and i is not None and t in market.tickers:
            px = float(market.prices[i, market.tickers.get_loc(t)])
            if np.isfinite(px):
                source[t] = f"the Market's total-return close of {market.dates[i].date()}"
        if not np.isfinite(px):
            px, src = fund_price(market, t, day)
            if src:
                source[t] = src
        prices[t] = px
    accounts = pd.Index(holdings.accounts.astype(str), name="account")
    cells = np.zeros((len(accounts), len(tickers) + 1))
    col = {t: j for j, t in enumerate(tickers)}
    p_acc = pos["account"].astype(str).to_numpy()
    p_tk = pos["ticker"].astype(str).to_numpy()
    p_sh = pos["shares"].to_numpy(dtype=float)
    p_px = pos["price"].to_numpy(dtype=float)
    p_mv = pos["market_value"].to_numpy(dtype=float)
    for a, t, sh, own, mv0 in zip(p_acc, p_tk, p_sh, p_px, p_mv, strict=True):
        mv = float(mv0)
        if not np.isfinite(mv):
            px = own if np.isfinite(own) else prices[t]
            if np.isfinite(own):
                source[t] = "the holdings file's price column"
            if not np.isfinite(px):
                raise InputError(
                    f"no price for held {t} on {day.date()}: it is neither a Market ticker "
                    "nor one of its reference ETFs; add a price or market value column",
                    file=holdings.source or None,
                )
            mv = float(sh) * px
        else:
            source.setdefault(t, "the holdings file's market value")
        cells[accounts.get_loc(a), col[t]] += mv
    cells[:, -1] = holdings.cash.to_numpy(dtype=float)
    values = pd.DataFrame(cells, index=accounts, columns=[*tickers, CASH])
    if not (cells[:, -1] != 0).any():
        values = values.drop(columns=CASH)
    return BookValues(
        values=values,
        prices=pd.Series(prices, dtype=float),
        price_source=source,
        as_of=day,
    )


@dataclass(frozen=True)
class LookThrough:
    """The book's exposure on ``as_of``.

    ``matrix``: H; ``values``: instrument values; ``exposure``: (accounts x columns) USD =
    X H; ``by_source``: (sources x columns) USD for the whole book, sources 'direct', 'cash'
    and each fund; everything adds up to ``total`` (the book's value, USD).
    """

    matrix: ExposureMatrix
    values: BookValues
    exposure: np.ndarray
    by_source: pd.DataFrame
    as_of: pd.Timestamp
    notes: tuple[str, ...] = field(default=())

    @property
    def total(self) -> float:
        return float(self.values.values.to_numpy().sum())

    @property
    def book(self) -> pd.Series:
        """USD per column for the whole book."""
        return pd.Series(self.exposure.sum(axis=0), index=self.matrix.columns.index)

    def weights(self) -> pd.Series:
        """Fraction of the whole book per column (adds up to 1)."""
        total = self.total
        if not total > 0:
            raise DataUnavailableError("the book has no value")
        return self.book / total

    def account_weights(self) -> pd.DataFrame:
        """Fraction of each account per column (accounts x columns)."""
        tot = self.values.values.sum(axis=1).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(tot[:, None] > 0, self.exposure / tot[:, None], np.nan)
        return pd.DataFrame(w, index=self.values.values.index, columns=self.matrix.columns.index)


def source_of(matrix: ExposureMatrix) -> pd.Series:
    """The source label of each instrument: 'direct' for stocks, 'cash', or the fund itself."""
    kind = matrix.instrument_kind
    src = pd.Series(matrix.instruments, index=matrix.instruments, dtype=object)
    src[kind == "stock"] = DIRECT
    src[kind == "cash"] = "cash"
    return src


def lookthrough(
    holdings: Holdings,
    market: Market | None,
    resolver: FundResolver,
    as_of: str | pd.Timestamp | None = None,
) -> LookThrough:
    """Price the holdings, build H once for every instrument held, and expose the book."""
    bv = book_values(holdings, market, as_of)
    m = build_matrix(list(bv.values.columns), market, resolver, bv.as_of)
    X = bv.values.reindex(columns=m.instruments).to_numpy(dtype=float)
    E = m.exposure(X)
    src = source_of(m)
    labels = list(dict.fromkeys(src.tolist()))
    codes = pd.Index(labels).get_indexer(src.to_numpy())
    G = sp.csr_matrix(
        (X.sum(axis=0), (codes, np.arange(len(codes)))), shape=(len(labels), len(codes))
    )
    S = np.asarray((G @ m.H).todense())
    by_source = pd.DataFrame(S, index=pd.Index(labels, name="source"), columns=m.columns.index)
    notes = list(m.notes)
    for how in bv.price_source.values():
        if "reference ETF" in how or "total-return" in how:
            notes.append(
                "prices: dividend-adjusted closes from the Market (traded prices on the data's "
                "last date; give a price column for exact dollars on earlier dates)"
            )
            break
    return LookThrough(
        matrix=m, values=bv, exposure=E, by_source=by_source, as_of=bv.as_of, notes=tuple(notes)
    )
