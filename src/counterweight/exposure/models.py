"""What a fund holds on a date: from a rule on the Market, from its holdings file, or unknown.

:class:`FundResolver` answers "what did fund F hold on date D" as a :class:`FundLook`, trying in
order (``prefer="model"``, the default):

1. **A model** when F tracks an index the Market models, derived from the Market on D:

   * SPY, IVV, VOO, SPLG (S&P 500): the index's cap weights on D from
     :meth:`Market.cap_weights` (so they follow the Market's cap basis: float-adjusted where
     it knows investable weight factors, company caps otherwise);
   * RSP (S&P 500 Equal Weight Index): each issuer an equal share at the last quarterly
     rebalance (after the close of the third Friday of March, June, September, December; S&P
     *Equal Weight Indices Methodology*), split across share classes by cap, then drifted with
     each name's total return to D: w_i(D) ∝ w_i(r) P_i(D) / P_i(r);
   * the Select Sector SPDRs (XLK, XLF, XLV, XLI, XLB, XLE, XLU, XLP, XLY, XLC, XLRE): the
     sector's cap weights capped with the S&P Select Sector rule of
     :func:`counterweight.construct.methodology.sp_select_sector` (the 2024 rule from the
     September 2024 rebalance, the earlier rule before) at the last quarterly rebalance, then
     drifted to D;
   * the equal-weight sector twins (RSPT, RSPF, RSPH, RSPN, RSPM, RSPG, RSPU, RSPS, RSPD,
     RSPC, RSPR): equal weight per issuer within the sector at the last rebalance, drifted.

   Weights are over the Market's members on the rebalance date; members the Market lacks
   (survivorship, missing caps) are left out and said in the Market's caveats.
2. **A holdings file**: the latest file of F dated on or before D (its age in days is kept
   and printed), from the embedded files, the store and any file the user gives.
3. **Opaque**: neither; the fund stays one line, reported as opaque, never dropped.

``prefer="file"`` tries the file before the model (a fund's own published holdings on the exact
date beat a model of its index).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from counterweight.construct.methodology import sp_select_sector
from counterweight.construct.schemes import equal_weight
from counterweight.data.funds import FundHoldings, HoldingsLibrary
from counterweight.errors import ConfigError, DataUnavailableError
from counterweight.market import Market, normalize_ticker

SP500_FUNDS: tuple[str, ...] = ("SPY", "IVV", "VOO", "SPLG")
EQUAL_WEIGHT_FUNDS: tuple[str, ...] = ("RSP",)
SELECT_SECTOR_FUNDS: dict[str, str] = {
    "XLK": "Information Technology",
    "XLF": "Financials",
    "XLV": "Health Care",
    "XLI": "Industrials",
    "XLB": "Materials",
    "XLE": "Energy",
    "XLU": "Utilities",
    "XLP": "Consumer Staples",
    "XLY": "Consumer Discretionary",
    "XLC": "Communication Services",
    "XLRE": "Real Estate",
}
EQUAL_SECTOR_FUNDS: dict[str, str] = {
    "RSPT": "Information Technology",
    "RSPF": "Financials",
    "RSPH": "Health Care",
    "RSPN": "Industrials",
    "RSPM": "Materials",
    "RSPG": "Energy",
    "RSPU": "Utilities",
    "RSPS": "Consumer Staples",
    "RSPD": "Consumer Discretionary",
    "RSPC": "Communication Services",
    "RSPR": "Real Estate",
}
SELECT_SECTOR_2024 = pd.Timestamp("2024-09-20")
"""First rebalance under the 2024 Select Sector capping rule (third Friday of September 2024)."""

Method = Literal["model", "file", "opaque"]


def modelled_funds() -> list[str]:
    """Every fund ticker with a model on the Market."""
    return [*SP500_FUNDS, *EQUAL_WEIGHT_FUNDS, *SELECT_SECTOR_FUNDS, *EQUAL_SECTOR_FUNDS]


@dataclass(frozen=True)
class FundLook:
    """One fund looked through on ``as_of``.

    ``weights``: equity weight by ticker, fractions of the fund's net assets; ``other``: the
    rest (cash, futures, currency, rights), so ``weights.sum() + other == 1`` up to the file's
    rounding (a file adding up to less than 100% puts the gap in ``other``). ``method`` says
    where the weights come from, ``description`` in words; ``date`` is the holdings date
    (the rebalance or as-of date for a model) and ``age_days`` = as_of - date for a file.
    ``sectors`` / ``names``: what the file publishes per ticker (may be empty).
    """

    fund: str
    weights: pd.Series
    other: float
    method: Method
    description: str
    date: pd.Timestamp | None = None
    age_days: int | None = None
    sectors: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    names: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    source: str = ""

    @property
    def opaque(self) -> bool:
        return self.method == "opaque"


def last_quarterly_rebalance(market: Market, as_of: pd.Timestamp) -> pd.Timestamp:
    """The last S&P quarterly rebalance session (third Friday of Mar/Jun/Sep/Dec) on or before
    ``as_of`` that is a Market date; the first Market date if none is."""
    from counterweight.backtest.schedule import third_friday_sessions

    start = max(market.dates[0], as_of - pd.Timedelta(days=120))
    days = third_friday_sessions(start, as_of)
    if len(days) == 0:
        return market.dates[0]
    pos = market.date_position(days[-1])
    return market.dates[pos]


def drift(weights: pd.Series, market: Market, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Weights set at the close of ``start`` carried to ``end`` by total return.

    w_i(end) = w_i(start) R_i / sum_j w_j(start) R_j with R_i = P_i(end) / P_i(start); names
    without a price on ``end`` are left out (their weight goes to the others in proportion).
    """
    i0, i1 = market.date_position(start), market.date_position(end)
    pos = market.tickers.get_indexer(weights.index)
    p0, p1 = market.prices[i0, pos], market.prices[i1, pos]
    with np.errstate(invalid="ignore", divide="ignore"):
        grown = weights.to_numpy(dtype=float) * p1 / p0
    out = pd.Series(grown, index=weights.index)
    out = out[np.isfinite(out.to_numpy()) & (out.to_numpy() > 0)]
    if out.empty:
        raise DataUnavailableError(
            f"no prices to drift weights from {start.date()} to {end.date()}"
        )
    return out / out.sum()


def _sector_members(market: Market, date: pd.Timestamp, sector: str) -> np.ndarray:
    i = market.date_position(date)
    sec = market.securities["sector"].astype(object).to_numpy()
    return np.asarray(market.members[i] & (sec == sector), dtype=bool)


def _select_sector(market: Market, date: pd.Timestamp, sector: str) -> pd.Series:
    i = market.date_position(date)
    mask = _sector_members(market, date, sector) & np.isfinite(market.caps[i])
    if not mask.any():
        raise DataUnavailableError(f"no {sector} members with caps on {date.date()}")
    caps = market.caps[i][mask]
    codes = np.unique(market.issuer_codes[mask], return_inverse=True)[1]
    rule = "2024" if date >= SELECT_SECTOR_2024 else "pre2024"
    w = sp_select_sector(caps / caps.sum(), issuer_codes=codes, rule=rule)
    return pd.Series(w, index=market.tickers[mask])


def _equal_sector(market: Market, date: pd.Timestamp, sector: str) -> pd.Series:
    mask = _sector_members(market, date, sector)
    if not mask.any():
        raise DataUnavailableError(f"no {sector} members on {date.date()}")
    codes = market.issuer_codes[mask]
    _, inv, count = np.unique(codes, return_inverse=True, return_counts=True)
    w = 1.0 / (len(count) * count[inv])
    return pd.Series(w, index=market.tickers[mask])


def model_weights(
    fund: str, market: Market, as_of: pd.Timestamp
) -> tuple[pd.Series, str, pd.Timestamp]:
    """(ticker weights, description, date of the weights) of a modelled fund on ``as_of``."""
    f = normalize_ticker(fund)
    day = market.dates[market.date_position(as_of)]
    if f in SP500_FUNDS:
        w = market.cap_weights(day)
        basis = getattr(market, "basis", "company")
        text = f"S&P 500 {'float-adjusted ' if basis == 'float' else ''}cap weights from the Market on {day.date()}"
        return w[w > 0], text, day
    r = last_quarterly_rebalance(market, day)
    if f in EQUAL_WEIGHT_FUNDS:
        base = equal_weight(market, r)
        what = "S&P 500 equal weight per issuer"
    elif f in SELECT_SECTOR_FUNDS:
        base = _select_sector(market, r, SELECT_SECTOR_FUNDS[f])
        rule = "2024 rule" if r >= SELECT_SECTOR_2024 else "pre-2024 rule"
        what = f"{SELECT_SECTOR_FUNDS[f]} Select Sector capped weights ({rule})"
    elif f in EQUAL_SECTOR_FUNDS:
        base = _equal_sector(market, r, EQUAL_SECTOR_FUNDS[f])
        what = f"{EQUAL_SECTOR_FUNDS[f]} equal weight per issuer"
    else:
        raise ConfigError(f"no model for fund {f} (modelled: {', '.join(modelled_funds())})")
    w = drift(base, market, r, day)
    return w, f"{what} set at the {r.date()} rebalance, drifted to {day.date()}", r


def look_from_file(h: FundHoldings, as_of: pd.Timestamp) -> FundLook:
    eq = h.lines[h.lines["kind"] == "equity"]
    w = eq.groupby("ticker", sort=False)["weight"].sum()
    w = w[w > 0]
    first = eq.drop_duplicates("ticker").set_index("ticker")
    age = int((as_of.normalize() - h.date).days)
    kinds = h.lines.loc[h.lines["kind"] != "equity", "kind"].unique().tolist()
    rest = f" ({', '.join(sorted(kinds))} kept as one line)" if kinds else ""
    return FundLook(
        fund=h.fund,
        weights=w,
        other=float(max(0.0, 1.0 - w.sum())),
        method="file",
        description=f"holdings file of {h.date.date()}, {age} days old{rest}",
        date=h.date,
        age_days=age,
        sectors=first["sector"].dropna() if "sector" in first else pd.Series(dtype=object),
        names=first["name"] if "name" in first else pd.Series(dtype=object),
        source=h.source,
    )


def drift_look(look: FundLook, market: Market, day: pd.Timestamp) -> FundLook:
    """A file's equity weights carried from the file's date to ``day`` by total return.

    w_i(D) ∝ w_i(f) g_i with g_i = P_i(D) / P_i(f) (the close on or before each date) for the
    names the Market prices; the others grow with the fund's own total return from the
    Market's reference ETF series, or, without it, with the weighted average growth of the
    priced names. The equity share of the fund is kept as in the file (cash is not grown).
    """
    if look.date is None or look.date < market.dates[0] or look.date >= day:
        return look
    i0, i1 = market.date_position(look.date), market.date_position(day)
    if i1 <= i0:
        return look
    w = look.weights
    pos = market.tickers.get_indexer(w.index)
    ok = pos >= 0
    g = np.full(len(w), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        g[ok] = market.prices[i1, pos[ok]] / market.prices[i0, pos[ok]]
    priced = np.isfinite(g) & (g > 0)
    fund_g = float("nan")
    b = market.benchmarks
    if not b.empty and look.fund in b.columns:
        s = b[look.fund].dropna()
        s0, s1 = s[s.index <= market.dates[i0]], s[s.index <= market.dates[i1]]
        if len(s0) and len(s1):
            fund_g = float(s1.iloc[-1] / s0.iloc[-1])
    wv = w.to_numpy(dtype=float)
    how = "the fund's own total return"
    if not np.isfinite(fund_g):
        fund_g = float(np.sum(wv[priced] * g[priced]) / np.sum(wv[priced])) if priced.any() else 1.0
        how = "the priced names' average"
    g = np.where(priced, g, fund_g)
    grown = wv * g
    grown *= wv.sum() / grown.sum()
    text = (
        f"{look.description}, drifted to {market.dates[i1].date()} by total return "
        f"({int(priced.sum())} of {len(w)} names priced, the others at {how})"
    )
    return replace(look, weights=pd.Series(grown, index=w.index), description=text)


class FundResolver:
    """Look funds through on dates, caching each (fund, date).

    ``drift_files``: carry a holdings file's weights from its date to the look-through date by
    total return (:func:`drift_look`) instead of using them as published.
    """

    def __init__(
        self,
        market: Market | None,
        library: HoldingsLibrary | None = None,
        *,
        prefer: Literal["model", "file"] = "model",
        drift_files: bool = False,
    ) -> None:
        if prefer not in ("model", "file"):
            raise ConfigError(f"prefer must be 'model' or 'file', not {prefer!r}")
        self.market = market
        self.library = library or HoldingsLibrary()
        self.prefer = prefer
        self.drift_files = drift_files
        self._cache: dict[tuple[str, pd.Timestamp], FundLook] = {}

    def is_modelled(self, fund: str) -> bool:
        return self.market is not None and normalize_ticker(fund) in modelled_funds()

    def look(self, fund: str, as_of: str | pd.Timestamp) -> FundLook:
        f = normalize_ticker(fund)
        day = pd.Timestamp(as_of).normalize()
        key = (f, day)
        if key not in self._cache:
            self._cache[key] = self._resolve(f, day)
        return self._cache[key]

    def _model(self, f: str, day: pd.Timestamp) -> FundLook | None:
        if not self.is_modelled(f):
            return None
        assert self.market is not None
        if day < self.market.dates[0]:
            return None
        w, text, date = model_weights(f, self.market, day)
        return FundLook(fund=f, weights=w, other=0.0, method="model", description=text, date=date)

    def _file(self, f: str, day: pd.Timestamp) -> FundLook | None:
        h = self.library.latest(f, day)
        if h is None:
            return None
        look = look_from_file(h, day)
        if self.drift_files and self.market is not None:
            look = drift_look(look, self.market, day)
        return look

    def _resolve(self, f: str, day: pd.Timestamp) -> FundLook:
        order = (self._model, self._file) if self.prefer == "model" else (self._file, self._model)
        for how in order:
            look = how(f, day)
            if look is not None:
                return look
        first = self.library.earliest_date(f)
        why = (
            f"its earliest holdings file is dated {first.date()}, after {day.date()}"
            if first is not None
            else "no model and no holdings file"
        )
        return FundLook(
            fund=f,
            weights=pd.Series(dtype=float),
            other=1.0,
            method="opaque",
            description=f"opaque: {why}; held as one line",
        )
