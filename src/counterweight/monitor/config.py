"""The monitor's TOML configuration: regime votes, guardrails, shock and flow settings.

The shipped defaults live in ``counterweight/config/monitor.toml`` (documented line by line
there and in ``docs/monitor.md``). A user file replaces whole tables it names: a user
``[[guardrails]]`` list replaces the default list, ``[regime]`` the default regime rules, and so
on; tables it does not name keep their defaults. Every error names the offending key.
"""

from __future__ import annotations

import operator
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from counterweight.data.files import read_text_file
from counterweight.errors import ConfigError

COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    # work on floats and elementwise on numpy arrays
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def parse_condition(text: str, key: str) -> tuple[str, float]:
    """``"> 0.6"`` -> ``(">", 0.6)``; the key is named in the error."""
    s = str(text).strip()
    for op in (">=", "<=", ">", "<"):
        if s.startswith(op):
            try:
                return op, float(s[len(op) :].strip())
            except ValueError:
                break
    raise ConfigError(f"{key}: expected a condition like '> 0.6' or '<= 0.4', got '{text}'")


@dataclass(frozen=True)
class Vote:
    """One regime vote: broadening if the signal meets ``broadening``, narrowing if it meets
    ``narrowing`` (conditions on the value, or on its historical percentile if ``on`` says so)."""

    signal: str
    broadening: tuple[str, float] | None
    narrowing: tuple[str, float] | None
    on: str = "value"
    label: str = ""


@dataclass(frozen=True)
class Guardrail:
    """``signal comparison threshold`` held for ``persistence`` sessions in a row.

    With ``change_over = k > 0`` the test applies to the change ``x_t - x_{t-k}`` instead of
    the level (e.g. top-10 share up 2 pp in a month: change_over = 21, '>' 0.02).
    """

    name: str
    signal: str
    comparison: str
    threshold: float
    persistence: int = 1
    change_over: int = 0
    description: str = ""
    severity: str = "warning"

    def describe(self) -> str:
        if self.description:
            return self.description
        what = (
            self.signal
            if not self.change_over
            else f"change of {self.signal} over {self.change_over} sessions"
        )
        return f"{what} {self.comparison} {self.threshold:g} for {self.persistence} session(s)"


@dataclass(frozen=True)
class MonitorConfig:
    """Validated monitor settings (see ``counterweight/config/monitor.toml``)."""

    votes: tuple[Vote, ...]
    margin: int
    guardrails: tuple[Guardrail, ...]
    shock_k: float = 3.0
    shock_lookback: int = 252
    shock_min_history: int = 60
    flow_classes: Mapping[str, str] = field(default_factory=dict)
    source: str = "defaults"


def _require(table: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}.{key} is required")
    return table[key]


def _int(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key}: expected an integer >= {minimum}, got {value!r}")
    return value


def _float(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    return float(value)


def conditions_overlap(a: tuple[str, float], b: tuple[str, float]) -> bool:
    """Whether some value meets both conditions (e.g. '> 0.5' and '< 0.6' do)."""
    lower = [c for c in (a, b) if c[0] in (">", ">=")]
    upper = [c for c in (a, b) if c[0] in ("<", "<=")]
    if len(lower) != 1:  # both bound the same side: they always share values
        return True
    (lop, lo), (uop, hi) = lower[0], upper[0]
    return lo < hi or (lo == hi and lop == ">=" and uop == "<=")


def _parse_votes(regime: Mapping[str, Any]) -> tuple[tuple[Vote, ...], int]:
    margin = _int(regime.get("margin", 1), "regime.margin", 1)
    raw = regime.get("votes", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError("regime.votes: expected a non-empty list of [[regime.votes]] tables")
    votes = []
    for i, v in enumerate(raw):
        where = f"regime.votes[{i}]"
        if not isinstance(v, Mapping):
            raise ConfigError(f"{where}: expected a table")
        sig = str(_require(v, "signal", where))
        on = str(v.get("on", "value"))
        if on not in ("value", "percentile"):
            raise ConfigError(f"{where}.on: expected 'value' or 'percentile', got '{on}'")
        b = parse_condition(v["broadening"], f"{where}.broadening") if "broadening" in v else None
        n = parse_condition(v["narrowing"], f"{where}.narrowing") if "narrowing" in v else None
        if b is None and n is None:
            raise ConfigError(f"{where}: give 'broadening' and/or 'narrowing' conditions")
        if b is not None and n is not None and conditions_overlap(b, n):
            raise ConfigError(
                f"{where}: 'broadening' and 'narrowing' conditions overlap; a value could vote both ways"
            )
        votes.append(Vote(sig, b, n, on, str(v.get("label", ""))))
    return tuple(votes), margin


def _parse_guardrails(raw: Any) -> tuple[Guardrail, ...]:
    if not isinstance(raw, list):
        raise ConfigError("guardrails: expected a list of [[guardrails]] tables")
    out: list[Guardrail] = []
    names: set[str] = set()
    for i, g in enumerate(raw):
        where = f"guardrails[{i}]"
        if not isinstance(g, Mapping):
            raise ConfigError(f"{where}: expected a table")
        name = str(_require(g, "name", where))
        where = f"guardrails.{name}"
        if name in names:
            raise ConfigError(f"{where}: duplicate guardrail name")
        names.add(name)
        comparison = str(_require(g, "comparison", where))
        if comparison not in COMPARISONS:
            raise ConfigError(f"{where}.comparison: expected one of > >= < <=, got '{comparison}'")
        out.append(
            Guardrail(
                name=name,
                signal=str(_require(g, "signal", where)),
                comparison=comparison,
                threshold=_float(_require(g, "threshold", where), f"{where}.threshold"),
                persistence=_int(g.get("persistence", 1), f"{where}.persistence", 1),
                change_over=_int(g.get("change_over", 0), f"{where}.change_over", 0),
                description=str(g.get("description", "")),
                severity=str(g.get("severity", "warning")),
            )
        )
    return tuple(out)


def default_config_text() -> str:
    """The shipped default TOML (package data)."""
    return resources.files("counterweight").joinpath("config/monitor.toml").read_text()


def _merged(user: Mapping[str, Any]) -> dict[str, Any]:
    base = tomllib.loads(default_config_text())
    known = {"regime", "guardrails", "shocks", "flows"}
    for key in user:
        if key not in known:
            raise ConfigError(f"{key}: unknown table (expected one of {', '.join(sorted(known))})")
    base.update(user)
    return base


def parse_config(data: Mapping[str, Any], source: str = "defaults") -> MonitorConfig:
    """Validate a TOML mapping (merged over the defaults) into a :class:`MonitorConfig`."""
    merged = _merged(data)
    regime = merged.get("regime", {})
    if not isinstance(regime, Mapping):
        raise ConfigError("regime: expected a table")
    votes, margin = _parse_votes(regime)
    shocks = merged.get("shocks", {})
    flows = merged.get("flows", {})
    classes = flows.get("classes", {}) if isinstance(flows, Mapping) else {}
    if not isinstance(classes, Mapping):
        raise ConfigError(
            "flows.classes: expected a table of FUND = 'diversified' | 'cap_weighted'"
        )
    k = _float(shocks.get("k", 3.0), "shocks.k")
    if k <= 0:
        raise ConfigError(f"shocks.k: expected a positive number of standard deviations, got {k}")
    return MonitorConfig(
        votes=votes,
        margin=margin,
        guardrails=_parse_guardrails(merged.get("guardrails", [])),
        shock_k=k,
        shock_lookback=_int(shocks.get("lookback", 252), "shocks.lookback", 2),
        shock_min_history=_int(shocks.get("min_history", 60), "shocks.min_history", 2),
        flow_classes={str(f): str(c) for f, c in classes.items()},
        source=source,
    )


def load_config(path: str | Path | None = None) -> MonitorConfig:
    """The defaults, or a user TOML file merged over them."""
    if path is None:
        return parse_config({}, "defaults")
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: configuration file not found")
    try:
        data = tomllib.loads(read_text_file(p))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    return parse_config(data, str(p))
