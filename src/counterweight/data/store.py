"""The store: one DuckDB file that ``counterweight data import`` fills and :class:`Market` reads.

Default path: ``$COUNTERWEIGHT_STORE`` if set, else ``$XDG_DATA_HOME/counterweight/counterweight.duckdb``
(``~/.local/share/counterweight/counterweight.duckdb``). Every command takes ``--store PATH``.

Guarantees
----------
* **Transactional**: each import runs in one DuckDB transaction; a process killed mid-import
  leaves the previous committed state readable (DuckDB's write-ahead log discards the
  uncommitted transaction on the next open).
* **Idempotent**: rows are keyed (prices by (ticker, date), caps by (date, ticker), securities
  by ticker, membership by ticker, fundamentals by (date, ticker, field), factors by
  (date, factor)); an import deletes the keys it brings and inserts them, so importing the
  same file twice changes nothing, and a newer value for a key replaces the older one.
* **Fast reads**: prices are stored long with an integer ticker id; :meth:`Store.market` maps
  dates to dense positions inside DuckDB and scatters into one (T, N) numpy array.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError, InputError
from counterweight.market import Market, Provenance

KINDS = (
    "prices",
    "benchmarks",
    "caps",
    "securities",
    "membership",
    "fundamentals",
    "factors",
    "float",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickers (id INTEGER PRIMARY KEY, ticker VARCHAR UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS prices (ticker_id INTEGER NOT NULL, date DATE NOT NULL, price DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS benchmarks (ticker_id INTEGER NOT NULL, date DATE NOT NULL, price DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS caps (date DATE NOT NULL, ticker VARCHAR NOT NULL, market_cap DOUBLE,
                                 shares DOUBLE, price DOUBLE);
CREATE TABLE IF NOT EXISTS securities (ticker VARCHAR PRIMARY KEY, name VARCHAR, issuer VARCHAR,
                                       sector VARCHAR, industry VARCHAR, cik VARCHAR);
CREATE TABLE IF NOT EXISTS membership (ticker VARCHAR NOT NULL, start DATE NOT NULL, "end" DATE);
CREATE TABLE IF NOT EXISTS fundamentals (date DATE NOT NULL, ticker VARCHAR NOT NULL,
                                         field VARCHAR NOT NULL, value DOUBLE);
CREATE TABLE IF NOT EXISTS factors (date DATE NOT NULL, factor VARCHAR NOT NULL, value DOUBLE);
CREATE TABLE IF NOT EXISTS float_factors (date DATE NOT NULL, ticker VARCHAR NOT NULL,
                                          iwf DOUBLE NOT NULL, source VARCHAR);
CREATE TABLE IF NOT EXISTS imports (sha256 VARCHAR, kind VARCHAR, file VARCHAR, rows BIGINT,
                                    changed BIGINT, imported_at TIMESTAMP);
"""


def default_store_path() -> Path:
    """``$COUNTERWEIGHT_STORE``, else ``$XDG_DATA_HOME/counterweight/counterweight.duckdb``."""
    env = os.environ.get("COUNTERWEIGHT_STORE")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME", "~/.local/share")).expanduser()
    return base / "counterweight" / "counterweight.duckdb"


@dataclass(frozen=True)
class ImportResult:
    """What an import did: rows read, rows whose value is new or changed, and the kind."""

    file: str
    kind: str
    rows: int
    changed: int

    def summary(self) -> str:
        same = self.rows - self.changed
        return f"{self.kind}: {self.rows:,} rows from {self.file} ({self.changed:,} new or changed, {same:,} unchanged)"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Store:
    """A DuckDB-backed store of market data. Use as a context manager."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        if read_only and not self.path.exists():
            raise DataUnavailableError(
                f"no store at {self.path}: import data first with 'counterweight data import FILE --kind KIND'"
            )
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise InputError(
                f"cannot open the store: {str(exc).splitlines()[0]}", file=self.path
            ) from None
        self.read_only = read_only
        if not read_only:
            self.con.execute(SCHEMA)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT, rolled back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # ------------------------------------------------------------------ imports
    def import_file(
        self,
        path: str | Path,
        kind: str,
        progress: Callable[[str], None] | None = None,
    ) -> ImportResult:
        """Validate ``path`` as ``kind`` and upsert it in one transaction."""
        from counterweight.data import importers

        if kind not in KINDS:
            raise InputError(
                f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}", file=path
            )
        p = Path(path)
        say = progress or (lambda _msg: None)
        say(f"reading {p.name}")
        frame: pd.DataFrame
        if kind in ("prices", "benchmarks"):
            frame = importers.read_prices(p)
        elif kind == "caps":
            frame = importers.read_caps(p)
        elif kind == "securities":
            frame = importers.read_securities(p)
        elif kind == "membership":
            frame = importers.read_membership(p)
        elif kind == "fundamentals":
            frame = importers.read_fundamentals(p)
        elif kind == "float":  # IWF, index-shares or holdings-with-shares file
            from counterweight.data.float_factors import read_float_file

            frame = read_float_file(p, shares_outstanding=self.shares_outstanding())
        else:
            frame = importers.read_factors(p)
        if kind == "caps":
            self._check_caps_tickers(frame, p)
        say(f"writing {kind}")
        rows, changed = self.import_frame(kind, frame)
        with self.transaction() as con:
            con.execute(
                "INSERT INTO imports VALUES (?, ?, ?, ?, ?, now())",
                [file_sha256(p), kind, str(p), rows, changed],
            )
        return ImportResult(file=str(p), kind=kind, rows=rows, changed=changed)

    def _check_caps_tickers(self, caps: pd.DataFrame, path: Path) -> None:
        known = {
            r[0]
            for r in self.con.execute(
                "SELECT t.ticker FROM tickers t WHERE t.id IN (SELECT DISTINCT ticker_id FROM prices)"
            ).fetchall()
        }
        unknown = sorted(set(caps["ticker"]) - known)
        if unknown:
            raise InputError(
                f"caps for {len(unknown)} ticker(s) without prices in the store: {', '.join(unknown[:8])}"
                + (" ..." if len(unknown) > 8 else "")
                + "; import their prices first",
                file=path,
            )

    def import_frame(self, kind: str, frame: pd.DataFrame) -> tuple[int, int]:
        """Upsert a validated frame (as the importers return it); returns (rows, changed)."""
        with self.transaction() as con:
            if kind in ("prices", "benchmarks"):
                long = frame.stack().dropna().reset_index()
                long.columns = ["date", "ticker", "price"]
                rows, changed = self._upsert_prices(con, kind, long)
            elif kind == "caps":
                long = frame.copy()
                for col in ("market_cap", "shares", "price"):
                    if col not in long.columns:
                        long[col] = np.nan
                long = long[["date", "ticker", "market_cap", "shares", "price"]]
                rows, changed = self._upsert(con, "caps", long, ["date", "ticker"])
            elif kind == "securities":
                sec = frame.reset_index()
                sec = sec[["ticker", "name", "issuer", "sector", "industry", "cik"]].astype(object)
                sec = sec.where(pd.notna(sec), None)
                rows, changed = self._upsert(con, "securities", sec, ["ticker"])
            elif kind == "membership":
                mem = frame[["ticker", "start", "end"]]
                rows, changed = self._upsert(con, "membership", mem, ["ticker"], replace_group=True)
            elif kind == "fundamentals":
                long = frame.melt(id_vars=["date", "ticker"], var_name="field", value_name="value")
                rows, changed = self._upsert(con, "fundamentals", long, ["date", "ticker", "field"])
            elif kind == "float":
                ff = frame[["date", "ticker", "iwf", "source"]]
                rows, changed = self._upsert(con, "float_factors", ff, ["date", "ticker"])
            elif kind == "factors":
                long = (
                    frame.rename_axis("date")
                    .reset_index()
                    .melt(id_vars="date", var_name="factor", value_name="value")
                )
                rows, changed = self._upsert(con, "factors", long, ["date", "factor"])
            else:  # pragma: no cover - guarded by import_file
                raise InputError(f"unknown kind {kind!r}")
            _pause_for_crash_test()
        return rows, changed

    def _upsert_prices(
        self, con: duckdb.DuckDBPyConnection, table: str, long: pd.DataFrame
    ) -> tuple[int, int]:
        con.register("incoming", long)
        try:
            con.execute(
                """INSERT INTO tickers
                   SELECT (SELECT coalesce(max(id), 0) FROM tickers) + row_number() OVER (ORDER BY ticker), ticker
                   FROM (SELECT DISTINCT ticker FROM incoming WHERE ticker NOT IN (SELECT ticker FROM tickers))"""
            )
            con.execute(
                """CREATE OR REPLACE TEMP TABLE staged AS
                   SELECT t.id AS ticker_id, CAST(i.date AS DATE) AS date, i.price
                   FROM incoming i JOIN tickers t USING (ticker)"""
            )
        finally:
            con.unregister("incoming")
        rows = _count(con, "SELECT count(*) FROM staged")
        same = _count(
            con,
            f"SELECT count(*) FROM staged s JOIN {table} p USING (ticker_id, date) WHERE p.price = s.price",
        )
        if same < rows:
            con.execute(
                f"DELETE FROM {table} p USING staged s WHERE p.ticker_id = s.ticker_id AND p.date = s.date"
            )
            con.execute(f"INSERT INTO {table} SELECT ticker_id, date, price FROM staged")
        con.execute("DROP TABLE staged")
        return rows, rows - same

    def _upsert(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        frame: pd.DataFrame,
        keys: list[str],
        replace_group: bool = False,
    ) -> tuple[int, int]:
        """Delete the incoming keys, insert the incoming rows. ``replace_group``: the keys name a
        group (membership intervals of a ticker) that is replaced as a whole."""
        cols = list(frame.columns)
        quoted = ", ".join(f'"{c}"' for c in cols)
        con.register("incoming", frame)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS SELECT {quoted} FROM incoming")
        finally:
            con.unregister("incoming")
        rows = _count(con, "SELECT count(*) FROM staged")
        on = " AND ".join(f't."{k}" IS NOT DISTINCT FROM s."{k}"' for k in keys)
        match_all = " AND ".join(f't."{c}" IS NOT DISTINCT FROM s."{c}"' for c in cols)
        same = _count(
            con,
            f"SELECT count(*) FROM staged s WHERE EXISTS (SELECT 1 FROM {table} t WHERE {match_all})",
        )
        if replace_group:
            existing = _count(
                con,
                f"SELECT count(*) FROM {table} t WHERE EXISTS (SELECT 1 FROM staged s WHERE {on})",
            )
            changed = rows - same + max(existing - same, 0)
        else:
            changed = rows - same
        if changed:
            con.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM staged s WHERE {on})")
            con.execute(f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM staged")
        con.execute("DROP TABLE staged")
        return rows, changed

    # ------------------------------------------------------------------ reads
    def counts(self) -> dict[str, int]:
        return {
            t: _count(self.con, f"SELECT count(*) FROM {t}")
            for t in (
                "prices",
                "benchmarks",
                "caps",
                "securities",
                "membership",
                "fundamentals",
                "factors",
            )
        }

    def _panel(self, table: str, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Wide (dates x tickers) prices of ``table``, built by scattering into one array."""
        where, params = [], []
        if start is not None:
            where.append("date >= ?")
            params.append(pd.Timestamp(start).date())
        if end is not None:
            where.append("date <= ?")
            params.append(pd.Timestamp(end).date())
        cond = ("WHERE " + " AND ".join(where)) if where else ""
        dates = self.con.execute(
            f"SELECT DISTINCT date FROM {table} {cond} ORDER BY date", params
        ).fetchnumpy()["date"]
        ids = self.con.execute(
            f"SELECT DISTINCT ticker_id FROM {table} {cond} ORDER BY 1", params
        ).fetchnumpy()["ticker_id"]
        if len(dates) == 0:
            return pd.DataFrame()
        names = self.con.execute(
            f"SELECT t.ticker FROM (SELECT DISTINCT ticker_id FROM {table} {cond}) p JOIN tickers t ON t.id = p.ticker_id ORDER BY t.id",
            params,
        ).fetchnumpy()["ticker"]
        pos = np.full(int(np.max(ids)) + 1, -1, dtype=np.int64)
        pos[ids] = np.arange(len(ids))
        res = self.con.execute(
            f"""WITH d AS (SELECT date, CAST(row_number() OVER (ORDER BY date) - 1 AS INTEGER) AS di
                           FROM (SELECT DISTINCT date FROM {table} {cond}))
                SELECT d.di, p.ticker_id, p.price FROM {table} p JOIN d USING (date)""",
            params,
        ).fetchnumpy()
        out = np.full((len(dates), len(ids)), np.nan)
        out[res["di"], pos[res["ticker_id"]]] = res["price"]
        index = pd.DatetimeIndex(pd.to_datetime(dates), name="date")
        return pd.DataFrame(
            out, index=index, columns=pd.Index([str(n) for n in names], name="ticker"), copy=False
        )

    def market(self, start: Any = None, end: Any = None, cap_method: str = "previous") -> Market:
        """Build a :class:`Market` from everything in the store."""
        from counterweight.data.build import build_market

        prices = self._panel("prices", start, end)
        if prices.empty:
            raise DataUnavailableError(
                f"the store {self.path} has no prices"
                + (" in that date range" if start or end else "")
            )
        caps: pd.DataFrame | None = self.con.execute(
            "SELECT date, ticker, market_cap, shares, price FROM caps"
        ).df()
        assert caps is not None
        caps["date"] = pd.to_datetime(caps["date"])
        if caps["market_cap"].notna().any():
            caps = caps.drop(columns="shares").dropna(subset=["market_cap"])
            if caps["price"].isna().all():
                caps = caps.drop(columns="price")
        elif caps["shares"].notna().any():
            caps = caps[["date", "ticker", "shares"]].dropna()
        else:
            caps = None
        sec = self.con.execute("SELECT * FROM securities").df().set_index("ticker")
        mem = self.con.execute('SELECT ticker, start, "end" FROM membership').df()
        fund_long = self.con.execute("SELECT date, ticker, field, value FROM fundamentals").df()
        fund = None
        if not fund_long.empty:
            fund = fund_long.pivot_table(
                index=["date", "ticker"], columns="field", values="value", aggfunc="last"
            ).reset_index()
            fund.columns.name = None
            fund["date"] = pd.to_datetime(fund["date"])
        fac_long = self.con.execute("SELECT date, factor, value FROM factors").df()
        factors = None
        if not fac_long.empty:
            factors = fac_long.pivot(index="date", columns="factor", values="value")
            factors.index = pd.DatetimeIndex(factors.index, name="date")
        bench = self._panel("benchmarks")
        iwf = self.con.execute("SELECT date, ticker, iwf FROM float_factors").df()
        if not iwf.empty:
            iwf["date"] = pd.to_datetime(iwf["date"])
        sources = tuple(
            f"{kind}: {file}"
            for kind, file in self.con.execute(
                "SELECT kind, file FROM imports GROUP BY kind, file ORDER BY min(imported_at)"
            ).fetchall()
        )
        prov = Provenance(
            sources=sources or (f"store {self.path}",), name=f"store {self.path.name}"
        )
        if mem.empty:
            prov = prov.with_caveats(
                "no membership imported: every ticker with a price counts as a member"
            )
        else:
            mem["start"] = pd.to_datetime(mem["start"])
            mem["end"] = pd.to_datetime(mem["end"])
        if sec.empty:
            prov = prov.with_caveats(
                "no security master imported: sectors unknown, each ticker is its own issuer"
            )
        return build_market(
            prices,
            caps=caps,
            securities=None if sec.empty else sec,
            membership=None if mem.empty else mem,
            fundamentals=fund,
            benchmarks=None if bench.empty else bench,
            factors=factors,
            provenance=prov,
            cap_method=cap_method,
            float_factors=None if iwf.empty else iwf,
        )

    def shares_outstanding(self) -> pd.Series:
        """Latest shares outstanding per ticker from the caps table: its shares, else cap / price
        (the caps' own quoted price, else the stored price on the last date on or before)."""
        caps = self.con.execute(
            "SELECT date, ticker, market_cap, shares, price FROM caps ORDER BY date"
        ).df()
        caps["date"] = pd.to_datetime(caps["date"])
        px = self._panel("prices")
        if not px.empty and len(caps):
            pos = px.index.searchsorted(caps["date"], side="right") - 1
            col = px.columns.get_indexer(pd.Index(caps["ticker"]))
            ok = (pos >= 0) & (col >= 0)
            stored = np.full(len(caps), np.nan)
            stored[ok] = px.to_numpy()[pos[ok], col[ok]]
            caps["price"] = caps["price"].where(caps["price"].notna(), stored)
        so = caps["shares"].where(caps["shares"].notna(), caps["market_cap"] / caps["price"])
        caps = caps.assign(so=so).dropna(subset=["so"])
        return caps.groupby("ticker")["so"].last()


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The single integer a ``SELECT count(*) ...`` returns."""
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _pause_for_crash_test() -> None:
    """Hold the open transaction for ``COUNTERWEIGHT_PAUSE_IN_IMPORT`` seconds (crash-safety tests
    kill the process here, mid-transaction). Does nothing unless the variable is set."""
    pause = os.environ.get("COUNTERWEIGHT_PAUSE_IN_IMPORT")
    if pause:
        marker = os.environ.get("COUNTERWEIGHT_PAUSE_MARKER")
        if marker:
            Path(marker).write_text("in transaction")
        time.sleep(float(pause))
