"""The one in-memory model of a market: aligned (dates x tickers) arrays plus what they came from.

A :class:`Market` holds, on one trading-date axis and one ticker axis:

* ``prices``: total-return prices (dividends reinvested), NaN where a ticker has no price;
* ``caps``: market capitalisation in USD, NaN where unknown, with ``caps_estimated`` flagging
  values estimated between snapshots (see :mod:`counterweight.data.caps`);
* ``members``: the point-in-time index membership mask;
* the security master (name, issuer, sector, industry) and the issuer of each ticker, so that
  share classes of one company (GOOG + GOOGL) are counted once;
* optional side tables: fundamentals snapshots, reference ETF prices (``benchmarks``) and
  Fama-French factors, each on its own date axis;
* :class:`Provenance`: sources, as-of date and caveats, carried into every result.

Kernels elsewhere take the numpy arrays; the frame accessors give labelled pandas views.
A Market is treated as immutable: slicing returns a new Market sharing no mutable state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError, InputError

SECURITY_COLUMNS = ("name", "issuer", "sector", "industry")


@dataclass(frozen=True)
class Provenance:
    """Where a Market's numbers come from, so every report can say it.

    ``sources`` are human-readable source lines, ``caveats`` the known limits of the data
    (survivorship, estimated caps, ...), ``as_of`` the last date with data.
    """

    sources: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    as_of: pd.Timestamp | None = None
    name: str = "custom"

    def with_caveats(self, *extra: str) -> Provenance:
        merged = tuple(dict.fromkeys((*self.caveats, *extra)))
        return replace(self, caveats=merged)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sources": list(self.sources),
            "caveats": list(self.caveats),
            "as_of": None if self.as_of is None else self.as_of.date().isoformat(),
        }


def normalize_ticker(symbol: str) -> str:
    """Canonical ticker spelling: upper case, class separators ('.', '/', '_', ' ') as '-'.

    ``BRK.B``, ``BRK/B``, ``BRK_B`` and ``brk-b`` all become ``BRK-B``.
    """
    s = str(symbol).strip().upper()
    for sep in (".", "/", "_", " "):
        s = s.replace(sep, "-")
    return s


@dataclass(frozen=True, eq=False)
class Market:
    """Aligned panel of a market. Build it with :meth:`from_frames` (or a loader)."""

    dates: pd.DatetimeIndex
    tickers: pd.Index
    prices: np.ndarray  # (T, N) float64 total-return prices
    caps: np.ndarray  # (T, N) float64 USD, NaN unknown
    caps_estimated: np.ndarray  # (T, N) bool
    members: np.ndarray  # (T, N) bool point-in-time membership
    securities: pd.DataFrame  # index ticker; columns name, issuer, sector, industry
    fundamentals: pd.DataFrame = field(default_factory=pd.DataFrame)  # long: date, ticker, ...
    benchmarks: pd.DataFrame = field(default_factory=pd.DataFrame)  # date x ETF TR prices
    factors: pd.DataFrame = field(default_factory=pd.DataFrame)  # date x factor, fractions
    provenance: Provenance = field(default_factory=Provenance)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frames(
        cls,
        prices: pd.DataFrame,
        *,
        caps: pd.DataFrame | None = None,
        caps_estimated: pd.DataFrame | None = None,
        members: pd.DataFrame | None = None,
        securities: pd.DataFrame | None = None,
        fundamentals: pd.DataFrame | None = None,
        benchmarks: pd.DataFrame | None = None,
        factors: pd.DataFrame | None = None,
        provenance: Provenance | None = None,
    ) -> Market:
        """Align labelled frames onto the price panel's (dates x tickers) axes.

        ``prices`` is wide (DatetimeIndex x tickers). ``caps`` / ``members`` are reindexed onto
        it (missing caps are NaN; a missing membership frame means every ticker is a member
        on every date it has a price). ``securities`` is indexed by ticker; missing issuers
        default to the ticker itself, missing sectors to NaN.
        """
        if not isinstance(prices.index, pd.DatetimeIndex):
            raise InputError("prices must be indexed by date (a DatetimeIndex)")
        prices = prices.sort_index()
        if prices.index.has_duplicates:
            dup = prices.index[prices.index.duplicated()][0]
            raise InputError(f"duplicate date {dup.date()} in prices")
        if prices.columns.has_duplicates:
            dup = prices.columns[prices.columns.duplicated()][0]
            raise InputError(f"duplicate ticker {dup} in prices")
        dates = pd.DatetimeIndex(prices.index).normalize()
        dates.name = "date"
        tickers = pd.Index([str(t) for t in prices.columns], name="ticker")
        # C order (row-major): kernels walk the panel date by date in row blocks
        px = np.array(prices.to_numpy(dtype=np.float64), dtype=np.float64, order="C")
        px[~np.isfinite(px)] = np.nan
        shape = px.shape

        def aligned(frame: pd.DataFrame | None, fill: Any, dtype: Any) -> np.ndarray:
            if frame is None:
                return np.full(shape, fill, dtype=dtype)
            f = frame.copy()
            f.index = pd.DatetimeIndex(f.index).normalize()
            f.columns = [str(c) for c in f.columns]
            out = f.reindex(index=dates, columns=tickers)
            if dtype is bool:
                return np.array(out.fillna(fill).to_numpy(dtype=bool), dtype=bool, order="C")
            return np.array(out.to_numpy(dtype=dtype), dtype=dtype, order="C")

        cap = aligned(caps, np.nan, np.float64)
        cap[~np.isfinite(cap)] = np.nan
        est = aligned(caps_estimated, False, bool) & np.isfinite(cap)
        mem = np.isfinite(px) if members is None else aligned(members, False, bool)

        sec = pd.DataFrame(index=tickers)
        if securities is not None:
            s = securities.copy()
            s.index = pd.Index([str(t) for t in s.index])
            sec = s.reindex(tickers)
        for col in SECURITY_COLUMNS:
            if col not in sec.columns:
                sec[col] = np.nan
        issuer = sec["issuer"].astype(object)
        missing = issuer.isna() | (issuer.astype(str).str.strip() == "")
        sec["issuer"] = issuer.where(~missing, pd.Series(tickers, index=tickers))
        sec.index.name = "ticker"

        prov = provenance or Provenance()
        if prov.as_of is None and len(dates):
            prov = replace(prov, as_of=dates[-1])
        return cls(
            dates=dates,
            tickers=tickers,
            prices=px,
            caps=cap,
            caps_estimated=est,
            members=mem,
            securities=sec,
            fundamentals=pd.DataFrame() if fundamentals is None else fundamentals,
            benchmarks=pd.DataFrame() if benchmarks is None else benchmarks,
            factors=pd.DataFrame() if factors is None else factors,
            provenance=prov,
        )

    @classmethod
    def from_store(cls, *args: Any, **kwargs: Any) -> NoReturn:
        """Removed: the model knows no store. Use ``counterweight.data.market_from_store``."""
        raise AttributeError(
            "Market.from_store was removed (the model knows no store): use "
            "counterweight.data.market_from_store(path) or Store(path, read_only=True).market()"
        )

    # ------------------------------------------------------------------ shape and views
    @property
    def shape(self) -> tuple[int, int]:
        return self.prices.shape  # type: ignore[return-value]

    @cached_property
    def returns(self) -> np.ndarray:
        """Simple daily total returns r_t = P_t / P_{t-1} - 1, shape (T, N).

        NaN on the first date and wherever either price is missing: a gap is never bridged
        into one multi-day return silently (use :meth:`returns_bridged` for that).
        """
        r = np.full(self.prices.shape, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            r[1:] = self.prices[1:] / self.prices[:-1] - 1.0
        return r

    @cached_property
    def issuer_codes(self) -> np.ndarray:
        """Integer issuer id of each ticker (N,), indexing :attr:`issuers`."""
        codes, _ = pd.factorize(self.securities["issuer"].astype(str), sort=False)
        return codes.astype(np.intp)

    @cached_property
    def issuers(self) -> pd.Index:
        """Issuer names, in the order of :attr:`issuer_codes`."""
        _, uniques = pd.factorize(self.securities["issuer"].astype(str), sort=False)
        return pd.Index(uniques, name="issuer")

    @property
    def sectors(self) -> pd.Series:
        """GICS sector per ticker (NaN where unknown)."""
        return self.securities["sector"]

    def frame(self, array: np.ndarray) -> pd.DataFrame:
        """Label a (T, N) array with this market's dates and tickers."""
        return pd.DataFrame(array, index=self.dates, columns=self.tickers)

    def prices_frame(self) -> pd.DataFrame:
        return self.frame(self.prices)

    def returns_frame(self) -> pd.DataFrame:
        return self.frame(self.returns)

    def caps_frame(self) -> pd.DataFrame:
        return self.frame(self.caps)

    def members_frame(self) -> pd.DataFrame:
        return self.frame(self.members)

    # ------------------------------------------------------------------ issuers
    def to_issuers(self, array: np.ndarray) -> np.ndarray:
        """Sum a (T, N) ticker array into a (T, I) issuer array (NaN counts as 0; all-NaN -> NaN).

        Caps of several share classes add up to the issuer's cap: the loaders split a snapshot
        that carries the whole company's cap on each class, so nothing is counted twice.
        """
        t = array.shape[0]
        out = np.zeros((t, len(self.issuers)))
        seen = np.zeros((t, len(self.issuers)), dtype=bool)
        finite = np.isfinite(array)
        vals = np.where(finite, array, 0.0)
        np.add.at(out.T, self.issuer_codes, vals.T)
        np.logical_or.at(seen.T, self.issuer_codes, finite.T)
        out[~seen] = np.nan
        return out

    def issuer_members(self) -> np.ndarray:
        """(T, I) mask: an issuer is a member on a date if any of its classes is."""
        out = np.zeros((self.members.shape[0], len(self.issuers)), dtype=bool)
        np.logical_or.at(out.T, self.issuer_codes, self.members.T)
        return out

    # ------------------------------------------------------------------ weights
    def member_caps(self, issuer_level: bool = False) -> np.ndarray:
        """Caps of index members (non-members and unknown caps are NaN), (T, N) or (T, I)."""
        caps = np.where(self.members & np.isfinite(self.caps), self.caps, np.nan)
        return self.to_issuers(caps) if issuer_level else caps

    def cap_weights_array(self, issuer_level: bool = False) -> np.ndarray:
        """Cap weights of members on every date: w_{t,i} = cap_{t,i} / sum_j cap_{t,j}.

        Members without a cap get NaN and are left out of the denominator; dates without any
        cap are all NaN.
        """
        caps = self.member_caps(issuer_level)
        total = np.nansum(caps, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = caps / total
        w[~np.isfinite(w)] = np.nan
        return w

    def cap_weights(
        self, date: str | pd.Timestamp | None = None, *, issuer_level: bool = False
    ) -> pd.Series:
        """Cap weights of the members on ``date`` (default: last date), summing to 1."""
        i = self.date_position(date)
        w = self.cap_weights_array(issuer_level)[i]
        labels = self.issuers if issuer_level else self.tickers
        s = pd.Series(w, index=labels, name=self.dates[i])
        return s.dropna()

    # ------------------------------------------------------------------ slicing
    def date_position(self, date: str | pd.Timestamp | None) -> int:
        """Index of the last trading date on or before ``date`` (None: the last date)."""
        if len(self.dates) == 0:
            raise DataUnavailableError("the market has no dates")
        if date is None:
            return len(self.dates) - 1
        ts = pd.Timestamp(date)
        pos = int(self.dates.searchsorted(ts, side="right")) - 1
        if pos < 0:
            raise DataUnavailableError(
                f"{ts.date()} is before the first date with data ({self.dates[0].date()})"
            )
        return pos

    def slice(
        self, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None
    ) -> Market:
        """The market restricted to start <= date <= end (either bound optional)."""
        lo = 0 if start is None else int(self.dates.searchsorted(pd.Timestamp(start), side="left"))
        hi = (
            len(self.dates)
            if end is None
            else int(self.dates.searchsorted(pd.Timestamp(end), side="right"))
        )
        if hi <= lo:
            raise DataUnavailableError(
                f"no trading dates between {start} and {end} "
                f"(data covers {self.dates[0].date()} .. {self.dates[-1].date()})"
            )
        sl = slice(lo, hi)
        new_dates = self.dates[sl]

        def side(frame: pd.DataFrame, keep_history: bool) -> pd.DataFrame:
            if frame.empty:
                return frame
            if "date" in frame.columns:  # long tables (fundamentals): keep snapshots up to end
                d = pd.to_datetime(frame["date"])
                return frame[d <= new_dates[-1]]
            idx = pd.DatetimeIndex(frame.index)
            keep = idx <= new_dates[-1]
            if not keep_history:
                keep &= idx >= new_dates[0]
            return frame[keep]

        return replace(
            self,
            dates=new_dates,
            prices=self.prices[sl],
            caps=self.caps[sl],
            caps_estimated=self.caps_estimated[sl],
            members=self.members[sl],
            fundamentals=side(self.fundamentals, True),
            benchmarks=side(self.benchmarks, False),
            factors=side(self.factors, False),
            provenance=replace(self.provenance, as_of=new_dates[-1]),
        )

    def universe(self, tickers: Iterable[str]) -> Market:
        """The market restricted to ``tickers`` (in the given order). Unknown tickers raise."""
        wanted = [normalize_ticker(t) for t in tickers]
        missing = [t for t in wanted if t not in self.tickers]
        if missing:
            raise DataUnavailableError(f"tickers not in the market: {', '.join(missing[:10])}")
        pos = self.tickers.get_indexer(pd.Index(wanted))
        fund = self.fundamentals
        if not fund.empty and "ticker" in fund.columns:
            fund = fund[fund["ticker"].isin(wanted)]
        return replace(
            self,
            tickers=pd.Index(wanted, name="ticker"),
            prices=self.prices[:, pos],
            caps=self.caps[:, pos],
            caps_estimated=self.caps_estimated[:, pos],
            members=self.members[:, pos],
            securities=self.securities.iloc[pos],
            fundamentals=fund,
        )

    def members_on(self, date: str | pd.Timestamp | None = None) -> list[str]:
        """Tickers that are index members on ``date`` (default: last date)."""
        i = self.date_position(date)
        return list(self.tickers[self.members[i]])

    def ever_members(self) -> Market:
        """Only the tickers that are members on at least one date."""
        keep = np.asarray(self.members.any(axis=0), dtype=bool)
        return self.universe(list(self.tickers[keep]))

    def with_members(self, members: np.ndarray | pd.DataFrame) -> Market:
        """A copy with another membership mask (an array (T, N) or a labelled frame)."""
        if isinstance(members, pd.DataFrame):
            mem = (
                members.reindex(index=self.dates, columns=self.tickers).fillna(False).to_numpy(bool)
            )
        else:
            mem = np.asarray(members, dtype=bool)
            if mem.shape != self.prices.shape:
                raise InputError(
                    f"membership mask has shape {mem.shape}, expected {self.prices.shape}"
                )
        return replace(self, members=mem)

    # ------------------------------------------------------------------ summaries
    def coverage(self) -> dict[str, Any]:
        """Coverage facts for ``counterweight data info``: ranges, counts, missing shares."""
        t, n = self.prices.shape
        mem = self.members
        member_cells = int(mem.sum())
        missing_px = int((mem & ~np.isfinite(self.prices)).sum())
        missing_cap = int((mem & ~np.isfinite(self.caps)).sum())
        est = int((mem & self.caps_estimated).sum())
        out: dict[str, Any] = {
            "dates": t,
            "start": None if t == 0 else self.dates[0].date().isoformat(),
            "end": None if t == 0 else self.dates[-1].date().isoformat(),
            "tickers": n,
            "issuers": len(self.issuers),
            "members_last_date": int(mem[-1].sum()) if t else 0,
            "member_cells": member_cells,
            "missing_price_share_of_member_cells": missing_px / member_cells
            if member_cells
            else float("nan"),
            "missing_cap_share_of_member_cells": missing_cap / member_cells
            if member_cells
            else float("nan"),
            "estimated_cap_share_of_member_cells": est / member_cells
            if member_cells
            else float("nan"),
            "sectors": int(self.securities["sector"].nunique()),
            "fundamentals_rows": len(self.fundamentals),
            "benchmarks": list(map(str, self.benchmarks.columns)),
            "benchmarks_range": (
                None
                if self.benchmarks.empty
                else [str(self.benchmarks.index[0].date()), str(self.benchmarks.index[-1].date())]
            ),
            "factors": list(map(str, self.factors.columns)),
            "factors_range": (
                None
                if self.factors.empty
                else [str(self.factors.index[0].date()), str(self.factors.index[-1].date())]
            ),
        }
        return out

    def __repr__(self) -> str:
        t, n = self.prices.shape
        span = "" if t == 0 else f" {self.dates[0].date()}..{self.dates[-1].date()}"
        return f"Market({self.provenance.name}: {t} dates x {n} tickers{span})"


def tickers_in(market: Market, tickers: Sequence[str]) -> np.ndarray:
    """Boolean mask (N,) of the market's tickers that are in ``tickers`` (normalised)."""
    wanted = {normalize_ticker(t) for t in tickers}
    return np.array([t in wanted for t in market.tickers], dtype=bool)
