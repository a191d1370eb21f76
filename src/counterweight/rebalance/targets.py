"""Where target weights come from: a weights file (ticker, weight) or a construction policy.

A weights file is CSV or Parquet with a ticker column (``ticker``/``symbol``) and a weight
column (``weight``/``target``/``target_weight`` as fractions, or ``weight_pct``/``percent`` in
percent). Weights must be non-negative and sum to at most 1 (the rest is held in cash); a
ticker may appear once. A policy TOML goes through
:func:`counterweight.construct.policy.load_policy` and is built on the market's as-of date.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from counterweight.construct.rules import IssuerLimit, Rule
from counterweight.errors import InputError
from counterweight.market import Market, normalize_ticker

_TICKER = ("ticker", "symbol")
_FRACTION = ("weight", "target", "targetweight", "w")
_PERCENT = ("weightpct", "percent", "pct", "weightpercent", "targetpct")


def _key(c: object) -> str:
    return "".join(ch for ch in str(c).lower() if ch.isalnum())


def load_weights(path: str | Path) -> pd.Series:
    """Target weights by ticker from a file (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise InputError("weights file not found", file=p)
    try:
        frame = (
            pd.read_parquet(p)
            if p.suffix.lower() in {".parquet", ".pq"}
            else pd.read_csv(p, dtype=str)
        )
    except Exception as exc:
        raise InputError(f"cannot read the file ({type(exc).__name__}: {exc})", file=p) from None
    cols = {_key(c): str(c) for c in frame.columns}
    tcol = next((cols[k] for k in _TICKER if k in cols), None)
    fcol = next((cols[k] for k in _FRACTION if k in cols), None)
    pcol = next((cols[k] for k in _PERCENT if k in cols), None)
    if tcol is None:
        raise InputError("expected a ticker column (ticker or symbol)", file=p)
    wcol = fcol or pcol
    if wcol is None:
        raise InputError("expected a weight column (weight as a fraction, or weight_pct)", file=p)
    scale = 1.0 if fcol else 0.01
    values = pd.to_numeric(frame[wcol], errors="coerce")
    out: dict[str, float] = {}
    for i, (t, raw, v) in enumerate(zip(frame[tcol], frame[wcol], values, strict=True), start=2):
        if t is None or (isinstance(t, float) and np.isnan(t)) or not str(t).strip():
            raise InputError("empty ticker", file=p, row=i, column=tcol)
        if not np.isfinite(v):
            raise InputError(f"expected a number, got '{raw}'", file=p, row=i, column=wcol)
        if v < 0:
            raise InputError(f"negative weight {v}", file=p, row=i, column=wcol)
        sym = normalize_ticker(str(t))
        if sym in out:
            raise InputError(f"{sym} appears twice", file=p, row=i, column=tcol)
        out[sym] = float(v) * scale
    w = pd.Series(out, name="weight", dtype=float)
    w.index.name = "ticker"
    total = float(w.sum())
    if total > 1 + 1e-6:
        hint = " (percent? name the column weight_pct)" if total > 50 else ""
        raise InputError(f"weights sum to {total:.6f} > 1{hint}", file=p, column=wcol)
    return w


def policy_target(
    path: str | Path, market: Market, as_of: Any = None
) -> tuple[pd.Series, list[Rule], str]:
    """(target weights, the policy's rules for pre-trade compliance, policy name)."""
    from counterweight.construct.policy import load_policy

    policy = load_policy(path)
    built = policy.construct(market, as_of)
    return (
        built.weights[built.weights > 0],
        policy_rules(policy, market, built.benchmark),
        policy.name,
    )


def policy_rules(policy: Any, market: Market, benchmark: pd.Series) -> list[Rule]:
    """The rules a policy implies: its rule presets, its issuer cap and its group/sector bounds."""
    from counterweight.construct.rules import GroupLimit, preset

    spec = policy.spec
    rules: list[Rule] = []
    names = list(spec.rules.check)
    m = spec.methodology
    if m is not None and m.name in ("ric", "ucits") and m.name not in names:
        names.append(m.name)
    for n in names:
        rules.extend(preset(n))
    if spec.caps.single_name is not None:
        rules.append(
            IssuerLimit(
                float(spec.caps.single_name),
                name=f"policy: single issuer <= {spec.caps.single_name:.2%}",
            )
        )
    tickers = market.tickers
    for g in policy.group_bounds(market, tickers, benchmark):
        if g.lo > 0 or g.hi < 1:
            issuers = tuple(market.securities["issuer"].reindex(tickers[g.mask]).astype(str))
            rules.append(GroupLimit(g.name, issuers, max=g.hi, min=g.lo))
    return rules
