"""counterweight: measure, monitor and act on US equity index concentration.

Quick use::

    import counterweight as cw
    market = cw.load_sample()           # embedded real S&P 500 data, offline
    market.cap_weights(issuer_level=True).head(10)
"""

from __future__ import annotations

from counterweight.errors import (
    ConfigError,
    CounterweightError,
    DataUnavailableError,
    InfeasibleError,
    InputError,
)
from counterweight.groups import MAG7, Group, group
from counterweight.market import Market, Provenance

__version__ = "0.1.0"


def load_sample(frequency: str = "daily") -> Market:
    """The embedded real dataset as a :class:`Market` (see ``counterweight/data/sample/README.md``).

    ``frequency="daily"``: S&P 500 members, 2023-01 .. 2026-08, daily. ``"monthly"``: current and
    former members, month-end 2014 .. 2026.
    """
    from counterweight.data.sample import load_sample as _load

    return _load(frequency)


__all__ = [
    "MAG7",
    "ConfigError",
    "CounterweightError",
    "DataUnavailableError",
    "Group",
    "InfeasibleError",
    "InputError",
    "Market",
    "Provenance",
    "__version__",
    "group",
    "load_sample",
]
