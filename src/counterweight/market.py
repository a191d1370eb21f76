"""The one in-memory model of a market: aligned (dates x tickers) arrays plus what they came from.

A :class:`Market` holds, on one trading-date axis and one ticker axis:

* ``prices``: total-return prices (dividends reinvested), NaN where a ticker has no price;
* ``caps``: market capitalisation in USD on the market's cap ``basis``, NaN where unknown, with
  ``caps_estimated`` flagging values estimated between snapshots (see
  :mod:`counterweight.data.caps`) and ``cap_age`` the age in days of the snapshot behind each;
* ``basis``: ``"float"`` (the default when investable weight factors are known: caps are
  ``IWF x company cap``, as S&P weights its indices) or ``"company"`` (full company caps);
  ``company_caps`` and ``iwf`` keep both sides, :meth:`Market.with_basis` switches;
* ``price_return``: price-return closes (dividends not reinvested) where the source has them,
  beside the total-return ``prices`` (see :meth:`Market.breadth_prices`);
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
    cap_basis: str = "company"
    data_end: pd.Timestamp | None = None  # last date with prices in the data (before any slice)

    @property
    def cap_basis_label(self) -> str:
        """One line for reports: which caps weight the index."""
        return (
            "float-adjusted caps (IWF x company cap)"
            if self.cap_basis == "float"
            else "company-level caps (not float-adjusted)"
        )

    def with_caveats(self, *extra: str) -> Provenance:
        merged = tuple(dict.fromkeys((*self.caveats, *extra)))
        return replace(self, caveats=merged)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sources": list(self.sources),
            "caveats": list(self.caveats),
            "as_of": None if self.as_of is None else self.as_of.date().isoformat(),
            "cap_basis": self.cap_basis,
            "data_end": None if self.data_end is None else self.data_end.date().isoformat(),
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
    company_caps: np.ndarray | None = None  # (T, N) company-level caps; None: same as caps
    iwf: np.ndarray | None = None  # (T, N) investable weight factors; None: unknown (1)
    basis: str = "company"  # basis of ``caps``: "float" or "company"
    price_return: np.ndarray | None = None  # (T, N) price-return closes, NaN where unknown
    cap_age: np.ndarray | None = None  # (T, N) days since the snapshot behind each cap
    member_coverage: pd.DataFrame = field(default_factory=pd.DataFrame)  # date x counts

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
        iwf: pd.DataFrame | np.ndarray | None = None,
        basis: str | None = None,
        price_return: pd.DataFrame | None = None,
        cap_age: pd.DataFrame | None = None,
        member_coverage: pd.DataFrame | None = None,
    ) -> Market:
        """Align labelled frames onto the price panel's (dates x tickers) axes.

        ``caps`` are company-level. With ``iwf`` (a (dates x tickers) frame or array of
        investable weight factors in (0, 1]; missing = 1) the market's caps are float-adjusted
        by default (``basis="float"``); ``basis="company"`` keeps company caps. ``price_return``
        holds price-return closes beside the total-return ``prices``; ``cap_age`` the age in
        days of the snapshot behind each cap; ``member_coverage`` a per-date coverage table.

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
        factor: np.ndarray | None = None
        if iwf is not None:
            if isinstance(iwf, pd.DataFrame):
                factor = aligned(iwf, np.nan, np.float64)
            else:
                factor = np.array(iwf, dtype=np.float64, order="C")
                if factor.shape != shape:
                    raise InputError(f"iwf has shape {factor.shape}, expected {shape}")
            factor[~np.isfinite(factor)] = 1.0
            if np.any(factor <= 0):
                # share classes of a company cap split equally may carry class factors above 1
                # (see data.float_factors.pool_share_classes); a factor <= 0 is an error
                bad = np.argwhere(factor <= 0)[0]
                raise InputError(
                    f"investable weight factor of {tickers[bad[1]]} on {dates[bad[0]].date()} "
                    f"is {factor[bad[0], bad[1]]}: expected 0 < IWF <= 1"
                )
        chosen = basis or ("float" if factor is not None else "company")
        if chosen not in ("float", "company"):
            raise InputError(f"basis must be 'float' or 'company', not {chosen!r}")
        if chosen == "float" and factor is None:
            raise InputError("basis 'float' needs investable weight factors (iwf)")
        pr_arr = None if price_return is None else aligned(price_return, np.nan, np.float64)
        if pr_arr is not None:
            pr_arr[~np.isfinite(pr_arr)] = np.nan
        age = None if cap_age is None else aligned(cap_age, np.nan, np.float64)
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
        if prov.data_end is None and len(dates):
            prov = replace(prov, data_end=dates[-1])
        prov = replace(prov, cap_basis=chosen)
        company = cap
        weighted = cap * factor if (chosen == "float" and factor is not None) else cap
        return cls(
            dates=dates,
            tickers=tickers,
            prices=px,
            caps=np.ascontiguousarray(weighted),
            company_caps=company,
            iwf=factor,
            basis=chosen,
            price_return=pr_arr,
            cap_age=age,
            member_coverage=pd.DataFrame() if member_coverage is None else member_coverage,
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

    # ------------------------------------------------------------------ cap basis
    def with_basis(self, basis: str) -> Market:
        """The market with caps on ``basis``: "float" (IWF x company cap) or "company".

        Every weight, concentration figure, index return and cap-weighted backtest computed from
        the result uses that basis; ``provenance.cap_basis`` says which.
        """
        if basis not in ("float", "company"):
            raise InputError(f"basis must be 'float' or 'company', not {basis!r}")
        if basis == self.basis:
            return self
        company = self.company_caps if self.company_caps is not None else self.caps
        if basis == "float":
            if self.iwf is None:
                raise DataUnavailableError(
                    "no investable weight factors in this market: float-adjusted caps are "
                    "unavailable (import them with 'counterweight data import FILE --kind float')"
                )
            caps = np.ascontiguousarray(company * self.iwf)
        else:
            caps = company
        return replace(
            self,
            caps=caps,
            company_caps=company,
            basis=basis,
            provenance=replace(self.provenance, cap_basis=basis),
        )

    def float_caps(self) -> np.ndarray:
        """(T, N) float-adjusted caps IWF x company cap (company caps where no IWF is known)."""
        company = self.company_caps if self.company_caps is not None else self.caps
        return company if self.iwf is None else company * self.iwf

    # ------------------------------------------------------------------ price return
    def breadth_prices(self) -> tuple[np.ndarray, str]:
        """Closes for breadth measures (moving averages, 52-week highs and lows) and their basis.

        Published breadth series use price-return closes. A ticker uses its price-return
        series when the market has one for every date it has a total-return price, else its
        total-return prices; the label says how many tickers use which (returns and backtests
        always use the total-return ``prices``).
        """
        n = self.prices.shape[1]
        if self.price_return is None:
            return self.prices, "total return (no price-return closes in the data)"
        have_tr = np.isfinite(self.prices)
        full = (np.isfinite(self.price_return) | ~have_tr).all(axis=0) & have_tr.any(axis=0)
        out = np.where(full[None, :], self.price_return, self.prices)
        k = int(full.sum())
        if k == n:
            return np.ascontiguousarray(out), "price return"
        return (
            np.ascontiguousarray(out),
            f"price return for {k} of {n} tickers, total return for the rest",
        )

    def staleness(self, as_of: str | pd.Timestamp | None = None) -> str | None:
        """A sentence when ``as_of`` is past the data's last date, else None.

        Readings "on" a later date are the last date's: every output should say so rather than
        report the data's last date as today.
        """
        end = self.provenance.data_end or (self.dates[-1] if len(self.dates) else None)
        if as_of is None or end is None:
            return None
        ts = pd.Timestamp(as_of).normalize()
        if ts <= end:
            return None
        return (
            f"as of {ts.date()}: the data ends on {end.date()} ({(ts - end).days} days earlier); "
            f"the readings are those of {end.date()}"
        )

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

        def rows(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[sl]

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
            company_caps=rows(self.company_caps),
            iwf=rows(self.iwf),
            price_return=rows(self.price_return),
            cap_age=rows(self.cap_age),
            member_coverage=side(self.member_coverage, False),
        )

    def at_positions(self, positions: Sequence[int] | np.ndarray) -> Market:
        """The market on a subset of its dates (sorted positions), e.g. month ends.

        Prices, caps and membership are taken on those dates as they are (a resampling, not an
        aggregation); side tables are left to the caller (see ``data.sample.month_end_view``).
        """
        pos = np.asarray(positions, dtype=np.intp)
        if len(pos) == 0 or np.any(np.diff(pos) <= 0):
            raise InputError("positions must be increasing and not empty")

        def rows(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.ascontiguousarray(a[pos])

        new_dates = self.dates[pos]
        cov = self.member_coverage
        return replace(
            self,
            dates=new_dates,
            prices=np.ascontiguousarray(self.prices[pos]),
            caps=np.ascontiguousarray(self.caps[pos]),
            caps_estimated=np.ascontiguousarray(self.caps_estimated[pos]),
            members=np.ascontiguousarray(self.members[pos]),
            company_caps=rows(self.company_caps),
            iwf=rows(self.iwf),
            price_return=rows(self.price_return),
            cap_age=rows(self.cap_age),
            member_coverage=cov if cov.empty else cov.reindex(new_dates),
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

        def cols(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[:, pos]

        return replace(
            self,
            tickers=pd.Index(wanted, name="ticker"),
            prices=self.prices[:, pos],
            caps=self.caps[:, pos],
            caps_estimated=self.caps_estimated[:, pos],
            members=self.members[:, pos],
            securities=self.securities.iloc[pos],
            fundamentals=fund,
            company_caps=cols(self.company_caps),
            iwf=cols(self.iwf),
            price_return=cols(self.price_return),
            cap_age=cols(self.cap_age),
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
            "cap_basis": self.provenance.cap_basis,
            "data_end": None
            if self.provenance.data_end is None
            else self.provenance.data_end.date().isoformat(),
            "breadth_basis": self.breadth_prices()[1],
            "members_without_price_last_date": (
                int(
                    self.member_coverage["members"].iloc[-1]
                    - self.member_coverage["with_price"].iloc[-1]
                )
                if not self.member_coverage.empty
                else int((mem[-1] & ~np.isfinite(self.prices[-1])).sum())
                if t
                else 0
            ),
            "min_cap_share_priced": (
                float(self.member_coverage["cap_share_priced"].min())
                if not self.member_coverage.empty
                else float("nan")
            ),
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
