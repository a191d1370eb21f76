"""The exposure matrix H: what one dollar of each instrument holds, issuer by issuer.

H is a sparse (instruments x columns) matrix whose row for instrument k gives the fraction of
one dollar of k held in each column:

* a stock's row is 1 in its issuer's column (share classes of one company share a column);
* a fund's row is its looked-through weights (:class:`~counterweight.exposure.models.FundLook`),
  summed by issuer, plus its non-equity remainder (cash, futures, rights) in a column of its
  own, ``cash and other in F``;
* an opaque fund's row is 1 in a column of its own, ``F (opaque)``;
* book cash is 1 in the ``cash`` column.

Every row adds up to 1, so for instrument values x (USD) the book's exposure ``e = H^T x`` adds
up to the book's value exactly. H is built once per (instruments, date) and reused for every
account (``E = X H`` for accounts x instruments values X) and by the rebalancer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from counterweight.exposure.models import FundLook, FundResolver
from counterweight.groups import default_issuer
from counterweight.market import Market, normalize_ticker

CASH = "CASH"
"""The instrument name of book cash."""
UNKNOWN_SECTOR = "Unknown"


@dataclass(frozen=True)
class ExposureMatrix:
    """Sparse H (instruments x columns), its labels, and how each fund was looked through.

    ``columns``: one row per column with ``kind`` ('issuer', 'cash', 'fund other', 'opaque'),
    ``name``, ``sector`` ('Unknown' where neither the Market nor the file says) and
    ``tickers`` (the share classes seen, joined by '+'). ``instrument_kind``: 'stock', 'fund'
    (looked through), 'opaque' or 'cash' per instrument. ``ticker_column``: the issuer column
    of every ticker seen (direct or inside a fund).
    """

    instruments: pd.Index
    columns: pd.DataFrame
    H: sp.csr_matrix
    instrument_kind: pd.Series
    looks: dict[str, FundLook]
    ticker_column: pd.Series
    as_of: pd.Timestamp
    notes: tuple[str, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, int]:
        return self.H.shape  # type: ignore[return-value]

    def exposure(self, values: np.ndarray) -> np.ndarray:
        """Exposure in USD: ``H^T x`` for values (n,), or ``X H`` for (accounts, n) values."""
        x = np.asarray(values, dtype=float)
        if x.ndim == 1:
            return np.asarray(self.H.T @ x).ravel()
        return np.asarray((self.H.T @ x.T).T)

    def issuer_mask(self) -> np.ndarray:
        return np.asarray(self.columns["kind"].to_numpy() == "issuer", dtype=bool)

    def tickers_mask(self, tickers: Iterable[str]) -> np.ndarray:
        """(columns,) mask of the issuer columns holding any of ``tickers`` (e.g. the Mag 7)."""
        wanted = [normalize_ticker(t) for t in tickers]
        cols = self.ticker_column.reindex(wanted).dropna().astype(int).unique()
        mask = np.zeros(len(self.columns), dtype=bool)
        mask[cols] = True
        return mask

    def sector_mask(self, sectors: Iterable[str]) -> np.ndarray:
        wanted = set(sectors)
        sec = self.columns["sector"].astype(str).to_numpy()
        return np.asarray(self.issuer_mask() & np.isin(sec, list(wanted)), dtype=bool)

    def row(self, instrument: str) -> pd.Series:
        """One instrument's row of H as a labelled Series (nonzero columns only)."""
        k = self.instruments.get_loc(normalize_ticker(instrument))
        r = self.H.getrow(k)
        return pd.Series(r.data, index=self.columns.index[r.indices])


def build_matrix(
    instruments: Sequence[str],
    market: Market | None,
    resolver: FundResolver,
    as_of: str | pd.Timestamp,
) -> ExposureMatrix:
    """Look every instrument through on ``as_of`` and assemble H (see the module docstring).

    An instrument is a stock when it is one of the Market's tickers, cash when it is
    :data:`CASH`, and otherwise a fund, looked through by ``resolver`` (model, file or opaque).
    """
    day = pd.Timestamp(as_of).normalize()
    names = list(dict.fromkeys(normalize_ticker(t) for t in instruments))
    sec = market.securities if market is not None else pd.DataFrame(columns=["issuer", "sector"])
    known = set(sec.index)
    sec_issuer = dict(zip(sec.index, sec["issuer"].astype(str), strict=True))
    sec_sector = dict(zip(sec.index, sec["sector"], strict=True))
    col_index: dict[str, int] = {}
    col_rows: list[dict[str, object]] = []
    col_tickers: list[list[str]] = []
    ticker_col: dict[str, int] = {}

    def column(label: str, kind: str, name: str, sector: str) -> int:
        j = col_index.get(label)
        if j is None:
            j = len(col_rows)
            col_index[label] = j
            col_rows.append({"label": label, "kind": kind, "name": name, "sector": sector})
            col_tickers.append([])
        elif col_rows[j]["sector"] == UNKNOWN_SECTOR and sector != UNKNOWN_SECTOR:
            col_rows[j]["sector"] = sector
        return j

    def issuer_column(ticker: str, file_sector: object = None, file_name: object = None) -> int:
        j = ticker_col.get(ticker)
        if j is not None:
            return j
        if ticker in known:
            issuer = sec_issuer[ticker]
            s = sec_sector[ticker]
            sector = str(s) if isinstance(s, str) and s else UNKNOWN_SECTOR
            name = issuer
        else:
            issuer = default_issuer(ticker)
            sector = (
                str(file_sector) if isinstance(file_sector, str) and file_sector else UNKNOWN_SECTOR
            )
            name = (
                str(file_name)
                if isinstance(file_name, str) and file_name and issuer == ticker
                else issuer
            )
        j = column(issuer, "issuer", name, sector)
        ticker_col[ticker] = j
        col_tickers[j].append(ticker)
        return j

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    kinds: dict[str, str] = {}
    looks: dict[str, FundLook] = {}
    notes: list[str] = []
    for k, inst in enumerate(names):
        if inst == CASH:
            j = column("cash", "cash", "cash", "Cash")
            rows.append(np.array([k]))
            cols.append(np.array([j]))
            vals.append(np.array([1.0]))
            kinds[inst] = "cash"
        elif inst in known:
            j = issuer_column(inst)
            rows.append(np.array([k]))
            cols.append(np.array([j]))
            vals.append(np.array([1.0]))
            kinds[inst] = "stock"
        else:
            look = resolver.look(inst, day)
            looks[inst] = look
            if look.opaque:
                j = column(
                    f"{inst} (opaque)", "opaque", f"{inst} (not looked through)", UNKNOWN_SECTOR
                )
                rows.append(np.array([k]))
                cols.append(np.array([j]))
                vals.append(np.array([1.0]))
                kinds[inst] = "opaque"
                notes.append(f"{inst}: {look.description}")
                continue
            kinds[inst] = "fund"
            w = look.weights
            f_sec = look.sectors.to_dict()
            f_name = look.names.to_dict()
            js = np.fromiter(
                (issuer_column(t, f_sec.get(t), f_name.get(t)) for t in w.index.astype(str)),
                dtype=np.intp,
                count=len(w),
            )
            wv = w.to_numpy(dtype=float)
            total = float(wv.sum())
            if total > 1.0:  # a file adding up to a little over 100%: scale to the fund's dollar
                wv = wv / total
                notes.append(f"{inst}: holdings add up to {100 * total:.3f}%, scaled to 100%")
            rest = 1.0 - float(wv.sum())
            rows.append(np.full(len(js), k))
            cols.append(js)
            vals.append(wv)
            if rest > 1e-15:
                j = column(
                    f"cash and other in {inst}", "fund other", f"cash and other in {inst}", "Cash"
                )
                rows.append(np.array([k]))
                cols.append(np.array([j]))
                vals.append(np.array([rest]))
    n_cols = len(col_rows)
    H = sp.csr_matrix(
        (
            np.concatenate(vals) if vals else np.empty(0),
            (
                np.concatenate(rows) if rows else np.empty(0, dtype=np.intp),
                np.concatenate(cols) if cols else np.empty(0, dtype=np.intp),
            ),
        ),
        shape=(len(names), n_cols),
    )
    H.sum_duplicates()  # share classes of one issuer inside a fund add up
    columns = (
        pd.DataFrame(col_rows).set_index("label")
        if col_rows
        else pd.DataFrame(columns=["kind", "name", "sector"])
    )
    columns["tickers"] = ["+".join(t) for t in col_tickers]
    columns.index.name = "column"
    return ExposureMatrix(
        instruments=pd.Index(names, name="instrument"),
        columns=columns,
        H=H,
        instrument_kind=pd.Series(kinds, name="kind").reindex(names),
        looks=looks,
        ticker_column=pd.Series(ticker_col, dtype=int),
        as_of=day,
        notes=tuple(notes),
    )
