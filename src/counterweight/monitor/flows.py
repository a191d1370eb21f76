"""Fund flows: is new money going to diversified / equal-weight products or to cap-weighted ones?

Input is a CSV with one row per fund and date: ``date, fund, flow_usd`` (net creations minus
redemptions in USD; positive = inflow). Funds are sorted into two buckets by a table
(:data:`DEFAULT_FUND_CLASSES`, overridable from the monitor TOML ``[flows.classes]``):

* ``diversified``: equal-weight products (RSP, QQQE, the RSPx sector twins, ...) and
  small / mid cap funds, money that spreads away from the largest names;
* ``cap_weighted``: broad cap-weighted index funds and mega-cap growth funds.

Funds in neither bucket are kept as ``other`` and reported, never silently mixed in. A flow
dated on a non-trading day is booked on the next trading date.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError, InputError
from counterweight.market import normalize_ticker

FUND_CLASSES = ("diversified", "cap_weighted")

DEFAULT_FUND_CLASSES: dict[str, str] = {
    # equal weight
    **{
        t: "diversified"
        for t in (
            "RSP",
            "QQQE",
            "EQAL",
            "EUSA",
            "EWMC",
            "EWSC",
            "RSPT",
            "RSPF",
            "RSPH",
            "RSPN",
            "RSPM",
            "RSPG",
            "RSPU",
            "RSPS",
            "RSPD",
            "RSPC",
            "RSPR",
            # small and mid caps
            "IWM",
            "IJR",
            "IJH",
            "VB",
            "VO",
            "MDY",
            "SPMD",
            "SPSM",
            "SCHA",
            "SCHM",
            "VTWO",
        )
    },
    # cap weighted large caps and mega-cap growth
    **{
        t: "cap_weighted"
        for t in (
            "SPY",
            "IVV",
            "VOO",
            "SPLG",
            "QQQ",
            "QQQM",
            "VTI",
            "ITOT",
            "SCHX",
            "SCHB",
            "IWB",
            "VV",
            "OEF",
            "XLG",
            "MGK",
            "VUG",
            "IWF",
            "SPYG",
            "IVW",
            "SCHG",
            "MAGS",
            "XLK",
        )
    },
}
"""Default bucket of well-known US equity ETFs (see the module docstring)."""


def fund_classes(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The default table with ``overrides`` (fund -> 'diversified' | 'cap_weighted') applied."""
    table = dict(DEFAULT_FUND_CLASSES)
    for fund, cls in (overrides or {}).items():
        if cls not in FUND_CLASSES:
            raise ConfigError(
                f"flows.classes.{fund}: expected one of {', '.join(FUND_CLASSES)}, got '{cls}'"
            )
        table[normalize_ticker(fund)] = cls
    return table


def load_flows(path: str | Path) -> pd.DataFrame:
    """Read and validate a flows CSV into columns ``date`` (Timestamp), ``fund``, ``flow_usd``."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable CSV ({exc})", file=p) from None
    cols = {c.strip().lower(): c for c in raw.columns}
    for need in ("date", "fund", "flow_usd"):
        if need not in cols:
            raise InputError(
                f"missing column '{need}' (expected columns date, fund, flow_usd)", file=p
            )
    dates = pd.to_datetime(raw[cols["date"]].str.strip(), errors="coerce", format="mixed")
    flows = pd.to_numeric(raw[cols["flow_usd"]].str.replace(",", "").str.strip(), errors="coerce")
    funds = raw[cols["fund"]].str.strip()
    for name, bad in (
        ("date", dates.isna()),
        ("flow_usd", ~np.isfinite(flows.to_numpy(dtype=np.float64))),
        ("fund", funds == ""),
    ):
        if bad.any():
            i = int(np.flatnonzero(np.asarray(bad))[0])
            value = raw[cols[name]].iloc[i]
            raise InputError(f"invalid value '{value}'", file=p, row=i + 2, column=name)
    return pd.DataFrame(
        {"date": dates.dt.normalize(), "fund": funds.map(normalize_ticker), "flow_usd": flows}
    )


def classify_flows(
    flows: pd.DataFrame, dates: pd.DatetimeIndex, classes: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Daily flows per bucket on the market's trading dates (date x diversified, cap_weighted,
    other), USD. Flows after the last trading date are dropped; before the first, ignored."""
    table = fund_classes(classes)
    columns = [*FUND_CLASSES, "other"]
    code = flows["fund"].map(lambda f: columns.index(table.get(f, "other"))).to_numpy(dtype=np.intp)
    when = pd.DatetimeIndex(flows["date"])
    pos = dates.searchsorted(when, side="left")
    keep = pos < len(dates)
    if len(dates):
        keep &= np.asarray(when >= dates[0])
    values = np.zeros((len(dates), len(columns)))
    np.add.at(values, (pos[keep], code[keep]), flows["flow_usd"].to_numpy(dtype=np.float64)[keep])
    out = pd.DataFrame(values, index=dates, columns=pd.Index(columns, name="bucket"))
    return out


def unclassified_funds(flows: pd.DataFrame, classes: Mapping[str, str] | None = None) -> list[str]:
    """Funds of the CSV that are in neither bucket (reported so the user can classify them)."""
    table = fund_classes(classes)
    return sorted({f for f in flows["fund"] if f not in table})
