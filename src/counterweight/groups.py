"""Named baskets of stocks: the Magnificent 7, "the rest", GICS sectors, custom baskets.

A :class:`Group` is a name and a set of tickers. Groups are resolved against a
:class:`~counterweight.market.Market` into boolean masks over its tickers; membership in the
index on a given date is applied separately (a group member that is not an index member on a
date does not count on that date).

Share classes: a group names issuers' tickers; both Alphabet classes (GOOGL and GOOG) belong
to the Mag 7, and issuer-level measures aggregate them into one issuer first.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from counterweight.data.files import read_text_file
from counterweight.errors import ConfigError, InputError
from counterweight.market import Market, normalize_ticker

MAG7_TICKERS: tuple[str, ...] = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "GOOG", "META", "TSLA")
"""The Magnificent 7 as tickers: Apple, Microsoft, Nvidia, Amazon, Alphabet (both classes),
Meta, Tesla. Seven issuers, eight tickers."""

KNOWN_SHARE_CLASSES: dict[str, str] = {
    "GOOGL": "Alphabet",
    "GOOG": "Alphabet",
    "FOXA": "Fox",
    "FOX": "Fox",
    "NWSA": "News Corp",
    "NWS": "News Corp",
    "BRK-A": "Berkshire Hathaway",
    "BRK-B": "Berkshire Hathaway",
}
"""Fallback issuer of known multi-class companies, used where the security master has neither
an issuer nor a CIK that identifies it."""

GICS_SECTORS: tuple[str, ...] = (
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Information Technology",
    "Materials",
    "Real Estate",
    "Utilities",
)


@dataclass(frozen=True)
class Group:
    """A named basket of tickers."""

    name: str
    tickers: tuple[str, ...]

    def mask(self, market: Market) -> np.ndarray:
        """(N,) boolean mask of the market's tickers in this group."""
        wanted = set(self.tickers)
        return np.fromiter(
            (t in wanted for t in market.tickers), dtype=bool, count=len(market.tickers)
        )

    def present(self, market: Market) -> list[str]:
        return [t for t in self.tickers if t in set(market.tickers)]


def group(name: str, tickers: Iterable[str]) -> Group:
    """Build a group, normalising ticker spellings and dropping duplicates (order kept)."""
    clean = tuple(dict.fromkeys(normalize_ticker(t) for t in tickers if str(t).strip()))
    if not clean:
        raise ConfigError(f"group '{name}' has no tickers")
    return Group(name=name, tickers=clean)


MAG7 = group("Mag 7", MAG7_TICKERS)


def rest_of(market: Market, *groups: Group, name: str = "Rest") -> Group:
    """Every ticker of the market outside the given groups ("the S&P 493" for the Mag 7)."""
    excluded = set().union(*(g.tickers for g in groups))
    return Group(name=name, tickers=tuple(t for t in market.tickers if t not in excluded))


def sector_groups(market: Market) -> list[Group]:
    """One group per GICS sector present in the security master (sorted by name)."""
    sectors = market.securities["sector"].dropna().astype(str)
    return [
        Group(name=s, tickers=tuple(sectors.index[sectors == s])) for s in sorted(sectors.unique())
    ]


def parse_group_spec(spec: str) -> Group:
    """Parse a command-line basket ``NAME=T1,T2,...``."""
    if "=" not in spec:
        raise ConfigError(f"--group '{spec}': expected NAME=TICKER1,TICKER2,...")
    name, _, rest = spec.partition("=")
    if not name.strip():
        raise ConfigError(f"--group '{spec}': the basket needs a name before '='")
    return group(name.strip(), rest.split(","))


def load_groups(path: str | Path) -> list[Group]:
    """Custom baskets from TOML (``[groups] name = ["T1", ...]``) or CSV (``group,ticker`` rows)."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(read_text_file(p))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: invalid TOML: {exc}") from None
        table = data.get("groups", data)
        if not isinstance(table, Mapping):
            raise ConfigError(f"{p}: expected a [groups] table of name = [tickers]")
        out = []
        for name, tickers in table.items():
            if not isinstance(tickers, list) or not all(isinstance(t, str) for t in tickers):
                raise ConfigError(f"{p}: groups.{name} must be a list of ticker strings")
            out.append(group(name, tickers))
        return out
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        cols = {c.lower().strip(): c for c in (reader.fieldnames or [])}
        gcol = cols.get("group") or cols.get("basket") or cols.get("name")
        tcol = cols.get("ticker") or cols.get("symbol")
        if gcol is None or tcol is None:
            raise InputError("expected columns 'group' and 'ticker'", file=p)
        members: dict[str, list[str]] = {}
        for i, row in enumerate(reader, start=2):
            g, t = (row.get(gcol) or "").strip(), (row.get(tcol) or "").strip()
            if not g or not t:
                raise InputError("empty group or ticker", file=p, row=i)
            members.setdefault(g, []).append(t)
    return [group(n, ts) for n, ts in members.items()]


def default_issuer(ticker: str, name: str | None = None) -> str:
    """Issuer of a ticker when the security master gives none: known share classes, else itself."""
    return KNOWN_SHARE_CLASSES.get(normalize_ticker(ticker), normalize_ticker(ticker))
