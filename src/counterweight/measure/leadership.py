"""Leadership: who drove the index over a window, and is leadership narrow or broad.

Conventions (fractions throughout):

* **Daily basket return.** The basket of day ``t`` is the index members *on* ``t``
  (membership intervals are end-exclusive: a name whose membership ends on ``X`` is out from
  ``X`` on, its last member day is ``X-1``; a name that joins on ``X`` counts from ``X``). It is
  formed at the previous close: weights come from base weights ``b_{t-1,i}`` at the close of
  ``t-1`` (the market cap for cap weighting; for equal weighting one equal slot per
  *company*, split across its share classes by cap, as the S&P 500 Equal Weight Index weights
  companies, not share lines). Names without a return on ``t`` (no price on ``t`` or ``t-1``)
  are left out that day and the others renormalised::

      R_t = sum_i b_{t-1,i} r_{t,i} / sum_i b_{t-1,i}     (i member on t with a return on t)

  Equal weight is therefore rebalanced daily (RSP rebalances quarterly; compare both).
* **Window return.** ``prod_{t in (a, e]} (1 + R_t) - 1`` from the close of the anchor date
  ``a`` to the close of the end date ``e``.
* **Contribution** of name ``i`` over a window, linked so that contributions add up *exactly*
  to the compounded index return::

      C_i = sum_{t in (a, e]} w_{t,i} r_{t,i} * prod_{a < s < t} (1 + R_s)

  with ``w_{t,i}`` the renormalised previous-close weight. Each day's contribution is scaled by
  the index's growth up to the previous close, so ``sum_i C_i = prod (1 + R_t) - 1``. A
  group's or sector's contribution is the sum over its names.
* **Windows** ``1W 1M 3M 6M YTD 1Y 3Y 5Y MTD QTD ALL`` end on a trading date; their anchor is
  the last trading date on or before the calendar offset (so month ends, year ends and
  holidays resolve to the previous close). A custom window ``START:END`` starts at the close
  before ``START``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError, DataUnavailableError
from counterweight.groups import MAG7, Group, rest_of
from counterweight.market import Market
from counterweight.measure.concentration import sum_columns_by_code

DEFAULT_WINDOWS: tuple[str, ...] = ("1W", "1M", "3M", "YTD", "1Y")

SIZE_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("Equal vs cap (RSP - SPY)", "RSP", "SPY"),
    ("Small cap (IWM - SPY)", "IWM", "SPY"),
    ("Mid cap (IJH - SPY)", "IJH", "SPY"),
    ("Small cap 600 (IJR - SPY)", "IJR", "SPY"),
)
STYLE_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("Value vs growth (VTV - VUG)", "VTV", "VUG"),
    ("Value vs growth R1000 (IWD - IWF)", "IWD", "IWF"),
)
SECTOR_ETFS: dict[str, tuple[str, str]] = {
    "Information Technology": ("XLK", "RSPT"),
    "Financials": ("XLF", "RSPF"),
    "Health Care": ("XLV", "RSPH"),
    "Industrials": ("XLI", "RSPN"),
    "Materials": ("XLB", "RSPM"),
    "Energy": ("XLE", "RSPG"),
    "Utilities": ("XLU", "RSPU"),
    "Consumer Staples": ("XLP", "RSPS"),
    "Consumer Discretionary": ("XLY", "RSPD"),
    "Communication Services": ("XLC", "RSPC"),
    "Real Estate": ("XLRE", "RSPR"),
}
"""Select Sector SPDR (cap weighted) and its equal-weight twin for each GICS sector."""

# --------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """Returns are measured from the close of ``start`` to the close of ``end``."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    start_pos: int
    end_pos: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "start": self.start.date().isoformat(),
            "end": self.end.date().isoformat(),
        }


EARLIEST_ANCHOR = pd.Timestamp("1678-01-01")
"""No data starts earlier (the first year of pandas' nanosecond calendar)."""

WINDOW_HELP = "use 1W 1M 3M 6M YTD 1Y 3Y MTD QTD ALL, N[DWMY] or START:END (YYYY-MM-DD)"


def _anchor_date(spec: str, end: pd.Timestamp) -> pd.Timestamp | None:
    s = spec.upper()
    if s == "ALL":
        return None
    if s == "YTD":
        return pd.Timestamp(year=end.year - 1, month=12, day=31)
    if s == "MTD":
        return end.replace(day=1) - pd.Timedelta(days=1)
    if s == "QTD":
        q_month = 3 * ((end.month - 1) // 3) + 1
        return end.replace(month=q_month, day=1) - pd.Timedelta(days=1)
    unit = s[-1:]
    digits = s[:-1]
    if not digits.isdigit() or not digits.isascii():
        raise ConfigError(f"unknown window {spec!r}: {WINDOW_HELP}")
    k = int(digits)
    if k < 1:
        raise ConfigError(f"window {spec!r} must be at least 1 unit long")
    if unit not in "DWMY":
        raise ConfigError(f"unknown window unit in {spec!r}: use D, W, M or Y")
    try:
        if unit == "D":
            anchor = end - pd.Timedelta(days=k)
        elif unit == "W":
            anchor = end - pd.Timedelta(weeks=k)
        elif unit == "M":
            anchor = end - pd.DateOffset(months=k)
        else:
            anchor = end - pd.DateOffset(years=k)
        if anchor >= EARLIEST_ANCHOR:
            return anchor
    except (ValueError, OverflowError):  # beyond the calendar pandas can represent
        pass
    raise DataUnavailableError(f"window {spec} reaches back before any data")


def _window_date(text: str, spec: str) -> pd.Timestamp:
    """A date of a custom window, or :class:`ConfigError` naming the window."""
    try:
        ts = pd.Timestamp(text.strip())
    except (ValueError, OverflowError, TypeError):
        ts = None
    if ts is None or pd.isna(ts):
        raise ConfigError(f"window {spec!r}: {text.strip()!r} is not a date; {WINDOW_HELP}")
    if ts.tzinfo is not None or ts != ts.normalize():
        raise ConfigError(
            f"window {spec!r}: {text.strip()!r} is not a trading date (YYYY-MM-DD, "
            "no time of day or offset)"
        )
    return ts


def resolve_window(
    dates: pd.DatetimeIndex, spec: str, end: str | pd.Timestamp | None = None
) -> Window:
    """The trading-date window for ``spec`` ending on the last date on or before ``end``.

    Fixed windows need the full span: one that would start before the first date raises
    :class:`DataUnavailableError`. A custom ``START:END`` window (either side optional) starts
    at the last close before ``START`` (clamped to the first date) and ends on or before ``END``.
    A name that is not a window, a date that is not a date, or a custom window that ends before
    it starts is a :class:`ConfigError`.
    """
    if not isinstance(spec, str):
        raise ConfigError(f"a window is a name, not {type(spec).__name__}; {WINDOW_HELP}")
    spec = spec.strip()
    if len(dates) < 2:
        raise DataUnavailableError("at least two dates are needed to measure a return")
    end_arg = None if end is None else (_window_date(end, "end") if isinstance(end, str) else end)
    if ":" in spec:
        a, _, b = spec.partition(":")
        start_ts = _window_date(a, spec) if a.strip() else None
        end_ts = _window_date(b, spec) if b.strip() else end_arg
        if start_ts is not None and end_ts is not None and pd.Timestamp(end_ts) < start_ts:
            raise ConfigError(f"window {spec!r} ends before it starts")
        e = (
            len(dates) - 1
            if end_ts is None
            else int(dates.searchsorted(pd.Timestamp(end_ts), side="right")) - 1
        )
        if e < 1:
            raise DataUnavailableError(
                f"window {spec!r} ends before the data start ({dates[0].date()})"
            )
        s = 0 if start_ts is None else max(int(dates.searchsorted(start_ts, side="left")) - 1, 0)
        if s >= e:
            raise DataUnavailableError(f"window {spec!r} holds no trading day")
        return Window(spec, dates[s], dates[e], s, e)
    e = (
        len(dates) - 1
        if end_arg is None
        else int(dates.searchsorted(pd.Timestamp(end_arg), side="right")) - 1
    )
    if e < 1:
        raise DataUnavailableError(f"no data on or before {end} to end window {spec!r}")
    end_date = dates[e]
    anchor = _anchor_date(spec, end_date)
    if anchor is None:
        s = 0
    else:
        s = int(dates.searchsorted(pd.Timestamp(anchor), side="right")) - 1
        if s < 0 or (s == 0 and dates[0] > anchor):
            raise DataUnavailableError(
                f"window {spec} to {end_date.date()} starts {pd.Timestamp(anchor).date()}, "
                f"before the data ({dates[0].date()})"
            )
    if s >= e:
        raise DataUnavailableError(f"window {spec} to {end_date.date()} holds no trading day")
    return Window(spec.upper(), dates[s], end_date, s, e)


WindowLike = Window | str
"""A resolved :class:`Window` or a window name: ``1W 1M 3M 6M YTD 1Y 3Y 5Y MTD QTD ALL``,
``N[DWMY]`` or ``START:END``. Every function of this module that takes a window takes either."""


def as_window(
    dates: pd.DatetimeIndex, window: WindowLike, end: str | pd.Timestamp | None = None
) -> Window:
    """``window`` itself if it is a :class:`Window`, else the name resolved on ``dates``
    (:func:`resolve_window`, ending on the last date or on or before ``end``)."""
    if isinstance(window, Window):
        return window
    if not isinstance(window, str):
        raise ConfigError(
            f"a window is a name such as 'YTD', '1Y' or '2024-01-01:2024-06-30', or a Window; "
            f"got {type(window).__name__}"
        )
    return resolve_window(pd.DatetimeIndex(dates), window, end)


# --------------------------------------------------------------------------- kernels


def _zero_nan(x: np.ndarray) -> np.ndarray:
    """``x`` with non-finite entries set to 0 (a fast ``nan_to_num``)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.isfinite(x), x, 0.0)


def previous_close_base(base: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Base weights in force over day t: ``b_{t-1}`` for the members *on* ``t`` whose base at the
    previous close is finite and positive, else NaN (T, N).

    Row 0 is NaN (nothing was formed before the first close). A name that leaves on ``X`` (not a
    member on ``X``) carries no weight on ``X``; one that joins on ``X`` carries ``b_{X-1}``.
    """
    base = np.asarray(base, dtype=np.float64)
    out = np.full(base.shape, np.nan)
    if base.shape[0] > 1:
        prev = base[:-1]
        with np.errstate(invalid="ignore"):
            ok = np.asarray(members, dtype=bool)[1:] & np.isfinite(prev) & (prev > 0)
        out[1:] = np.where(ok, prev, np.nan)
    return out


def company_equal_base(held: np.ndarray, caps: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Equal weight by company (B, N): each issuer with a held class sums to 1 across its classes.

    A single-class issuer's held ticker gets 1. The classes of a multi-class issuer (GOOG +
    GOOGL) share its one slot in proportion to ``caps`` when every held class has a positive
    cap, else equally. 0 where not held. Normalising a row gives ``1 / I`` per held issuer: the
    S&P 500 Equal Weight Index weights companies, not share lines (S&P U.S. Indices
    Methodology, S&P Equal Weight indices; S&P DJI, "S&P 500 Sectors: Equal-Weight and
    Cap-Weight Indices": "EW indices are equally weighted by companies, not by issues").
    """
    held = np.asarray(held, dtype=bool)
    out = held.astype(np.float64)
    codes = np.asarray(codes, dtype=np.intp)
    if codes.size == 0:
        return out
    multi = np.bincount(codes)[codes] > 1
    if not multi.any():
        return out
    cols = np.flatnonzero(multi)
    _, sub = np.unique(codes[cols], return_inverse=True)
    onehot = np.zeros((cols.size, int(sub.max()) + 1))
    onehot[np.arange(cols.size), sub] = 1.0
    h = held[:, cols]
    c = np.asarray(caps, dtype=np.float64)[:, cols]
    with np.errstate(invalid="ignore"):
        known = h & np.isfinite(c) & (c > 0)
    n_held = (h.astype(np.float64) @ onehot)[:, sub]
    n_known = (known.astype(np.float64) @ onehot)[:, sub]
    cap_sum = (np.where(known, c, 0.0) @ onehot)[:, sub]
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(n_known == n_held, c / cap_sum, 1.0 / n_held)
    out[:, cols] = np.where(h, within, 0.0)
    return out


def equal_company_previous_close(market: Market, mask: np.ndarray | None = None) -> np.ndarray:
    """Equal-by-company base weights in force over each day (T, N), like
    :func:`previous_close_base`: members on ``t`` (inside ``mask``, a ticker subset, if given)
    with a return on ``t``, share classes split by their caps at ``t-1``; NaN where not held,
    row 0 NaN."""
    r = market.returns
    out = np.full(r.shape, np.nan)
    if r.shape[0] > 1:
        held = market.members[1:] & np.isfinite(r[1:])
        if mask is not None:
            held &= np.asarray(mask, dtype=bool)[None, :]
        b = company_equal_base(held, market.caps[:-1], market.issuer_codes)
        out[1:] = np.where(held, b, np.nan)
    return out


def basket_returns(base_prev: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """Daily return of one basket (T,): weighted mean of returns, NaN on days with nothing held."""
    active = np.isfinite(base_prev) & np.isfinite(returns)
    b = np.where(active, base_prev, 0.0)
    num = np.einsum("ij,ij->i", b, np.where(active, returns, 0.0))
    den = b.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def grouped_basket_returns(
    base_prev: np.ndarray, returns: np.ndarray, codes: np.ndarray, n_groups: int
) -> np.ndarray:
    """Daily return of many baskets at once (T, G): names with code g form basket g.

    Codes < 0 belong to no basket. NaN on days a basket holds nothing.
    """
    codes = np.asarray(codes, dtype=np.intp)
    keep = codes >= 0
    active = np.isfinite(base_prev) & np.isfinite(returns)
    b = np.where(active, base_prev, np.nan)[:, keep]
    br = np.where(active, base_prev * returns, np.nan)[:, keep]
    num = _zero_nan(sum_columns_by_code(br, codes[keep], n_groups))
    den = _zero_nan(sum_columns_by_code(b, codes[keep], n_groups))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def compound(daily: np.ndarray, axis: int = 0) -> np.ndarray:
    """``prod (1 + r) - 1`` along ``axis``, NaN as 0 (no position); all-NaN gives NaN."""
    d = np.asarray(daily, dtype=np.float64)
    out = np.prod(1.0 + _zero_nan(d), axis=axis) - 1.0
    return np.where(np.isfinite(d).any(axis=axis), out, np.nan)


def linked_contributions(weights: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """Per-name contributions over the rows given (the window's days), (N,).

    ``C_i = sum_t w_ti r_ti * G_{t-1}`` with ``G_{t-1} = prod_{s<t} (1 + R_s)`` and
    ``R_t = sum_i w_ti r_ti``; ``sum_i C_i = prod_t (1 + R_t) - 1`` exactly (up to rounding).
    NaN weights or returns contribute 0.
    """
    c = _zero_nan(np.asarray(weights) * np.asarray(returns))
    r_day = c.sum(axis=1)
    growth_before = np.cumprod(np.r_[1.0, 1.0 + r_day[:-1]])
    return np.asarray(growth_before @ c)


def rolling_window_returns(daily: np.ndarray, days: int) -> np.ndarray:
    """Trailing ``days``-day compounded return on every date (NaN until enough history)."""
    g = np.cumprod(1.0 + _zero_nan(np.asarray(daily, dtype=np.float64)))
    out = np.full(g.shape, np.nan)
    if days < len(g):
        out[days:] = g[days:] / g[:-days] - 1.0
    return out


# --------------------------------------------------------------------------- public API


def _check_weighting(weighting: str) -> None:
    if weighting not in ("cap", "equal"):
        raise ConfigError(f"weighting must be 'cap' or 'equal', not '{weighting}'")


def basket_base(market: Market, weighting: str, mask: np.ndarray | None = None) -> np.ndarray:
    """Base weights in force over each day (T, N) for ``weighting``: previous-close caps of the
    members on ``t`` (cap), or one slot per company (equal, see :func:`company_equal_base`),
    optionally for the basket of the tickers in ``mask`` only."""
    _check_weighting(weighting)
    if weighting == "cap":
        return previous_close_base(market.caps, market.members)
    return equal_company_previous_close(market, mask)


BLOCK_ROWS = 128
"""Rows processed at once by :func:`attribution` (bounds temporary memory)."""


def _held_weight_blocks(
    market: Market, weighting: str, start: int = 1, stop: int | None = None
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(lo, hi, w, r, held)`` for blocks of rows ``lo..hi-1`` in ``start..stop-1``.

    ``r`` is the simple return ``P_t / P_{t-1} - 1``, ``held`` the members *on* ``t`` with a
    positive base weight at ``t-1`` and a return on ``t``, ``w`` the renormalised previous-close
    weights (0 where not held): caps at ``t-1``, or one equal slot per company.
    """
    _check_weighting(weighting)
    # row blocks of a Fortran-ordered panel (what DataFrame.to_numpy often returns) are strided
    prices = np.ascontiguousarray(market.prices)
    members = np.ascontiguousarray(market.members)
    caps = np.ascontiguousarray(market.caps)
    codes = market.issuer_codes
    t = prices.shape[0] if stop is None else min(stop, prices.shape[0])
    for lo in range(max(start, 1), t, BLOCK_ROWS):
        hi = min(lo + BLOCK_ROWS, t)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = prices[lo:hi] / prices[lo - 1 : hi - 1] - 1.0
            held = members[lo:hi] & np.isfinite(r)
            b = caps[lo - 1 : hi - 1]
            if weighting == "cap":
                held &= b > 0
                w = np.where(held, b, 0.0)
            else:
                w = company_equal_base(held, b, codes)
        total = w.sum(axis=1)
        w *= np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)[:, None]
        yield lo, hi, w, r, held


@dataclass(frozen=True, eq=False)
class Attribution:
    """The daily index return of the members for one weighting, and contributions on demand.

    ``index_returns`` (T,) is ``R_t = sum_i w_ti r_ti`` with ``w_ti`` the previous-close
    weights of the names held on ``t`` (members on ``t`` with a base weight at ``t-1`` and a
    return on ``t``); NaN on days nothing is held and on the first date. Contributions for a window are
    recomputed from the market in row blocks, so no (T, N) panel is kept in memory.
    """

    market: Market
    weighting: str
    index_returns: np.ndarray

    @property
    def dates(self) -> pd.DatetimeIndex:
        return self.market.dates

    @property
    def tickers(self) -> pd.Index:
        return self.market.tickers

    def window(self, window: WindowLike) -> Window:
        """``window`` resolved on this market's dates (a :class:`Window` passes through)."""
        return as_window(self.dates, window)

    def window_return(self, window: WindowLike) -> float:
        """Compounded index return over ``window`` (a Window or a name such as ``"YTD"``)."""
        window = self.window(window)
        return float(compound(self.index_returns[window.start_pos + 1 : window.end_pos + 1]))

    def contributions(self, window: WindowLike) -> pd.Series:
        """Linked contribution of each ticker over ``window`` (sums to the window's index return).

        ``window`` is a :class:`Window` or a name (``"YTD"``, ``"1Y"``, ``"START:END"``, ...).
        ``C_i = sum_t G_{t-1} w_ti r_ti`` with ``G_{t-1}`` the index growth from the window
        start to the previous close, accumulated block by block over the window's rows.
        """
        window = self.window(window)
        lo, hi = window.start_pos + 1, window.end_pos + 1
        r_day = _zero_nan(self.index_returns[lo:hi])
        growth_before = np.cumprod(np.r_[1.0, 1.0 + r_day[:-1]])
        c = np.zeros(len(self.market.tickers))
        for b_lo, b_hi, w, r, held in _held_weight_blocks(self.market, self.weighting, lo, hi):
            g = growth_before[b_lo - lo : b_hi - lo]
            c += np.einsum("t,ti->i", g, np.where(held, w * r, 0.0))
        return pd.Series(c, index=self.market.tickers, name=f"contribution {window.label}")

    def daily_series(self) -> pd.Series:
        return pd.Series(self.index_returns, index=self.dates, name=f"index ({self.weighting})")


def attribution(market: Market, weighting: str = "cap") -> Attribution:
    """The index's daily returns (members of each day, weights from the previous close)."""
    idx = np.full(len(market.dates), np.nan)
    for lo, hi, w, r, held in _held_weight_blocks(market, weighting):
        day = np.einsum("ij,ij->i", w, np.where(held, r, 0.0))
        idx[lo:hi] = np.where(held.any(axis=1), day, np.nan)
    return Attribution(market, weighting, idx)


def daily_weights(market: Market, weighting: str = "cap") -> np.ndarray:
    """Weights held over each day (T, N): previous-close base weights of that day's members with
    a return that day, renormalised to sum to 1; 0 where not held, row 0 all 0."""
    out = np.zeros(market.prices.shape)
    for lo, hi, w, _, _ in _held_weight_blocks(market, weighting):
        out[lo:hi] = w
    return out


def group_daily_returns(
    market: Market,
    groups: Iterable[Group] = (MAG7,),
    *,
    include_rest: bool = True,
    weightings: Sequence[str] = ("cap", "equal"),
) -> pd.DataFrame:
    """Daily returns of the index and of each group (and of the rest), per weighting.

    Columns ``"<name> (cap)"`` / ``"<name> (equal)"`` for ``Index``, each group and ``Rest``
    (every member outside all groups). Within a group, weights are the previous-close caps of
    its members of the day (or one equal slot per company), renormalised inside the group.
    """
    group_list = list(groups)
    baskets: list[tuple[str, np.ndarray]] = [("Index", np.ones(len(market.tickers), dtype=bool))]
    baskets += [(g.name, g.mask(market)) for g in group_list]
    if include_rest and group_list:
        baskets.append(("Rest", rest_of(market, *group_list).mask(market)))
    r = market.returns
    cols: dict[str, np.ndarray] = {}
    for weighting in weightings:
        base_prev = basket_base(market, weighting)
        for name, mask in baskets:
            whole = weighting == "cap" or bool(mask.all())
            b = base_prev if whole else basket_base(market, weighting, mask)
            cols[f"{name} ({weighting})"] = basket_returns(b[:, mask], r[:, mask])
    return pd.DataFrame(cols, index=market.dates)


def window_returns(daily: pd.DataFrame, windows: Sequence[WindowLike]) -> pd.DataFrame:
    """Compounded return of each column of ``daily`` over each window (rows: window labels).

    Window names are resolved on ``daily``'s date index.
    """
    wins = [as_window(pd.DatetimeIndex(daily.index), w) for w in windows]
    arr = daily.to_numpy(dtype=np.float64)
    rows = {w.label: compound(arr[w.start_pos + 1 : w.end_pos + 1], axis=0) for w in wins}
    out = pd.DataFrame(rows, index=daily.columns).T
    out.insert(0, "start", [w.start.date().isoformat() for w in wins])
    out.insert(1, "end", [w.end.date().isoformat() for w in wins])
    return out


def resolve_windows(
    dates: pd.DatetimeIndex, specs: Iterable[str], end: str | pd.Timestamp | None = None
) -> tuple[list[Window], list[str]]:
    """Resolve many window specs; those the data cannot cover are returned as messages."""
    ok: list[Window] = []
    skipped: list[str] = []
    for spec in specs:
        try:
            ok.append(resolve_window(dates, spec, end))
        except DataUnavailableError as exc:
            skipped.append(str(exc))
    return ok, skipped


def issuer_window_returns(market: Market, group: Group, window: WindowLike) -> pd.DataFrame:
    """Each issuer of ``group`` over ``window``: cap-weighted across its share classes.

    Columns: name, tickers, return, weight (cap weight in the index at the window end).
    """
    window = as_window(market.dates, window)
    mask = group.mask(market)
    sub = market.universe(market.tickers[mask])
    codes = sub.issuer_codes
    base_prev = previous_close_base(sub.caps, sub.members)
    daily = grouped_basket_returns(base_prev, sub.returns, codes, len(sub.issuers))
    sl = slice(window.start_pos + 1, window.end_pos + 1)
    ret = compound(daily[sl], axis=0)
    caps_end = sum_columns_by_code(
        np.where(market.members & np.isfinite(market.caps), market.caps, np.nan)[
            window.end_pos : window.end_pos + 1
        ],
        market.issuer_codes,
        len(market.issuers),
    )[0]
    total = np.nansum(caps_end)
    iss_pos = market.issuers.get_indexer(sub.issuers)
    weight = caps_end[iss_pos] / total if total > 0 else np.full(len(iss_pos), np.nan)
    tick = ["+".join(sub.tickers[codes == k]) for k in range(len(sub.issuers))]
    names = [str(i) for i in sub.issuers]  # the issuer, not one share class's name
    return pd.DataFrame(
        {"name": names, "tickers": tick, "return": ret, "weight": weight},
        index=pd.Index(sub.issuers, name="issuer"),
    ).sort_values("return", ascending=False)


@dataclass(frozen=True)
class GroupBreadth:
    """How a group's names did over a window against the index (issuer level)."""

    group: str
    window: Window
    n_names: int
    n_up: int
    n_beat_index: int
    index_return: float
    best: str
    best_return: float
    worst: str
    worst_return: float
    spread: float  # best - worst
    dispersion: float  # cross-sectional standard deviation (ddof=0) of the names' returns
    names: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "window": self.window.to_dict(),
            "n_names": self.n_names,
            "n_up": self.n_up,
            "n_beat_index": self.n_beat_index,
            "index_return": self.index_return,
            "best": self.best,
            "best_return": self.best_return,
            "worst": self.worst,
            "worst_return": self.worst_return,
            "spread": self.spread,
            "dispersion": self.dispersion,
            "names": {
                str(k): {"name": v["name"], "return": v["return"], "weight": v["weight"]}
                for k, v in self.names.to_dict(orient="index").items()
            },
        }


def group_breadth(
    market: Market, group: Group, window: WindowLike, index_return: float | None = None
) -> GroupBreadth:
    """Count of names up and beating the index, best-minus-worst spread and dispersion.

    ``index_return`` defaults to the cap-weighted index's return over ``window``.
    """
    window = as_window(market.dates, window)
    if index_return is None:
        index_return = attribution(market, "cap").window_return(window)
    names = issuer_window_returns(market, group, window)
    valid = names[np.isfinite(names["return"])]
    if valid.empty:
        raise DataUnavailableError(f"no returns for {group.name} over {window.label}")
    ret = valid["return"].to_numpy()
    best, worst = valid.iloc[int(np.argmax(ret))], valid.iloc[int(np.argmin(ret))]
    return GroupBreadth(
        group=group.name,
        window=window,
        n_names=len(valid),
        n_up=int(np.sum(ret > 0)),
        n_beat_index=int(np.sum(ret > index_return)),
        index_return=float(index_return),
        best=str(best["name"]),
        best_return=float(best["return"]),
        worst=str(worst["name"]),
        worst_return=float(worst["return"]),
        spread=float(ret.max() - ret.min()),
        dispersion=float(ret.std(ddof=0)),
        names=names,
    )


def contributions_by(
    contributions: pd.Series, labels: pd.Series | dict[str, str], other: str = "Other"
) -> pd.Series:
    """Sum ticker contributions by a label (sector, group, issuer). Unlabelled names go to ``other``.

    The result sums to the same total as ``contributions`` (nothing is lost or counted twice).
    """
    lab = pd.Series(labels).reindex(contributions.index)
    lab = lab.astype(object).where(lab.notna(), other)
    return contributions.groupby(lab.to_numpy()).sum().sort_values(ascending=False)


def group_labels(market: Market, groups: Sequence[Group], rest: str = "Rest") -> pd.Series:
    """Label each ticker with the first group holding it, else ``rest``."""
    lab = pd.Series(rest, index=market.tickers, dtype=object)
    for g in reversed(list(groups)):
        lab[g.mask(market)] = g.name
    return lab


def sector_daily_returns(market: Market, weighting: str = "cap") -> pd.DataFrame:
    """Daily return of each GICS sector's members (date x sector)."""
    sectors = market.securities["sector"]
    codes, uniques = pd.factorize(sectors, sort=True)
    base_prev = basket_base(market, weighting)
    daily = grouped_basket_returns(base_prev, market.returns, codes, len(uniques))
    return pd.DataFrame(daily, index=market.dates, columns=pd.Index(uniques, name="sector"))


# --------------------------------------------------------------------------- ETFs


def _etf_window(
    prices: pd.Series, window: Window
) -> tuple[float, pd.Timestamp | None, pd.Timestamp | None]:
    """Return of an ETF's total-return price from the close on or before the window start to
    the close on or before its end (NaN if either price is missing)."""
    s = prices.dropna()
    if s.empty:
        return float("nan"), None, None
    i0 = int(s.index.searchsorted(window.start, side="right")) - 1
    i1 = int(s.index.searchsorted(window.end, side="right")) - 1
    if i0 < 0 or i1 <= i0:
        return float("nan"), None, None
    return float(s.iloc[i1] / s.iloc[i0] - 1.0), s.index[i0], s.index[i1]


def etf_window_returns(
    benchmarks: pd.DataFrame, tickers: Sequence[str], windows: Sequence[WindowLike]
) -> pd.DataFrame:
    """Window return of each available ETF (rows: windows, columns: tickers).

    Window names are resolved on ``benchmarks``' date index.
    """
    wins = [as_window(pd.DatetimeIndex(benchmarks.index), w) for w in windows]
    have = [t for t in tickers if t in benchmarks.columns]
    out = pd.DataFrame(index=[w.label for w in wins], columns=have, dtype=float)
    for t in have:
        for w in wins:
            out.loc[w.label, t] = _etf_window(benchmarks[t], w)[0]
    return out


def etf_pairs(
    benchmarks: pd.DataFrame, pairs: Sequence[tuple[str, str, str]], windows: Sequence[WindowLike]
) -> pd.DataFrame:
    """Return difference ``a - b`` of ETF pairs over each window (rows: pair labels).

    Pairs with a missing ETF are left out; window names resolve on ``benchmarks``' dates.
    """
    wins = [as_window(pd.DatetimeIndex(benchmarks.index), w) for w in windows]
    rows: dict[str, dict[str, float]] = {}
    for label, a, b in pairs:
        if a not in benchmarks.columns or b not in benchmarks.columns:
            continue
        rows[label] = {
            w.label: _etf_window(benchmarks[a], w)[0] - _etf_window(benchmarks[b], w)[0]
            for w in wins
        }
    return pd.DataFrame(rows).T if rows else pd.DataFrame(columns=[w.label for w in wins])


def sector_etf_returns(benchmarks: pd.DataFrame, window: WindowLike) -> pd.DataFrame:
    """Per GICS sector: cap-weighted SPDR and equal-weight twin returns over ``window``
    (a name resolves on ``benchmarks``' dates)."""
    win = as_window(pd.DatetimeIndex(benchmarks.index), window)
    rows = []
    for sector, (cap_etf, eq_etf) in SECTOR_ETFS.items():
        if cap_etf not in benchmarks.columns:
            continue
        cap_r = _etf_window(benchmarks[cap_etf], win)[0]
        eq_r = _etf_window(benchmarks[eq_etf], win)[0] if eq_etf in benchmarks.columns else np.nan
        rows.append(
            {
                "sector": sector,
                "etf": cap_etf,
                "cap_weight": cap_r,
                "equal_etf": eq_etf,
                "equal_weight": eq_r,
            }
        )
    if not rows:
        return pd.DataFrame(columns=["etf", "cap_weight", "equal_etf", "equal_weight"])
    return pd.DataFrame(rows).set_index("sector").sort_values("cap_weight", ascending=False)


def growth_index(daily: pd.DataFrame) -> pd.DataFrame:
    """Growth of 1 from the first date: ``prod_{s<=t} (1 + R_s)`` (NaN returns as 0)."""
    return (1.0 + daily.fillna(0.0)).cumprod()
