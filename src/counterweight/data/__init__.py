"""Get facts in, validate them, keep them: the embedded sample, importers, the store.

* :func:`counterweight.load_sample` — the embedded real dataset as a Market;
* :mod:`counterweight.data.importers` — readers for the user's CSV/Parquet files;
* :class:`counterweight.data.store.Store` — the DuckDB store;
* :func:`market_from_files` — a Market straight from files, without a store;
* :func:`market_from_store` — a Market read back from the store (``Store.market``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from counterweight.market import Market, Provenance


def market_from_files(
    prices: str | Path,
    *,
    caps: str | Path | None = None,
    securities: str | Path | None = None,
    membership: str | Path | None = None,
    fundamentals: str | Path | None = None,
    benchmarks: str | Path | None = None,
    factors: str | Path | None = None,
    cap_method: str = "previous",
    bad_prints: str = "exclude",
) -> Market:
    """Read and validate the given files and assemble a :class:`Market` (no store involved).

    Each file is read by its importer (see :mod:`counterweight.data.importers`); bad input
    raises :class:`~counterweight.errors.InputError` naming the file, row and column.
    Suspicious prints are screened as at import (``bad_prints``: exclude | keep; see
    :mod:`counterweight.data.quality`) and named in the caveats.
    """
    from counterweight.data import importers
    from counterweight.data.build import build_market

    readers = {
        "prices": importers.read_prices,
        "caps": importers.read_caps,
        "securities": importers.read_securities,
        "membership": importers.read_membership,
        "fundamentals": importers.read_fundamentals,
        "benchmarks": importers.read_prices,
        "factors": importers.read_factors,
    }
    paths = {
        "prices": prices,
        "caps": caps,
        "securities": securities,
        "membership": membership,
        "fundamentals": fundamentals,
        "benchmarks": benchmarks,
        "factors": factors,
    }
    frames = {kind: readers[kind](path) for kind, path in paths.items() if path is not None}
    sources = [f"{kind}: {path}" for kind, path in paths.items() if path is not None]
    px = frames["prices"]
    cap_frame = frames.get("caps")
    sec = frames.get("securities")
    mem = frames.get("membership")
    fund = frames.get("fundamentals")
    bench = frames.get("benchmarks")
    fac = frames.get("factors")
    caveats = []
    if mem is None:
        caveats.append("no membership file: every ticker with a price counts as a member")
    if sec is None:
        caveats.append("no security master: sectors unknown, each ticker is its own issuer")
    if cap_frame is None and (fund is None or "market_cap" not in fund.columns):
        caveats.append("no market caps: cap-weighted measures are unavailable")
    prov = Provenance(sources=tuple(sources), caveats=tuple(caveats), name="user files")
    return build_market(
        px,
        caps=cap_frame,
        securities=sec,
        membership=mem,
        fundamentals=fund,
        benchmarks=bench,
        factors=fac,
        provenance=prov,
        cap_method=cap_method,
        caps_file=None if caps is None else str(caps),
        bad_prints=bad_prints,
    )


def market_from_store(path: str | Path | None = None, **kwargs: Any) -> Market:
    """Read a Market from the DuckDB store at ``path`` (default store when None), read-only.

    ``kwargs`` go to :meth:`counterweight.data.store.Store.market` (``start``, ``end``,
    ``cap_method``). A missing store raises :class:`~counterweight.errors.DataUnavailableError`.
    """
    from counterweight.data.store import Store

    with Store(path, read_only=True) as store:
        return store.market(**kwargs)


__all__ = ["market_from_files", "market_from_store"]
