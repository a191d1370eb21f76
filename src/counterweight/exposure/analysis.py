"""What the looked-through book holds: issuers, top 10, Mag 7, sectors, overlap, concentration, rules.

All weights are fractions of the whole book's value (cash included) unless a name says
otherwise; each is split by source (``direct``, ``cash``, then each fund), the split adding up
to the total.

* **Overlap** between funds a and b (issuer weights as fractions of each fund's net assets):
  ``O(a, b) = sum_i min(a_i, b_i)``, the share of either fund held in common (0 = nothing in
  common, 1 = the same portfolio); ``common`` counts the issuers both hold.
* **Concentration** of the looked-through equity (cash, fund remainders and opaque lines left
  out, the equity renormalised to 1), beside the S&P 500's cap weights on the same date:
  top-10 share, HHI = sum w_i^2 and effective N = 1 / HHI at issuer level
  (:mod:`counterweight.measure.concentration` kernels).
* **Rules**: US RIC 25/50 and UCITS 5/10/40 (:mod:`counterweight.construct.rules`) on the
  issuer weights as fractions of the book; opaque funds are not assigned to issuers and are
  reported beside the checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from counterweight.construct.rules import RIC, UCITS, RuleCheck
from counterweight.exposure.book import DIRECT, LookThrough
from counterweight.groups import MAG7, Group
from counterweight.market import Market
from counterweight.measure.concentration import TECH_PLUS_COMM, effective_n, hhi, top_n_shares

STALE_DAYS = 31
"""A holdings file older than this (days) is flagged in the notes."""
SPECIAL_ROWS = {
    "cash": "Cash",
    "opaque": "Opaque funds",
    "fund other": "Cash and other inside funds",
}


@dataclass(frozen=True)
class ExposureReport:
    """Every number of an exposure report, computed once (the report layer only formats)."""

    as_of: pd.Timestamp
    total: float
    issuers: pd.DataFrame  # columns: name, sector, tickers, kind, value, weight, <sources...>
    sources: tuple[str, ...]
    top10: pd.DataFrame
    groups: pd.DataFrame  # index group; weight, <sources...>
    sectors: pd.DataFrame  # index sector; weight, index_weight, <sources...>
    overlap: pd.DataFrame  # pairs: fund_a, fund_b, overlap, common
    concentration: pd.DataFrame  # index measure; columns book, sp500
    checks: list[RuleCheck]
    funds: (
        pd.DataFrame
    )  # index instrument; kind, value, weight, method, date, age_days, description
    opaque_weight: float
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        def frame(df: pd.DataFrame) -> list[dict[str, object]]:
            out = df.reset_index()
            out = out.astype(object).where(pd.notna(out), None)
            return [
                {
                    str(k): (v.isoformat() if isinstance(v, pd.Timestamp) else v)
                    for k, v in r.items()
                }
                for r in out.to_dict("records")
            ]

        return {
            "as_of": self.as_of.date().isoformat(),
            "total_value": self.total,
            "sources": list(self.sources),
            "funds": frame(self.funds),
            "top10": frame(self.top10),
            "groups": frame(self.groups),
            "sectors": frame(self.sectors),
            "overlap": frame(self.overlap),
            "concentration": frame(self.concentration),
            "checks": [
                {
                    "rule": c.name,
                    "passed": c.passed,
                    "value": c.value,
                    "limit": c.limit,
                    "detail": c.detail,
                }
                for c in self.checks
            ],
            "opaque_weight": self.opaque_weight,
            "issuers": frame(self.issuers),
            "notes": list(self.notes),
        }


def issuer_table(lt: LookThrough) -> pd.DataFrame:
    """One row per column of H: name, sector, tickers, kind, USD value, book weight, by source."""
    total = lt.total
    cols = lt.matrix.columns
    src = lt.by_source / total
    out = cols[["name", "sector", "tickers", "kind"]].copy()
    out["value"] = lt.book.to_numpy()
    out["weight"] = out["value"] / total
    for s in src.index:
        out[str(s)] = src.loc[s].to_numpy()
    return out.sort_values(["weight", "name"], ascending=[False, True])


def fund_overlap(lt: LookThrough) -> pd.DataFrame:
    """O(a, b) = sum_i min(a_i, b_i) over issuers for every pair of looked-through funds held."""
    m = lt.matrix
    issuer = m.issuer_mask()
    funds = [f for f, k in m.instrument_kind.items() if k == "fund"]
    rows = []
    H = m.H.tocsr()
    dense = {
        f: np.asarray(H.getrow(m.instruments.get_loc(f)).todense()).ravel() * issuer for f in funds
    }
    for i, a in enumerate(funds):
        for b in funds[i + 1 :]:
            wa, wb = dense[a], dense[b]
            rows.append(
                {
                    "fund_a": a,
                    "fund_b": b,
                    "overlap": float(np.minimum(wa, wb).sum()),
                    "common": int(np.sum((wa > 0) & (wb > 0))),
                }
            )
    return pd.DataFrame(rows, columns=["fund_a", "fund_b", "overlap", "common"])


def _concentration_row(w: np.ndarray) -> dict[str, float]:
    w = w[np.isfinite(w) & (w > 0)]
    if w.size == 0:
        return {"top 10": np.nan, "HHI": np.nan, "effective N": np.nan, "issuers": 0.0}
    w = w / w.sum()
    row = w[None, :]
    return {
        "top 10": float(top_n_shares(row, [10])[0, 0]),
        "HHI": float(hhi(row)[0]),
        "effective N": float(effective_n(row)[0]),
        "issuers": float(w.size),
    }


def _index_weights(market: Market | None, as_of: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
    """(issuer cap weights of the S&P 500, sector weights) on ``as_of``; empty without a Market."""
    if market is None:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    w = market.cap_weights(as_of)
    iss = market.securities["issuer"].reindex(w.index).astype(str)
    sec = market.securities["sector"].reindex(w.index)
    return w.groupby(iss.to_numpy()).sum(), w.groupby(sec.fillna("Unknown").to_numpy()).sum()


def exposure_report(
    lt: LookThrough,
    market: Market | None,
    *,
    groups: Sequence[Group] = (MAG7,),
    rules: Iterable[object] = (*RIC, *UCITS),
) -> ExposureReport:
    """Assemble every table of the report from a :class:`LookThrough`."""
    m = lt.matrix
    total = lt.total
    table = issuer_table(lt)
    sources = tuple(str(s) for s in lt.by_source.index)
    issuer_rows = table[table["kind"] == "issuer"]
    top10 = issuer_rows.head(10).copy()
    top10["cumulative"] = top10["weight"].cumsum()

    src_w = lt.by_source / total
    grows = []
    for g in groups:
        mask = m.tickers_mask(g.tickers)
        row = {"group": g.name, "weight": float(lt.book.to_numpy()[mask].sum() / total)}
        row.update({s: float(src_w.loc[s].to_numpy()[mask].sum()) for s in src_w.index})
        grows.append(row)
    group_frame = pd.DataFrame(grows).set_index("group") if grows else pd.DataFrame()

    idx_issuers, idx_sectors = _index_weights(market, lt.as_of)
    sec_col = (
        m.columns["sector"].astype(str).where(m.columns["kind"] == "issuer", m.columns["kind"])
    )
    by_sector = (lt.by_source / total).T.groupby(sec_col.to_numpy()).sum()
    sectors = by_sector.copy()
    sectors.insert(0, "weight", by_sector.sum(axis=1))
    sectors.insert(1, "S&P 500", idx_sectors.reindex(sectors.index).to_numpy())
    sectors.index.name = "sector"
    sectors = sectors.sort_values("weight", ascending=False)
    combo = sectors.loc[sectors.index.isin(TECH_PLUS_COMM)]
    if len(combo):
        sectors.loc["IT + Communication Services"] = combo.sum(axis=0, min_count=1)

    eq = issuer_rows["value"].to_numpy(dtype=float)
    book_c = _concentration_row(eq)
    idx_c = _concentration_row(idx_issuers.to_numpy(dtype=float))
    mag = group_frame["weight"].get("Mag 7", np.nan) if len(group_frame) else np.nan
    equity_share = float(eq.sum() / total) if total > 0 else np.nan
    mag_idx = np.nan
    if market is not None:
        w = market.cap_weights(lt.as_of)
        mag_idx = float(w[w.index.isin(MAG7.tickers)].sum())
    conc = pd.DataFrame(
        {
            "book": [*book_c.values(), mag / equity_share if equity_share else np.nan],
            "S&P 500": [*idx_c.values(), mag_idx],
        },
        index=pd.Index([*book_c.keys(), "Mag 7 (share of equity)"], name="measure"),
    )

    iw = issuer_rows["weight"]
    iw.index = issuer_rows.index.astype(str)
    checks = [r.evaluate(iw) for r in rules]  # type: ignore[attr-defined]

    opaque = float(table.loc[table["kind"] == "opaque", "weight"].sum())
    frows = []
    inst_total = lt.values.total
    for inst, kind in m.instrument_kind.items():
        look = m.looks.get(str(inst))
        frows.append(
            {
                "instrument": inst,
                "kind": kind,
                "value": float(inst_total.get(inst, 0.0)),
                "weight": float(inst_total.get(inst, 0.0) / total),
                "method": "direct" if look is None else look.method,
                "date": None if look is None or look.date is None else look.date.date().isoformat(),
                "age_days": None if look is None else look.age_days,
                "description": "" if look is None else look.description,
                "source": "" if look is None else look.source,
                "price": lt.values.price_source.get(str(inst), ""),
            }
        )
    funds = pd.DataFrame(frows).set_index("instrument").sort_values("value", ascending=False)
    notes = list(lt.notes)
    if opaque > 0:
        notes.append(
            f"{100 * opaque:.2f}% of the book is in opaque funds: counted as one line each, "
            "left out of the issuer, concentration and rule figures"
        )
    for inst, look in m.looks.items():
        if look.method == "file" and look.age_days is not None and look.age_days > STALE_DAYS:
            how = (
                "drifted by total return" if "drifted" in look.description else "used as published"
            )
            notes.append(
                f"{inst}: its holdings file is {look.age_days} days old ({look.date.date() if look.date else ''}), "
                f"{how}; give a newer file with --funds"
            )
    unknown = float(issuer_rows.loc[issuer_rows["sector"] == "Unknown", "weight"].sum())
    if unknown > 0:
        notes.append(
            f"{100 * unknown:.2f}% of the book is in issuers outside the Market's security master "
            "(sector unknown; each ticker its own issuer unless a known share class)"
        )
    return ExposureReport(
        as_of=lt.as_of,
        total=total,
        issuers=table,
        sources=sources,
        top10=top10,
        groups=group_frame,
        sectors=sectors,
        overlap=fund_overlap(lt),
        concentration=conc,
        checks=checks,
        funds=funds,
        opaque_weight=opaque,
        notes=tuple(notes),
    )


__all__ = ["DIRECT", "ExposureReport", "exposure_report", "fund_overlap", "issuer_table"]
