"""Construction policies: a validated TOML description of target weights, and how to build them.

A policy names an optional universe (GICS sectors, exclusions), a base scheme (cap, equal,
inverse volatility or a blend), optional score tilts,
and constraints: a single-name (or issuer) cap, group bounds ("Mag 7 at most 20%"), sector
bounds (absolute, or relative to the cap-weighted benchmark: "IT + Communication Services at
benchmark minus 10 pp"), an index methodology (S&P Select Sector, MSCI 10/40 or 25/50, RIC,
UCITS) and fund rules to check. Example::

    name = "Mag 7 at most 20%"
    [base]
    scheme = "cap"
    [caps]
    single_name = 0.10
    [[groups]]
    name = "Mag 7"
    preset = "mag7"
    max = 0.20
    [rules]
    check = ["ric"]

Unknown keys and impossible values raise :class:`ConfigError` naming the key. The exact paths of
:mod:`~counterweight.construct.capping` are used whenever the groups are disjoint; overlapping
groups and the tracking-error objective use :mod:`~counterweight.construct.optimize`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from counterweight.construct import methodology as meth
from counterweight.construct import schemes
from counterweight.construct.capping import GroupBound, bounded_weights
from counterweight.construct.rules import GroupLimit, RuleCheck, check, preset
from counterweight.errors import ConfigError, InputError
from counterweight.groups import MAG7
from counterweight.market import Market, normalize_ticker


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Scheme = Literal["cap", "equal", "inverse_volatility"]


class BlendPart(_Model):
    scheme: Scheme
    weight: float = Field(gt=0)


class BaseSpec(_Model):
    """The base weights before tilts and constraints."""

    scheme: Literal["cap", "equal", "inverse_volatility", "blend"] = "cap"
    lookback_days: int = Field(default=252, ge=2, le=5000)
    issuer_level: bool = True
    blend: tuple[BlendPart, ...] = ()

    @model_validator(mode="after")
    def _blend_parts(self) -> BaseSpec:
        if self.scheme == "blend" and not self.blend:
            raise ValueError("scheme 'blend' needs [[base.blend]] parts")
        if self.scheme != "blend" and self.blend:
            raise ValueError("[[base.blend]] parts are only allowed with scheme = 'blend'")
        return self


class TiltSpec(_Model):
    """w ∝ base x m(z(score)); score is a built-in name or a column of ``file``."""

    score: str
    strength: float = Field(default=1.0, ge=0, le=10)
    file: str | None = None
    invert: bool = False


class CapSpec(_Model):
    single_name: float | None = Field(default=None, gt=0, le=1)
    issuer_level: bool = True


class GroupSpec(_Model):
    name: str
    tickers: tuple[str, ...] = ()
    preset: Literal["mag7"] | None = None
    min: float = Field(default=0.0, ge=0, le=1)
    max: float = Field(default=1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> GroupSpec:
        if not self.tickers and self.preset is None:
            raise ValueError("give tickers or preset")
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class SectorSpec(_Model):
    """Bounds on the total weight of one or more GICS sectors.

    ``relative_to = "benchmark"``: ``min`` / ``max`` are offsets (fractions, may be negative)
    from the sectors' cap weight on the as-of date, e.g. ``max = -0.10`` is "benchmark minus
    10 pp". ``"absolute"``: plain fractions. ``target`` sets min = max.
    """

    sectors: tuple[str, ...]
    relative_to: Literal["absolute", "benchmark"] = "absolute"
    min: float | None = Field(default=None, ge=-1, le=1)
    max: float | None = Field(default=None, ge=-1, le=1)
    target: float | None = Field(default=None, ge=-1, le=1)

    @model_validator(mode="after")
    def _check(self) -> SectorSpec:
        if not self.sectors:
            raise ValueError("list at least one sector")
        if self.target is not None and (self.min is not None or self.max is not None):
            raise ValueError("give either target or min/max")
        if self.min is None and self.max is None and self.target is None:
            raise ValueError("give min, max or target")
        if self.relative_to == "absolute":
            for key in ("min", "max", "target"):
                v = getattr(self, key)
                if v is not None and v < 0:
                    raise ValueError(f"{key} must be >= 0 for absolute bounds")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class MethodologySpec(_Model):
    name: Literal[
        "sp_select_sector", "sp_select_sector_pre2024", "msci_10_40", "msci_25_50", "ric", "ucits"
    ]
    buffers: bool = True
    single: float | None = Field(default=None, gt=0, le=1)
    threshold: float | None = Field(default=None, gt=0, le=1)
    aggregate: float | None = Field(default=None, gt=0, le=1)
    aggregate_target: float | None = Field(default=None, gt=0, le=1)


class RulesSpec(_Model):
    check: tuple[Literal["ric", "ucits"], ...] = ()


class OptimizerSpec(_Model):
    objective: Literal["proportional", "tracking_error"] = "proportional"
    covariance_lookback_days: int = Field(default=252, ge=20, le=5000)


class UniverseSpec(_Model):
    """Which index members are eligible: only these GICS sectors (empty: all), minus ``exclude``."""

    sectors: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


class PolicyModel(_Model):
    name: str = "policy"
    description: str = ""
    universe: UniverseSpec = UniverseSpec()
    base: BaseSpec = BaseSpec()
    tilts: tuple[TiltSpec, ...] = ()
    caps: CapSpec = CapSpec()
    groups: tuple[GroupSpec, ...] = ()
    sectors: tuple[SectorSpec, ...] = ()
    methodology: MethodologySpec | None = None
    rules: RulesSpec = RulesSpec()
    optimizer: OptimizerSpec = OptimizerSpec()


def _error_text(exc: ValidationError, source: str) -> str:
    parts = []
    for e in exc.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{key}: {msg}")
    return f"{source}: invalid policy: " + "; ".join(parts)


@dataclass(frozen=True)
class Construction:
    """A constructed portfolio and what it was built from."""

    policy: str
    as_of: pd.Timestamp
    base: pd.Series  # base weights after tilts, before constraints
    benchmark: pd.Series  # cap weights of the members on as_of
    weights: pd.Series  # target weights
    path: str  # "exact", "optimizer", "methodology+exact", ...
    checks: list[RuleCheck] = field(default_factory=list)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A validated construction policy. Build with :func:`load_policy` or :meth:`from_dict`."""

    spec: PolicyModel
    root: Path = Path(".")

    @property
    def name(self) -> str:
        return self.spec.name

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, source: str = "policy", root: Path | None = None
    ) -> Policy:
        try:
            spec = PolicyModel.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_error_text(exc, source)) from None
        return cls(spec=spec, root=root or Path("."))

    # -------------------------------------------------------------- base weights
    def _scheme(self, market: Market, as_of: pd.Timestamp, scheme: str) -> pd.Series:
        b = self.spec.base
        if scheme == "cap":
            return schemes.cap_weight(market, as_of)
        if scheme == "equal":
            return schemes.equal_weight(market, as_of, issuer_level=b.issuer_level)
        return schemes.inverse_volatility(market, as_of, lookback=b.lookback_days)

    def _score(self, market: Market, as_of: pd.Timestamp, t: TiltSpec) -> pd.Series:
        if t.file is None:
            s = schemes.score(market, t.score, as_of)
        else:
            path = Path(t.file)
            if not path.is_absolute():
                path = self.root / path
            s = read_scores(path, t.score)
        return -s if t.invert else s

    def base_weights(self, market: Market, as_of: str | pd.Timestamp | None = None) -> pd.Series:
        """Base scheme with tilts applied, over the eligible members on ``as_of`` (sums to 1)."""
        market = self.eligible(market)
        ts = market.dates[market.date_position(as_of)]
        b = self.spec.base
        if b.scheme == "blend":
            w = schemes.blend([(p.weight, self._scheme(market, ts, p.scheme)) for p in b.blend])
        else:
            w = self._scheme(market, ts, b.scheme)
        for t in self.spec.tilts:
            w = schemes.tilt(w, self._score(market, ts, t), t.strength)
        return w

    # -------------------------------------------------------------- constraints
    def group_bounds(
        self, market: Market, tickers: pd.Index, benchmark: pd.Series
    ) -> list[GroupBound]:
        """Group and sector bounds as masks over ``tickers`` (relative bounds resolved)."""
        out: list[GroupBound] = []
        for g in self.spec.groups:
            names = (
                MAG7.tickers
                if g.preset == "mag7"
                else tuple(normalize_ticker(t) for t in g.tickers)
            )
            if g.preset == "mag7" and g.tickers:
                names = names + tuple(normalize_ticker(t) for t in g.tickers)
            mask = tickers.isin(names)
            if not mask.any():
                raise ConfigError(
                    f"groups: '{g.name}' has none of its tickers ({', '.join(names[:8])}) "
                    "among the names held on the as-of date"
                )
            out.append(GroupBound(g.name, np.asarray(mask), g.min, g.max))
        sectors = market.securities["sector"].reindex(tickers)
        known = set(market.securities["sector"].dropna().astype(str))
        for i, s in enumerate(self.spec.sectors):
            for name in s.sectors:
                if name not in known:
                    raise ConfigError(
                        f"sectors[{i}].sectors: unknown sector '{name}' (known: {', '.join(sorted(known))})"
                    )
            mask = np.asarray(sectors.isin(s.sectors))
            label = " + ".join(s.sectors)
            lo, hi = (s.target, s.target) if s.target is not None else (s.min, s.max)
            if s.relative_to == "benchmark":
                ref = float(benchmark.reindex(tickers).fillna(0.0)[mask].sum())
                lo = None if lo is None else ref + lo
                hi = None if hi is None else ref + hi
            lo_v = 0.0 if lo is None else max(0.0, lo)
            hi_v = 1.0 if hi is None else hi
            if hi_v < 0 or lo_v > 1:
                raise ConfigError(
                    f"sectors[{i}]: {label} bounds resolve to {lo_v:.4f}..{hi_v:.4f}, outside 0..1"
                )
            out.append(GroupBound(label, mask, lo_v, min(1.0, hi_v)))
        return out

    def eligible(self, market: Market) -> Market:
        """The market with membership limited to the policy's universe (sectors, exclusions).

        The benchmark of relative bounds and of the before/after comparison is then the cap
        weight of this universe (e.g. the Information Technology sector for a Select Sector
        style index).
        """
        u = self.spec.universe
        if not u.sectors and not u.exclude:
            return market
        keep = np.ones(len(market.tickers), dtype=bool)
        if u.sectors:
            known = set(market.securities["sector"].dropna().astype(str))
            for name in u.sectors:
                if name not in known:
                    raise ConfigError(
                        f"universe.sectors: unknown sector '{name}' (known: {', '.join(sorted(known))})"
                    )
            keep &= np.asarray(market.securities["sector"].isin(u.sectors))
        if u.exclude:
            keep &= ~np.asarray(market.tickers.isin([normalize_ticker(t) for t in u.exclude]))
        return market.with_members(market.members & keep[None, :])

    def construct(self, market: Market, as_of: str | pd.Timestamp | None = None) -> Construction:
        """Base weights, constraints, methodology and rule checks for ``as_of``."""
        market = self.eligible(market)
        ts = market.dates[market.date_position(as_of)]
        base = self.base_weights(market, ts)
        bench = schemes.cap_weight(market, ts)
        tickers = base.index
        pos = market.tickers.get_indexer(tickers)
        codes_all = market.issuer_codes[pos]
        icodes = np.unique(codes_all, return_inverse=True)[1].astype(np.intp)
        codes = icodes if self.spec.caps.issuer_level else None
        groups = self.group_bounds(market, tickers, bench)
        cap = float(self.spec.caps.single_name) if self.spec.caps.single_name else float("inf")
        notes: list[str] = []
        b = base.to_numpy(dtype=float)
        m = self.spec.methodology
        user_constraints = bool([g for g in groups if g.lo > 0 or g.hi < 1]) or np.isfinite(cap)
        cov = (
            self._covariance(market, ts, tickers)
            if self.spec.optimizer.objective == "tracking_error"
            else None
        )
        if m is not None:
            plan = meth.plan(
                b,
                m.name,
                buffers=m.buffers,
                issuer_codes=icodes,
                cap=cap,
                single=m.single,
                threshold=m.threshold,
                aggregate=m.aggregate,
                aggregate_target=m.aggregate_target,
            )
            notes.extend(plan.notes)
            if not user_constraints and cov is None:
                w: tuple[np.ndarray, str] = (plan.weights, m.name)
            else:
                w = solve(
                    b,
                    cap=plan.caps,
                    groups=[*groups, *plan.groups],
                    issuer_codes=icodes,
                    objective=self.spec.optimizer.objective,
                    covariance=cov,
                )
                w = (w[0], f"{m.name} constraints + {w[1]}")
                notes.append(
                    f"{m.name}: the methodology's caps and large-issuer set are combined with the "
                    "policy's other constraints"
                )
        else:
            w = solve(
                b,
                cap=cap,
                groups=groups,
                issuer_codes=codes,
                objective=self.spec.optimizer.objective,
                covariance=cov,
            )
        path = w[1]
        if m is not None and m.name in ("ric", "ucits") and m.name not in self.spec.rules.check:
            rule_sets = (*self.spec.rules.check, m.name)
        else:
            rule_sets = self.spec.rules.check
        weights = pd.Series(w[0], index=tickers, name="weight")
        weights.index.name = "ticker"
        rules: list[Any] = []
        for r in rule_sets:
            rules.extend(preset(r))
        for g in groups:
            if g.lo > 0 or g.hi < 1:
                iss = tuple(market.securities["issuer"].reindex(tickers[g.mask]).astype(str))
                rules.append(GroupLimit(g.name, iss, max=g.hi, min=g.lo))
        checks = check(weights, market, rules) if rules else []
        i = market.date_position(ts)
        no_cap = int(np.sum(market.members[i] & ~np.isfinite(market.caps[i])))
        if no_cap:
            notes.append(f"{no_cap} members without a market cap are left out of cap weights")
        if bool(np.any(market.caps_estimated[i] & market.members[i])):
            notes.append("some market caps on this date are estimated (see the data caveats)")
        return Construction(
            policy=self.name,
            as_of=ts,
            base=base,
            benchmark=bench,
            weights=weights,
            path=path,
            checks=checks,
            notes=tuple(notes),
        )

    def target_weights(self, market: Market, as_of: str | pd.Timestamp | None = None) -> pd.Series:
        """Target weights of the members on ``as_of`` (ticker-indexed, summing to 1)."""
        return self.construct(market, as_of).weights

    def _covariance(self, market: Market, ts: pd.Timestamp, tickers: pd.Index) -> np.ndarray:
        i = market.date_position(ts)
        lb = self.spec.optimizer.covariance_lookback_days
        pos = market.tickers.get_indexer(tickers)
        r = market.returns[max(1, i - lb + 1) : i + 1][:, pos]
        r = np.where(np.isfinite(r), r, 0.0)
        if r.shape[0] < 20:
            raise InputError(
                "tracking-error objective needs at least 20 days of returns before as_of"
            )
        from sklearn.covariance import LedoitWolf

        return np.asarray(LedoitWolf().fit(r).covariance_)


def solve(
    b: np.ndarray,
    *,
    cap: float | np.ndarray = np.inf,
    groups: list[GroupBound] | tuple[GroupBound, ...] = (),
    issuer_codes: np.ndarray | None = None,
    objective: str = "proportional",
    covariance: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """Pick the path: exact when the groups are disjoint (and hold whole issuers when capping
    issuers) and the objective is proportional, else cvxpy.

    Returns (weights, path name). Issuer caps on the general path become one group per
    multi-class issuer (cap on the issuer total).
    """
    active = [g for g in groups if g.lo > 0 or g.hi < 1]
    disjoint = not active or int(np.max(np.sum([g.mask for g in active], axis=0))) <= 1
    if disjoint and issuer_codes is not None:  # groups must hold whole issuers on the exact path
        for g in active:
            inside = np.bincount(issuer_codes, weights=g.mask.astype(float))
            total = np.bincount(issuer_codes)
            if np.any((inside > 0) & (inside < total)):
                disjoint = False
                break
    if objective == "proportional" and disjoint:
        return bounded_weights(b, cap=cap, groups=active, issuer_codes=issuer_codes), "exact"
    from counterweight.construct.optimize import optimize_weights

    name_cap: float | np.ndarray = cap
    extra: list[GroupBound] = []
    if issuer_codes is not None:
        c = np.asarray(cap, dtype=float)
        counts = np.bincount(issuer_codes)
        multi = np.flatnonzero(counts > 1)
        icap = np.broadcast_to(c, (counts.size,)) if c.ndim == 0 else c
        for k in multi:
            if np.isfinite(icap[k]):
                extra.append(GroupBound(f"issuer {k}", issuer_codes == k, 0.0, float(icap[k])))
        name_cap = icap[issuer_codes]
    return (
        optimize_weights(
            b, cap=name_cap, groups=[*active, *extra], covariance=covariance, objective=objective
        ),
        "optimizer",
    )


def read_scores(path: Path, column: str) -> pd.Series:
    """A score column from a CSV with a ``ticker`` column (bad file: :class:`InputError`)."""
    if not path.exists():
        raise InputError("score file not found", file=path)
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot parse CSV: {exc}", file=path) from None
    cols = {c.lower().strip(): c for c in df.columns}
    tcol = cols.get("ticker") or cols.get("symbol")
    if tcol is None:
        raise InputError("expected a 'ticker' column", file=path)
    if column not in df.columns:
        raise InputError(
            f"no column '{column}' (columns: {', '.join(map(str, df.columns))})", file=path
        )
    vals = pd.to_numeric(df[column], errors="coerce")
    bad = vals.isna() & df[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise InputError("not a number", file=path, row=row, column=column)
    s = pd.Series(vals.to_numpy(), index=[normalize_ticker(t) for t in df[tcol]])
    return s[~s.index.duplicated(keep="last")]


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy TOML file (errors name the file and the key)."""
    p = Path(path)
    if not p.exists():
        raise InputError("policy file not found", file=p)
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    return Policy.from_dict(data, source=str(p), root=p.parent)


@dataclass(frozen=True)
class Profile:
    """Before/after concentration of a construction (fractions; effective N in issuers).

    ``measures``: rows top1, top5, top10, hhi, effective_n, n_names, Mag 7 share, ... and
    columns ``benchmark`` (cap weight) and ``target``; ``sectors``: GICS sector weights, same
    columns; ``holdings``: the largest target positions with their benchmark and base weights.
    """

    measures: pd.DataFrame
    sectors: pd.DataFrame
    holdings: pd.DataFrame


def profile(construction: Construction, market: Market, *, top: int = 15) -> Profile:
    """Concentration of the benchmark and the target (issuer level), via :mod:`counterweight.measure`."""
    from counterweight.measure.concentration import portfolio_concentration

    cols = {"benchmark": construction.benchmark, "target": construction.weights}
    measures, sectors = {}, {}
    for key, w in cols.items():
        s = w.copy()
        s.name = construction.as_of
        c = portfolio_concentration(s, securities=market.securities)
        measures[key] = c.measures.iloc[0]
        sectors[key] = c.sectors.iloc[:, 0] if c.sectors.shape[1] == 1 else c.sectors.iloc[0]
    m = pd.DataFrame(measures)
    sec = pd.DataFrame(sectors).fillna(0.0)
    sec["change"] = sec["target"] - sec["benchmark"]
    m["change"] = m["target"] - m["benchmark"]
    idx = construction.weights.sort_values(ascending=False).index[:top]
    hold = pd.DataFrame(
        {
            "name": market.securities["name"].reindex(idx),
            "sector": market.securities["sector"].reindex(idx),
            "benchmark": construction.benchmark.reindex(idx).fillna(0.0),
            "base": construction.base.reindex(idx).fillna(0.0),
            "target": construction.weights.reindex(idx),
        }
    )
    return Profile(measures=m, sectors=sec.sort_values("target", ascending=False), holdings=hold)
