"""Fundamentals from the snapshots: amounts in USD, aggregate ratios by basket, like-for-like growth.

A snapshot row carries a company's market cap ``M``, price ``p``, trailing EPS, P/E, P/S, P/B,
EBITDA (USD) and dividend yield. The USD amounts follow from the cap and the ratios:

* earnings ``E = M x EPS / p`` (losses count, negative), else ``M / PE`` where ``PE > 0``;
  a row with ``|EPS / p| > 1`` (P/E under 1: a unit or share-class mismatch) has no earnings;
* revenue ``R = M / PS`` (``PS > 0``);
* book equity ``B = M / PB`` (``PB != 0``; a negative P/B is negative book equity and sums as such);
* EBITDA as reported (USD), NaN when ``|EBITDA| > 10 x max(M, R)`` (a unit error);
* dividends ``D = M x dy`` (``dy`` the yield as a fraction; snapshots publish it in percent or as
  a fraction, decided per snapshot by :func:`dividend_yield_fraction`).

Aggregates of a basket (an issuer counted once, see :func:`issuer_amounts`) are ratios of sums
over the issuers that carry **both** terms of the ratio (never a mean of ratios):

* ``pe = sum M / sum E`` (NaN when ``sum E <= 0``), ``earnings_yield = sum E / sum M``;
* ``ps = sum M / sum R``, ``pb = sum M / sum B`` (NaN when ``sum B <= 0``);
* ``net_margin = sum E / sum R``, ``ebitda_margin = sum EBITDA / sum R``;
* ``roe = sum E / sum B`` (for one name ``E / B = (PB) / (PE)``; NaN when ``sum B <= 0``);
* ``dividend_yield = sum D / sum M``.

Growth of an amount ``X`` of a basket from snapshot ``t0`` to ``t1`` is **like for like**: over
the set ``S`` of the basket's issuers (those in the ``t1`` snapshot) that carry ``X`` on both
dates, ``g = sum_S X(t1) / sum_S X(t0) - 1`` (NaN when ``sum_S X(t0) <= 0``), with
``coverage`` the share of the basket's ``t1`` cap that is in ``S``. Index joins and leavers,
and names a snapshot lacks, therefore never read as growth.

Share classes: snapshots such as Yahoo's give each class of a company (GOOG, GOOGL) the whole
company's figures; with ``class_caps="company"`` (the default) an issuer's amounts are the mean
over its classes (rows a loader already split, ``cap_basis = "company-level ..."``, are scaled
back first), with ``"class"`` they are summed (each class carrying its own float).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError, DataUnavailableError, InputError
from counterweight.groups import Group
from counterweight.market import normalize_ticker

AMOUNTS: tuple[str, ...] = ("earnings", "revenue", "book", "ebitda", "dividends")
"""USD amounts derived from each snapshot row (see the module docstring)."""

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "price": ("price",),
    "eps": ("eps", "trailing_eps"),
    "pe": ("pe", "p_e", "pe_ratio", "trailing_pe", "price_earnings"),
    "price_sales": ("price_sales", "ps", "p_s", "price_to_sales", "ps_ratio"),
    "price_book": ("price_book", "pb", "p_b", "price_to_book", "pb_ratio"),
    "ebitda": ("ebitda", "ebitda_usd"),
    "div_yield": ("div_yield", "dividend_yield", "dy"),
}
"""Snapshot column names accepted for each field (first match wins)."""

RATIOS: dict[str, tuple[str, str]] = {
    "pe": ("market_cap", "earnings"),
    "earnings_yield": ("earnings", "market_cap"),
    "ps": ("market_cap", "revenue"),
    "pb": ("market_cap", "book"),
    "net_margin": ("earnings", "revenue"),
    "ebitda_margin": ("ebitda", "revenue"),
    "roe": ("earnings", "book"),
    "dividend_yield": ("dividends", "market_cap"),
}
"""Aggregate ratio -> (numerator amount, denominator amount), summed over issuers with both."""

DivYieldUnit = Literal["auto", "percent", "fraction"]
"""How a snapshot's ``div_yield`` is expressed (``auto``: decided per snapshot date)."""

PERCENT_YIELD_THRESHOLD = 0.2
"""A snapshot whose median positive dividend yield exceeds this is read as percent."""

MAX_EBITDA_MULTIPLE = 10.0
"""Largest plausible ``|EBITDA| / max(cap, revenue)`` of one name; beyond it (a unit error such
as -2.9e18 USD) EBITDA is NaN."""

MAX_EARNINGS_YIELD = 1.0
"""Largest plausible ``|EPS / price|`` of one name (a P/E of 1); beyond it earnings are NaN."""

POSITIVE_DENOMINATOR = ("pe", "pb", "roe")
"""Ratios reported as NaN when their denominator sums to <= 0 (a P/E of a net loss means
nothing); the others are NaN only when the denominator sums to 0."""


# --------------------------------------------------------------------------- rows -> amounts


def snapshot_field(snapshot: pd.DataFrame, name: str) -> pd.Series:
    """The numeric column for ``name`` (any alias in :data:`FIELD_ALIASES`), else all NaN."""
    for alias in FIELD_ALIASES.get(name, (name,)):
        if alias in snapshot.columns:
            return pd.to_numeric(snapshot[alias], errors="coerce").astype(float)
    return pd.Series(np.nan, index=snapshot.index, dtype=float)


def has_field(fundamentals: pd.DataFrame, name: str) -> bool:
    """True when the table carries ``name`` (any alias) with at least one value."""
    return bool(snapshot_field(fundamentals, name).notna().any())


def earnings_from_snapshot(snapshot: pd.DataFrame) -> pd.Series:
    """Trailing earnings in USD per row: cap x EPS / price, else cap / P/E (P/E > 0), else NaN.

    Screen: an earnings yield ``|EPS / price|`` above :data:`MAX_EARNINGS_YIELD` (a P/E under 1)
    is a unit or share-class mismatch (e.g. a class-A EPS beside a class-B price), not a
    result, and gives NaN (the name then counts as lacking data).
    """
    cap = pd.to_numeric(snapshot["market_cap"], errors="coerce").astype(float)
    eps, price, pe = (snapshot_field(snapshot, f) for f in ("eps", "price", "pe"))
    ey = eps / price.where(price > 0)
    by_eps = cap * ey.where(ey.abs() <= MAX_EARNINGS_YIELD)
    by_pe = cap / pe.where(pe >= 1.0 / MAX_EARNINGS_YIELD)
    return by_eps.where(ey.notna(), by_pe)


def dividend_yield_fraction(snapshot: pd.DataFrame, unit: DivYieldUnit = "auto") -> pd.Series:
    """The dividend yield as a fraction, per row.

    ``unit="auto"`` decides per snapshot date: the median positive yield above
    :data:`PERCENT_YIELD_THRESHOLD` means the snapshot is in percent (an index's median yield
    is about 0.02 as a fraction, 2 in percent), and a snapshot where more than half the yields
    are zero has a blank field (NaN): about four in five S&P 500 members pay dividends.
    """
    dy = snapshot_field(snapshot, "div_yield")
    if unit == "percent":
        return dy / 100.0
    if unit == "fraction":
        return dy
    dates = (
        pd.to_datetime(snapshot["date"])
        if "date" in snapshot.columns
        else pd.Series(pd.Timestamp(0), index=snapshot.index)
    )
    keys = dates.fillna(pd.Timestamp(0))
    med = dy.where(dy > 0).groupby(keys).transform("median")
    zero_share = (dy == 0).astype(float).where(dy.notna()).groupby(keys).transform("mean")
    scaled = dy.where(~(med > PERCENT_YIELD_THRESHOLD), dy / 100.0)
    return scaled.where(~(zero_share > 0.5))


def amounts_from_snapshot(
    snapshot: pd.DataFrame, *, div_yield_unit: DivYieldUnit = "auto"
) -> pd.DataFrame:
    """USD amounts per row: market_cap (> 0, else NaN) and :data:`AMOUNTS` (NaN = unknown)."""
    if "market_cap" not in snapshot.columns:
        raise InputError("fundamentals need a 'market_cap' column")
    if div_yield_unit not in ("auto", "percent", "fraction"):
        raise ConfigError("div_yield_unit must be 'auto', 'percent' or 'fraction'")
    cap = pd.to_numeric(snapshot["market_cap"], errors="coerce").astype(float)
    cap = cap.where(cap > 0)
    ps = snapshot_field(snapshot, "price_sales")
    pb = snapshot_field(snapshot, "price_book")
    dy = dividend_yield_fraction(snapshot, div_yield_unit)
    ebitda = snapshot_field(snapshot, "ebitda")
    with np.errstate(divide="ignore", invalid="ignore"):
        revenue = cap / ps.where(ps > 0)
    scale = pd.concat([cap, revenue], axis=1).max(axis=1)  # NaN only when both are
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "market_cap": cap,
                "earnings": earnings_from_snapshot(snapshot.assign(market_cap=cap)),
                "revenue": revenue,
                "book": cap / pb.where((pb != 0) & np.isfinite(pb)),
                "ebitda": ebitda.where(ebitda.abs() <= MAX_EBITDA_MULTIPLE * scale),
                "dividends": cap * dy.where(dy >= 0),
            },
            index=snapshot.index,
        )
    return out.replace([np.inf, -np.inf], np.nan)


# --------------------------------------------------------------------------- issuers


def _normalized(tickers: pd.Series) -> pd.Series:
    """:func:`normalize_ticker` of each value, computed once per distinct spelling."""
    codes, uniques = pd.factorize(tickers.astype(str))
    clean = np.array([normalize_ticker(t) for t in uniques], dtype=object)
    return pd.Series(clean[codes], index=tickers.index, dtype=object)


def _issuer_of(tickers: pd.Series, issuers: pd.Series | None) -> pd.Series:
    if issuers is None:
        return tickers.astype(str)
    iss = issuers.copy()
    iss.index = pd.Index([normalize_ticker(t) for t in iss.index])
    iss = iss[~iss.index.duplicated()]
    mapped = tickers.map(iss)
    return mapped.where(mapped.notna(), tickers).astype(str)


def issuer_amounts(
    fundamentals: pd.DataFrame,
    issuers: pd.Series | None = None,
    class_caps: Literal["company", "class"] = "company",
    *,
    div_yield_unit: DivYieldUnit = "auto",
) -> pd.DataFrame:
    """One row per (date, issuer): market_cap, :data:`AMOUNTS` and the issuer's tickers.

    ``fundamentals`` is long (``date``, ``ticker``, fields); without a ``date`` column it is one
    snapshot. ``issuers`` maps ticker -> issuer (tickers not in it are their own issuer). A
    ticker listed twice on one date keeps its last row.
    """
    if "ticker" not in fundamentals.columns or "market_cap" not in fundamentals.columns:
        raise InputError("fundamentals need columns 'ticker' and 'market_cap'")
    if class_caps not in ("company", "class"):
        raise ConfigError("class_caps must be 'company' or 'class'")
    f = fundamentals.copy()
    if "date" not in f.columns:
        f["date"] = pd.NaT
    f["date"] = pd.to_datetime(f["date"])
    f["ticker"] = _normalized(f["ticker"])
    f = f.drop_duplicates(["date", "ticker"], keep="last")
    amounts = amounts_from_snapshot(f, div_yield_unit=div_yield_unit)
    cols = ["market_cap", *AMOUNTS]
    frame = pd.concat([f[["date", "ticker"]], amounts[cols]], axis=1).assign(
        issuer=_issuer_of(f["ticker"], issuers).to_numpy()
    )
    keys = ["date", "issuer"]
    if class_caps == "company":
        already_split = (
            f["cap_basis"].astype(str).str.startswith("company-level")
            if "cap_basis" in f.columns
            else pd.Series(False, index=f.index)
        )
        n_classes = frame.groupby(keys, dropna=False)["ticker"].transform("size")
        scale = np.where(already_split.to_numpy(), n_classes.to_numpy(), 1.0)
        frame[cols] = frame[cols].mul(scale, axis=0)
    grouped = frame.groupby(keys, sort=True, dropna=False)
    if class_caps == "company":
        out = grouped[cols].mean()
    else:  # a class without a value makes the issuer's sum unknown
        out = grouped[cols].sum(min_count=1)
        incomplete = grouped[cols].count().lt(grouped.size(), axis=0)
        out = out.mask(incomplete)
    out["tickers"] = _joined_tickers(frame, keys)
    return out


def _joined_tickers(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """ "+"-joined tickers per group of ``keys`` (fast path: most issuers have one ticker)."""
    grouped = frame.groupby(keys, sort=True, dropna=False)["ticker"]
    out = grouped.first().astype(object)
    multi = grouped.size() > 1
    if multi.any():
        sub = frame[grouped.transform("size").to_numpy() > 1]
        joined = sub.groupby(keys, sort=True, dropna=False)["ticker"].agg("+".join)
        out[multi.to_numpy()] = joined.to_numpy()
    return out


def issuer_tickers(panel: pd.DataFrame) -> pd.Series:
    """Issuer -> "+"-joined tickers it carried on any date of an :func:`issuer_amounts` panel."""
    t = panel["tickers"].astype(str)
    pairs = pd.DataFrame(
        {"issuer": t.index.get_level_values("issuer"), "ticker": t.to_numpy()}
    ).drop_duplicates()
    multi = pairs["ticker"].str.contains("+", regex=False)
    if multi.any():
        split = (
            pairs[multi].assign(ticker=pairs.loc[multi, "ticker"].str.split("+")).explode("ticker")
        )
        pairs = pd.concat([pairs[~multi], split]).drop_duplicates()
    return _joined_tickers(pairs, ["issuer"])


# --------------------------------------------------------------------------- baskets


def basket_membership(
    issuer_tickers: pd.Series,
    groups: Iterable[Group] = (),
    *,
    sectors: pd.Series | None = None,
    include_index: bool = True,
    include_rest: bool = True,
) -> pd.DataFrame:
    """Long (issuer, basket) pairs: "Index", each group, "Rest" (in no group), each sector.

    ``issuer_tickers`` maps issuer -> "+"-joined tickers (as :func:`issuer_amounts` gives); an
    issuer is in a group when any of its tickers is, and in the sector of its first ticker
    that has one.
    """
    tick = issuer_tickers.astype(str).str.split("+")
    rows: list[tuple[str, str]] = []
    issuers = list(issuer_tickers.index.astype(str))
    if include_index:
        rows += [(i, "Index") for i in issuers]
    in_groups: set[str] = set()
    group_list = list(groups)
    for g in group_list:
        wanted = set(g.tickers)
        members = [i for i, ts in zip(issuers, tick, strict=True) if wanted.intersection(ts)]
        in_groups.update(members)
        rows += [(i, g.name) for i in members]
    if include_rest and in_groups:
        rows += [(i, "Rest") for i in issuers if i not in in_groups]
    if sectors is not None:
        sec = sectors.copy()
        sec.index = pd.Index([normalize_ticker(t) for t in sec.index])
        sec = sec[~sec.index.duplicated()].dropna().astype(str)
        by_sector: list[tuple[str, str]] = []
        for i, ts in zip(issuers, tick, strict=True):
            name = next((sec[t] for t in ts if t in sec.index), None)
            if name is not None:
                by_sector.append((i, name))
        rows += sorted(by_sector, key=lambda r: r[1])
    return pd.DataFrame(rows, columns=["issuer", "basket"]).drop_duplicates()


def _basket_order(membership: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(membership["basket"]))


@dataclass(frozen=True)
class SnapshotArrays:
    """The issuer panel as dense (date x issuer) arrays, with the (basket x issuer) 0/1 matrix.

    The kernels below sum over issuers with one matrix product per quantity:
    ``sum_{i in b} x_{t,i} = (x @ B.T)[t, b]`` with NaN read as 0 after masking.
    """

    dates: pd.DatetimeIndex
    issuers: pd.Index
    baskets: pd.Index
    cap: np.ndarray  # (T, I) USD, NaN unknown
    amounts: dict[str, np.ndarray]  # each (T, I) USD, NaN unknown
    present: np.ndarray  # (T, I) bool: the issuer is listed on the snapshot
    basket_matrix: np.ndarray  # (K, I) float 0/1


def snapshot_arrays(panel: pd.DataFrame, membership: pd.DataFrame) -> SnapshotArrays:
    """Pivot an :func:`issuer_amounts` panel and a :func:`basket_membership` onto dense arrays."""
    dates = pd.DatetimeIndex(panel.index.get_level_values("date").unique()).sort_values()
    issuers = pd.Index(panel.index.get_level_values("issuer").unique())
    ti = dates.get_indexer(panel.index.get_level_values("date"))
    ii = issuers.get_indexer(panel.index.get_level_values("issuer"))
    shape = (len(dates), len(issuers))

    def dense(col: str) -> np.ndarray:
        out = np.full(shape, np.nan)
        out[ti, ii] = panel[col].to_numpy(dtype=float)
        return out

    present = np.zeros(shape, dtype=bool)
    present[ti, ii] = True
    baskets = pd.Index(_basket_order(membership))
    bm = np.zeros((len(baskets), len(issuers)))
    if len(membership):
        bi = baskets.get_indexer(pd.Index(membership["basket"]))
        mi = issuers.get_indexer(pd.Index(membership["issuer"].astype(str)))
        keep = mi >= 0
        bm[bi[keep], mi[keep]] = 1.0
    return SnapshotArrays(
        dates=dates,
        issuers=issuers,
        baskets=baskets,
        cap=dense("market_cap"),
        amounts={a: dense(a) for a in AMOUNTS},
        present=present,
        basket_matrix=bm,
    )


def _sums_by_basket(
    terms: dict[str, tuple[np.ndarray, np.ndarray]], bm: np.ndarray
) -> dict[str, np.ndarray]:
    """Each term's (T, K) sums over each basket's issuers of ``x`` where ``mask``.

    All terms go through one matrix product ``(Q*T, I) @ (I, K)`` (one BLAS call instead of Q).
    """
    if not terms:
        return {}
    stacked = np.stack([np.where(m, x, 0.0) for x, m in terms.values()])
    q, t, i = stacked.shape
    sums = (stacked.reshape(q * t, i) @ bm.T).reshape(q, t, bm.shape[0])
    return dict(zip(terms, sums, strict=True))


def basket_arrays_table(arr: SnapshotArrays) -> pd.DataFrame:
    """:func:`basket_table` from prepared arrays."""
    cap = arr.cap
    ones = np.ones_like(cap)
    have_cap = np.isfinite(cap)
    values = {"market_cap": cap, **arr.amounts}
    terms: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "market_cap": (cap, have_cap),
        "n_names": (ones, arr.present),
        "n_missing": (ones, arr.present & ~(have_cap & np.isfinite(arr.amounts["earnings"]))),
    }
    for a in AMOUNTS:
        both = have_cap & np.isfinite(arr.amounts[a])
        terms[a] = (arr.amounts[a], both)
        terms[f"cap_with_{a}"] = (cap, both)
    for r, (n_col, d_col) in RATIOS.items():
        both = np.isfinite(values[n_col]) & np.isfinite(values[d_col])
        terms[f"{r}|num"] = (values[n_col], both)
        terms[f"{r}|den"] = (values[d_col], both)
    sums = _sums_by_basket(terms, arr.basket_matrix)
    cols = {k: sums[k] for k in ("market_cap", "n_names", "n_missing")}
    for a in AMOUNTS:  # an amount nobody carries is unknown, not zero
        cols[a] = np.where(sums[f"cap_with_{a}"] > 0, sums[a], np.nan)
    cols["earnings_cap"] = sums["cap_with_earnings"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for r in RATIOS:
            top, bottom = sums[f"{r}|num"], sums[f"{r}|den"]
            ok = bottom > 0 if r in POSITIVE_DENOMINATOR else bottom != 0
            ratio = np.where(ok, top / np.where(ok, bottom, 1.0), np.nan)
            cols[r] = np.where(np.isfinite(ratio), ratio, np.nan)
        total = cols["market_cap"]
        for a in AMOUNTS:
            name = "coverage" if a == "earnings" else f"coverage_{a}"
            cols[name] = np.where(
                total > 0, sums[f"cap_with_{a}"] / np.where(total > 0, total, 1.0), np.nan
            )
    order = [
        "market_cap", "earnings_cap", *AMOUNTS, *RATIOS,
        "coverage", *(f"coverage_{a}" for a in AMOUNTS if a != "earnings"),
        "n_names", "n_missing",
    ]  # fmt: skip
    t, k = len(arr.dates), len(arr.baskets)
    out = pd.DataFrame(
        {c: cols[c].reshape(t * k) for c in order},
        index=pd.MultiIndex.from_product([arr.dates, arr.baskets], names=["date", "basket"]),
    )
    # a basket with no issuer listed on a date has no row that date
    out = out[out["n_names"].to_numpy() > 0]
    out["n_names"] = out["n_names"].round().astype(int)
    out["n_missing"] = out["n_missing"].round().astype(int)
    return out


def basket_table(panel: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """Aggregates of every (date, basket): totals, ratios, counts and coverage.

    ``panel`` is :func:`issuer_amounts` (index (date, issuer)); ``membership`` is
    :func:`basket_membership`. Columns: ``market_cap`` (total known cap), ``earnings_cap``
    (cap of the issuers with earnings), each amount summed over the issuers with it and a
    cap, each ratio of :data:`RATIOS` (sums over the issuers with both terms), ``coverage``
    (share of the known cap that has earnings), ``coverage_<amount>`` likewise, ``n_names``
    (issuers listed) and ``n_missing`` (issuers lacking a cap or earnings).
    """
    return basket_arrays_table(snapshot_arrays(panel, membership))


def fundamentals_table(
    fundamentals: pd.DataFrame,
    groups: Iterable[Group] = (),
    *,
    issuers: pd.Series | None = None,
    sectors: pd.Series | None = None,
    include_index: bool = True,
    include_rest: bool = True,
    class_caps: Literal["company", "class"] = "company",
    div_yield_unit: DivYieldUnit = "auto",
) -> pd.DataFrame:
    """:func:`basket_table` of every snapshot: index (date, basket); each snapshot's own names."""
    panel = issuer_amounts(fundamentals, issuers, class_caps, div_yield_unit=div_yield_unit)
    tickers = issuer_tickers(panel)
    mem = basket_membership(
        tickers, groups, sectors=sectors, include_index=include_index, include_rest=include_rest
    )
    return basket_table(panel, mem)


# --------------------------------------------------------------------------- growth


def like_for_like_growth(
    panel: pd.DataFrame,
    membership: pd.DataFrame,
    pairs: pd.DataFrame,
    amount: str = "earnings",
) -> pd.DataFrame:
    """Like-for-like growth of ``amount`` per (pair, basket) between snapshot dates.

    ``pairs`` has columns ``start`` and ``end`` (snapshot dates in ``panel``) and any index;
    returns a frame indexed by (that index, basket) with ``growth``, ``start_total``,
    ``end_total``, ``n_names`` (issuers in the like-for-like set) and ``coverage`` (their share of
    the basket's cap on ``end``).
    """
    arr = snapshot_arrays(panel, membership)
    return like_for_like_arrays(arr, pairs, (amount,))[amount]


def like_for_like_arrays(
    arr: SnapshotArrays, pairs: pd.DataFrame, amounts: Sequence[str] = AMOUNTS
) -> dict[str, pd.DataFrame]:
    """:func:`like_for_like_growth` of several amounts on prepared arrays."""
    unknown = [a for a in amounts if a not in AMOUNTS]
    if unknown:
        raise ConfigError(f"unknown amount '{unknown[0]}' (known: {', '.join(AMOUNTS)})")
    i0 = arr.dates.get_indexer(pd.DatetimeIndex(pairs["start"]))
    i1 = arr.dates.get_indexer(pd.DatetimeIndex(pairs["end"]))
    if (i0 < 0).any() or (i1 < 0).any():
        raise DataUnavailableError("a growth window starts or ends on a date with no snapshot")
    bm = arr.basket_matrix
    cap1 = arr.cap[i1]
    ones = np.ones_like(cap1)
    terms: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "cap_all": (cap1, np.isfinite(cap1)),
        "in_basket": (ones, arr.present[i1]),
    }
    wanted = list(dict.fromkeys(amounts))
    for a in wanted:
        x0, x1 = arr.amounts[a][i0], arr.amounts[a][i1]
        both = np.isfinite(x0) & np.isfinite(x1)
        terms[f"{a}|end"] = (x1, both)
        terms[f"{a}|start"] = (x0, both)
        terms[f"{a}|cap"] = (cap1, both & np.isfinite(cap1))
        terms[f"{a}|n"] = (ones, both)
    sums = _sums_by_basket(terms, bm)
    index = pd.MultiIndex.from_arrays(
        [np.repeat(pairs.index.to_numpy(), len(arr.baskets)), np.tile(arr.baskets, len(pairs))],
        names=[str(pairs.index.name or "pair"), "basket"],
    )
    keep = (sums["in_basket"] > 0).reshape(-1)
    cap_all = sums["cap_all"]
    out: dict[str, pd.DataFrame] = {}
    for a in wanted:
        end_total, start_total = sums[f"{a}|end"], sums[f"{a}|start"]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            growth = np.where(
                start_total > 0,
                end_total / np.where(start_total > 0, start_total, 1.0) - 1.0,
                np.nan,
            )
            coverage = np.where(
                cap_all > 0, sums[f"{a}|cap"] / np.where(cap_all > 0, cap_all, 1.0), np.nan
            )
        frame = pd.DataFrame(
            {
                "growth": growth.reshape(-1),
                "start_total": start_total.reshape(-1),
                "end_total": end_total.reshape(-1),
                "n_names": np.rint(sums[f"{a}|n"]).astype(int).reshape(-1),
                "coverage": coverage.reshape(-1),
            },
            index=index,
        )
        out[a] = frame[keep]
    return out


def window_tolerance(length: pd.Timedelta) -> pd.Timedelta:
    """How far a snapshot may sit from a window's start: 10% of the window, 3 to 92 days."""
    days = float(np.clip(0.1 * length / pd.Timedelta(days=1), 3.0, 92.0))
    return pd.Timedelta(days=days)


@dataclass(frozen=True)
class SnapshotWindow:
    """A growth window resolved on snapshot dates (``start`` None when unavailable)."""

    label: str
    end: pd.Timestamp
    target: pd.Timestamp | None
    start: pd.Timestamp | None
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.start is not None

    @property
    def years(self) -> float:
        return float("nan") if self.start is None else (self.end - self.start).days / 365.25


def resolve_snapshot_window(
    dates: pd.DatetimeIndex, spec: str, end: pd.Timestamp
) -> SnapshotWindow:
    """The snapshot nearest the start of window ``spec`` ending on snapshot ``end``.

    ``spec`` is a report window (1M, 3M, YTD, 1Y, 3Y, N[DWMY], ALL). The start snapshot must lie
    within :func:`window_tolerance` of the target start (``ALL``: the first snapshot); else
    the window is unavailable and ``reason`` says why.
    """
    from counterweight.measure.leadership import _anchor_date  # the report's window rules

    ns = pd.DatetimeIndex(dates).as_unit("ns").asi8  # nanoseconds, whatever the input unit
    day = 86_400_000_000_000  # nanoseconds
    end = pd.Timestamp(end)
    earlier = ns[ns < end.as_unit("ns").value]
    target = _anchor_date(spec, end)
    if target is None:
        if len(earlier) == 0:
            return SnapshotWindow(spec, end, None, None, "only one snapshot")
        return SnapshotWindow(spec, end, None, pd.Timestamp(int(earlier.min())))
    if len(earlier) == 0:
        return SnapshotWindow(spec, end, target, None, f"no snapshot before {end.date()}")
    tol = window_tolerance(end - target)
    gaps = np.abs(earlier - pd.Timestamp(target).as_unit("ns").value) / day
    k = int(np.argmin(gaps))
    nearest = pd.Timestamp(int(earlier[k]))
    if gaps[k] > tol / pd.Timedelta(days=1):
        return SnapshotWindow(
            spec,
            end,
            target,
            None,
            f"no snapshot within {tol.days} days of {target.date()} "
            f"(nearest {nearest.date()}, {float(gaps[k]):.0f} days away)",
        )
    return SnapshotWindow(spec, end, target, nearest)


@dataclass(frozen=True)
class SnapshotSpacing:
    """How the snapshots are spaced: count, span, median and largest gaps (days)."""

    n: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    median_gap_days: float
    largest_gaps: tuple[tuple[pd.Timestamp, pd.Timestamp, int], ...]  # (from, to, days)

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "first": None if self.first is None else self.first.date().isoformat(),
            "last": None if self.last is None else self.last.date().isoformat(),
            "median_gap_days": self.median_gap_days,
            "largest_gaps": [
                {"from": a.date().isoformat(), "to": b.date().isoformat(), "days": d}
                for a, b, d in self.largest_gaps
            ],
        }


def snapshot_spacing(dates: pd.DatetimeIndex, *, gap_days: int = 92) -> SnapshotSpacing:
    """Spacing of snapshot ``dates``; ``largest_gaps`` lists gaps over ``gap_days``, longest first."""
    d = pd.DatetimeIndex(sorted(set(pd.DatetimeIndex(dates))))
    if len(d) == 0:
        return SnapshotSpacing(0, None, None, float("nan"), ())
    gaps = (d[1:] - d[:-1]).days.to_numpy()
    big = sorted(
        ((pd.Timestamp(d[k]), pd.Timestamp(d[k + 1]), int(gaps[k])) for k in range(len(gaps))),
        key=lambda g: -g[2],
    )
    return SnapshotSpacing(
        n=len(d),
        first=pd.Timestamp(d[0]),
        last=pd.Timestamp(d[-1]),
        median_gap_days=float(np.median(gaps)) if len(gaps) else float("nan"),
        largest_gaps=tuple(g for g in big if g[2] > gap_days),
    )


def usable_snapshots(table: pd.DataFrame, *, share: float = 0.5) -> pd.DatetimeIndex:
    """Snapshot dates whose Index basket has earnings for at least ``share`` x the median count.

    ``table`` is :func:`basket_table` (it needs the "Index" basket). A snapshot listing only a
    handful of names (a partial file) is then never the start or end of a growth window.
    """
    idx = table.xs("Index", level="basket")
    with_e = idx["n_names"] - idx["n_missing"]
    keep = with_e >= share * float(with_e.median()) if len(with_e) else with_e.astype(bool)
    return pd.DatetimeIndex(idx.index[keep.to_numpy() & (with_e > 0).to_numpy()])


def grew_count(growth: pd.Series) -> tuple[int, int]:
    """(number of entries with growth > 0, number with a known growth)."""
    g = growth.dropna()
    return int((g > 0).sum()), len(g)


def window_pairs(windows: Sequence[SnapshotWindow]) -> pd.DataFrame:
    """The available windows as a ``pairs`` frame (index: label) for :func:`like_for_like_growth`."""
    ok = [w for w in windows if w.available]
    return pd.DataFrame(
        {"start": [w.start for w in ok], "end": [w.end for w in ok]},
        index=pd.Index([w.label for w in ok], name="window"),
    )


def latest_snapshot(dates: pd.DatetimeIndex, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
    """The last snapshot on or before ``as_of`` (None: the last); raises when there is none."""
    d = pd.DatetimeIndex(sorted(set(dates)))
    if as_of is not None:
        d = d[d <= pd.Timestamp(as_of)]
    if len(d) == 0:
        raise DataUnavailableError(f"no fundamentals snapshot on or before {as_of}")
    return pd.Timestamp(d[-1])


def fallback_window(dates: pd.DatetimeIndex, spec: str, end: pd.Timestamp) -> SnapshotWindow:
    """Window ``spec`` on the snapshots, or, when the spacing cannot support it, the span from
    the last snapshot on or before its target start (labelled ``since <date>``, its ``reason``
    saying why ``spec`` itself is unavailable). Unavailable only when no such snapshot exists.
    """
    w = resolve_snapshot_window(dates, spec, end)
    if w.available or w.target is None:
        return w
    before = dates[dates <= w.target]
    if len(before) == 0:
        return w
    start = pd.Timestamp(before[-1])
    return SnapshotWindow(f"since {start.date()}", end, None, start, f"{spec}: {w.reason}")


@dataclass(frozen=True)
class FundamentalsReading:
    """Fundamentals by basket on one snapshot, with like-for-like growth over a window.

    ``levels``: :func:`basket_table` rows of the ``snapshot`` (baskets: Index, groups, Rest,
    sectors); ``growth``: basket x amount like-for-like growth over ``window`` (NaN where a
    basket's base is <= 0 or no name carries the amount on both dates), with ``coverage``
    (of earnings); ``grew``: amount -> (sectors with growth > 0, sectors with a known growth);
    ``available``: the fields the snapshots carry (eps, pe, price_sales, ...).
    """

    levels: pd.DataFrame
    growth: pd.DataFrame
    window: SnapshotWindow
    snapshot: pd.Timestamp
    as_of: pd.Timestamp
    age_days: int
    grew: dict[str, tuple[int, int]]
    sectors: tuple[str, ...]
    available: tuple[str, ...]


@dataclass(frozen=True)
class SnapshotData:
    """Snapshots prepared once: issuer panel, basket membership and the basket table.

    ``usable``: the snapshot dates :func:`usable_snapshots` keeps; ``fields``: the fields the
    snapshots carry; ``groups``: the group names (Rest = the issuers in none of them).
    """

    panel: pd.DataFrame
    membership: pd.DataFrame
    arrays: SnapshotArrays
    table: pd.DataFrame
    usable: pd.DatetimeIndex
    dates: pd.DatetimeIndex
    fields: tuple[str, ...]
    groups: tuple[str, ...]
    as_of: pd.Timestamp | None = None

    @property
    def sectors(self) -> tuple[str, ...]:
        order = dict.fromkeys(self.membership["basket"])
        return tuple(b for b in order if b not in {"Index", "Rest", *self.groups})


def snapshot_data(
    fundamentals: pd.DataFrame,
    groups: Iterable[Group] = (),
    *,
    as_of: str | pd.Timestamp | None = None,
    issuers: pd.Series | None = None,
    sectors: pd.Series | None = None,
    class_caps: Literal["company", "class"] = "company",
    div_yield_unit: DivYieldUnit = "auto",
) -> SnapshotData:
    """Prepare the snapshots on or before ``as_of`` (no look-ahead) for the readings below."""
    if fundamentals.empty or "date" not in fundamentals.columns:
        raise DataUnavailableError("no fundamentals snapshots")
    f = fundamentals
    if as_of is not None:
        f = f[pd.to_datetime(f["date"]) <= pd.Timestamp(as_of)]
    if f.empty:
        raise DataUnavailableError(f"no fundamentals snapshot on or before {as_of}")
    group_list = list(groups)
    panel = issuer_amounts(f, issuers, class_caps, div_yield_unit=div_yield_unit)
    mem = basket_membership(issuer_tickers(panel), group_list, sectors=sectors)
    arrays = snapshot_arrays(panel, mem)
    table = basket_arrays_table(arrays)
    fields = tuple(
        name
        for name in ("price", "eps", "pe", "price_sales", "price_book", "ebitda", "div_yield")
        if has_field(f, name)
    )
    return SnapshotData(
        panel=panel,
        membership=mem,
        arrays=arrays,
        table=table,
        usable=usable_snapshots(table),
        dates=pd.DatetimeIndex(sorted(pd.to_datetime(f["date"]).unique())),
        fields=fields,
        groups=tuple(g.name for g in group_list),
        as_of=None if as_of is None else pd.Timestamp(as_of),
    )


def check_no_look_ahead(data: SnapshotData, as_of: str | pd.Timestamp | None) -> None:
    """Raise when prepared snapshots run past ``as_of`` (they would leak the future)."""
    if as_of is not None and len(data.dates) and data.dates[-1] > pd.Timestamp(as_of):
        raise ConfigError(
            f"the prepared snapshots run to {data.dates[-1].date()}, after the as-of date "
            f"{pd.Timestamp(as_of).date()}: prepare them with snapshot_data(..., as_of=...)"
        )


def fundamentals_reading(
    data: pd.DataFrame | SnapshotData,
    groups: Iterable[Group] = (),
    *,
    as_of: str | pd.Timestamp | None = None,
    window: str = "1Y",
    **kwargs: object,
) -> FundamentalsReading:
    """Levels on the last usable snapshot on or before ``as_of`` and growth over ``window``.

    ``data`` is a long fundamentals table (prepared with :func:`snapshot_data`, to which
    ``groups``, ``as_of`` and ``kwargs`` go) or an already prepared :class:`SnapshotData`.
    Only snapshots on or before ``as_of`` are read. The window falls back to the longest span
    the spacing allows (:func:`fallback_window`); ``growth`` is all NaN when even that is
    unavailable.
    """
    if not isinstance(data, SnapshotData):
        data = snapshot_data(data, groups, as_of=as_of, **kwargs)  # type: ignore[arg-type]
    else:
        check_no_look_ahead(data, as_of)
    table, usable = data.table, data.usable
    if len(usable) == 0:
        raise DataUnavailableError("no snapshot carries earnings (EPS or P/E)")
    end = pd.Timestamp(usable[-1])
    ref_raw = as_of if as_of is not None else data.as_of
    ref = end if ref_raw is None else pd.Timestamp(ref_raw)
    w = fallback_window(usable, window, end)
    order = list(data.arrays.baskets)
    sector_names = data.sectors
    growth = pd.DataFrame(index=pd.Index(order, name="basket"), columns=list(AMOUNTS), dtype=float)
    grew: dict[str, tuple[int, int]] = {}
    if w.available:
        by_amount = like_for_like_arrays(data.arrays, window_pairs([w]), AMOUNTS)
        for a in AMOUNTS:
            g = by_amount[a].droplevel(0)
            growth[a] = g["growth"].reindex(growth.index)
            if a == "earnings":
                growth["coverage"] = g["coverage"].reindex(growth.index)
            grew[a] = grew_count(growth[a].reindex(list(sector_names)))
    return FundamentalsReading(
        levels=pd.DataFrame(table.xs(end, level="date")),
        growth=growth,
        window=w,
        snapshot=end,
        as_of=ref,
        age_days=int((ref - end).days),
        grew=grew,
        sectors=sector_names,
        available=data.fields,
    )
