"""The store: one DuckDB file that ``counterweight data import`` fills and :class:`Market` reads.

Default path: ``$COUNTERWEIGHT_STORE`` if set, else ``$XDG_DATA_HOME/counterweight/counterweight.duckdb``
(``~/.local/share/counterweight/counterweight.duckdb``). Every command takes ``--store PATH``.

Guarantees
----------
* **All or nothing**: :func:`stage_files` validates every file before the store is touched;
  :meth:`Store.write_staged` writes them and their import-log rows in one transaction, inside
  a writer session that publishes its private copy atomically on success only. A killed
  process, a full disk or any error leaves the previous state; a failed first import leaves
  no file at all.
* **Concurrent**: readers (``read_only=True``) open the published file read-only and are never
  blocked; writers take an exclusive ``flock`` on ``PATH.lock`` with a bounded wait
  (:func:`lock_timeout`, then :class:`StoreBusyError`), so overlapping writers (cron jobs of
  ``monitor --store``) run one after the other and all keep their changes.
* **Idempotent**: rows are keyed (prices by (ticker, date), caps by (date, ticker), securities
  by ticker, membership by ticker, fundamentals by (date, ticker, field), factors by
  (date, factor)); an import deletes the keys it brings and inserts them, so importing the
  same file twice changes nothing, and a newer value for a key replaces the older one.
* **Fast reads**: prices are stored long with an integer ticker id; :meth:`Store.market` maps
  dates to dense positions inside DuckDB and scatters into one (T, N) numpy array.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from counterweight.data.importers import read_kind
from counterweight.data.quality import (
    BAD_PRINT_ACTIONS,
    DEFAULT_BAD_PRINTS,
    bad_print_caveat,
    detect_bad_prints,
    exclude_bad_prints,
)
from counterweight.errors import ConfigError, CounterweightError, DataUnavailableError, InputError
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
CREATE TABLE IF NOT EXISTS price_flags (tbl VARCHAR NOT NULL, ticker VARCHAR NOT NULL,
                                        date DATE NOT NULL, flag VARCHAR NOT NULL, price DOUBLE,
                                        previous DOUBLE, next DOUBLE, move DOUBLE,
                                        action VARCHAR NOT NULL, file VARCHAR);
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
    flagged: int = 0
    bad_prints: str | None = None

    def summary(self) -> str:
        same = self.rows - self.changed
        text = f"{self.kind}: {self.rows:,} rows from {self.file} ({self.changed:,} new or changed, {same:,} unchanged)"
        if self.flagged:
            what = "excluded" if self.bad_prints == "exclude" else "kept"
            text += f"; {self.flagged:,} suspicious print(s) flagged and {what} (see 'counterweight data info')"
        return text


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class StagedFile:
    """A file read and validated for import, not yet written."""

    path: Path
    kind: str
    frame: pd.DataFrame
    flags: pd.DataFrame | None
    bad_prints: str
    sha256: str


def stage_files(
    paths: Sequence[str | Path],
    kind: str,
    *,
    bad_prints: str = DEFAULT_BAD_PRINTS,
    progress: Callable[[str], None] | None = None,
    shares_outstanding: Callable[[], pd.Series] | None = None,
) -> list[StagedFile]:
    """Read and validate every file as ``kind`` (no store involved, nothing written).

    Prices and benchmarks are screened for suspicious prints
    (:func:`~counterweight.data.quality.detect_bad_prints`); with ``bad_prints="exclude"`` the
    flagged prints are set to missing before anything is stored. A ``float`` file of index shares
    needs shares outstanding: ``shares_outstanding()`` supplies them (the store's caps).
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    if bad_prints not in BAD_PRINT_ACTIONS:
        raise InputError(
            f"bad prints {bad_prints!r}: expected one of {', '.join(BAD_PRINT_ACTIONS)}"
        )
    say = progress or (lambda _msg: None)
    staged: list[StagedFile] = []
    for path in paths:
        p = Path(path)
        say(f"reading {p.name}")
        if kind == "float":  # IWF, index-shares or holdings-with-shares file
            from counterweight.data.float_factors import read_float_file

            so = shares_outstanding() if shares_outstanding is not None else None
            frame = read_float_file(p, shares_outstanding=so)
        else:
            frame = read_kind(p, kind)
        flags: pd.DataFrame | None = None
        if kind in ("prices", "benchmarks"):
            flags = detect_bad_prints(frame)
            if bad_prints == "exclude" and not flags.empty:
                frame = exclude_bad_prints(frame, flags)
        try:
            digest = file_sha256(p)
        except OSError as exc:
            raise InputError(f"cannot read the file: {_os_error_line(exc)}", file=p) from None
        staged.append(StagedFile(p, kind, frame, flags, bad_prints, digest))
    return staged


class StoreBusyError(CounterweightError):
    """Another process kept the store's writer lock for longer than the wait allowed."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class StoreWriteError(CounterweightError):
    """The new state could not be written (disk full, file-size limit, ...); the store is unchanged."""


DEFAULT_LOCK_TIMEOUT = 120.0
"""Seconds a writer waits for another writer (``$COUNTERWEIGHT_STORE_TIMEOUT`` overrides)."""


def lock_timeout(timeout: float | None = None) -> float:
    """The writer's bounded wait: ``timeout``, else ``$COUNTERWEIGHT_STORE_TIMEOUT``, else 120 s."""
    if timeout is None:
        raw = os.environ.get("COUNTERWEIGHT_STORE_TIMEOUT", "")
        try:
            timeout = float(raw) if raw.strip() else DEFAULT_LOCK_TIMEOUT
        except ValueError:
            raise ConfigError(
                f"COUNTERWEIGHT_STORE_TIMEOUT={raw!r}: expected a number of seconds"
            ) from None
    if not np.isfinite(timeout) or timeout < 0 or timeout > 86_400:
        raise ConfigError(f"store lock timeout {timeout!r}: expected 0 .. 86400 seconds")
    return float(timeout)


def check_store_path(path: str | Path | None) -> Path:
    """The store's file path (``path``, else :func:`default_store_path`); ``:memory:`` and
    empty paths are refused (they keep nothing)."""
    text = str(default_store_path() if path is None else path)
    if not text.strip() or text.strip().startswith(":memory:"):
        raise InputError(
            "not a store path: an in-memory store keeps nothing once the command ends; "
            "give a file path such as ~/counterweight.duckdb",
            file=repr(text),
        )
    p = Path(text).expanduser()
    if p.is_dir():
        raise InputError("is a directory; expected a DuckDB store file", file=p)
    return p


def _os_error_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    first = str(exc).strip().splitlines()
    return first[0] if first else type(exc).__name__


class _WriterLock:
    """An exclusive ``flock`` on ``<store>.lock``, waited for at most ``timeout`` seconds.

    The lock is the kernel's: it is released when the process ends, however it ends, so a
    killed writer never leaves a stale lock.
    """

    def __init__(self, store: Path, timeout: float) -> None:
        self.path = store.with_name(store.name + ".lock")
        self.fd: int | None = None
        self.created = False
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            existed = self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    holder = _lock_holder(self.path)
                    raise StoreBusyError(
                        f"{store}: another process{holder} is writing the store and kept it for more "
                        f"than {timeout:g} s; nothing was changed; try again later, or wait longer "
                        "with COUNTERWEIGHT_STORE_TIMEOUT=SECONDS"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
                continue
            # the file may have been removed by a writer that held it before us: lock the live one
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            self.fd = fd
            self.created = not existed
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return

    def release(self, remove: bool = False) -> None:
        if self.fd is None:
            return
        if remove:
            self.path.unlink(missing_ok=True)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None


def _lock_holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Store:
    """A DuckDB-backed store of market data. Use as a context manager.

    Concurrency model (see docs/data.md, "Concurrency"): the published file is never modified
    in place. ``Store(path, read_only=True)`` is a reader: it opens the published file read-only
    and sees the last committed state, whatever writers are doing. ``Store(path)`` is a writer
    session: it takes the store's exclusive writer lock (waiting at most ``timeout`` seconds,
    then :class:`StoreBusyError`), works on a private copy, and on a clean :meth:`close`
    atomically renames the copy over the published file. An exception inside ``with Store(p)``
    (or :meth:`abort`) discards the copy, so a writer session is all-or-nothing however many
    files it imports; a killed writer leaves the published file as it was.
    """

    def __init__(
        self, path: str | Path | None = None, read_only: bool = False, timeout: float | None = None
    ) -> None:
        self.path = check_store_path(path)
        self.read_only = read_only
        self._lock: _WriterLock | None = None
        self._work: Path | None = None
        self._made_dirs: list[Path] = []
        if read_only:
            if not self.path.exists():
                raise DataUnavailableError(
                    f"no store at {self.path}: import data first with 'counterweight data import FILE --kind KIND'"
                )
            self.con = self._connect_read_only(lock_timeout(timeout))
            return
        wait = lock_timeout(timeout)
        for parent in reversed(self.path.parents):
            if not parent.exists():
                self._made_dirs.append(parent)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the store's folder: {_os_error_line(exc)}", file=self.path
            ) from None
        try:
            self._lock = _WriterLock(self.path, wait)
        except OSError as exc:
            self._discard()
            raise StoreWriteError(
                f"{self.path}: cannot take the store's writer lock ({_os_error_line(exc)}); "
                "the store is unchanged"
            ) from None
        try:
            self._sweep_stale_copies()
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".writing", dir=self.path.parent
            )
            os.close(fd)
            self._work = Path(tmp)
            if self.path.exists():
                shutil.copyfile(self.path, self._work)
                shutil.copymode(self.path, self._work)
                wal = self.path.with_name(self.path.name + ".wal")
                if wal.exists():  # left by a foreign read-write process: replayed on open
                    shutil.copyfile(wal, self._work.with_name(self._work.name + ".wal"))
            else:
                self._work.unlink()  # DuckDB creates a fresh database file itself
            self.con = duckdb.connect(str(self._work))
            self.con.execute(SCHEMA)
        except BaseException as exc:
            self._discard()
            if isinstance(exc, duckdb.Error | OSError):
                raise StoreWriteError(
                    f"{self.path}: cannot prepare the new state of the store "
                    f"({_os_error_line(exc)}); the store is unchanged"
                ) from None
            raise

    def _connect_read_only(self, timeout: float) -> duckdb.DuckDBPyConnection:
        """Open the published file read-only, retrying (bounded) while a foreign process that
        opened it read-write (an older counterweight, a DuckDB shell) holds it."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=True)
            except duckdb.Error as exc:
                msg = str(exc)
                if "lock" not in msg.lower() or time.monotonic() >= deadline:
                    raise InputError(
                        f"cannot open the store: {msg.strip().splitlines()[0]}", file=self.path
                    ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _sweep_stale_copies(self) -> None:
        """Remove private copies left by killed writers (safe: we hold the writer lock)."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.writing*"):
            stale.unlink(missing_ok=True)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Reader: close. Writer: publish the new state atomically, then release the lock."""
        if self._lock is None:
            self.con.close()
            return
        assert self._work is not None
        try:
            self.con.execute("CHECKPOINT")
            self.con.close()
            with self._work.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(self._work, self.path)
            _fsync_dir(self.path.parent)
        except (duckdb.Error, OSError) as exc:
            self._discard()
            raise StoreWriteError(
                f"{self.path}: cannot write the new state of the store ({_os_error_line(exc)}); "
                "the store is unchanged"
            ) from None
        self._work = None
        self._lock.release()
        self._lock = None

    def abort(self) -> None:
        """Writer: discard every change of this session; the published store stays as it was."""
        if self._lock is None:
            self.con.close()
            return
        self._discard()

    def _discard(self) -> None:
        con = getattr(self, "con", None)
        if con is not None:
            try:
                con.close()
            except duckdb.Error:
                pass
        if self._work is not None:
            for leftover in (self._work, self._work.with_name(self._work.name + ".wal")):
                leftover.unlink(missing_ok=True)
            self._work = None
        if self._lock is not None:
            fresh = not self.path.exists()
            self._lock.release(remove=fresh and self._lock.created)
            self._lock = None
            if fresh:
                for d in reversed(self._made_dirs):
                    try:
                        d.rmdir()
                    except OSError:
                        break

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

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
        bad_prints: str = DEFAULT_BAD_PRINTS,
    ) -> ImportResult:
        """Validate ``path`` as ``kind`` and upsert it, with its import-log row, in one transaction."""
        return self.import_files([path], kind, progress=progress, bad_prints=bad_prints)[0]

    def import_files(
        self,
        paths: Sequence[str | Path],
        kind: str,
        progress: Callable[[str], None] | None = None,
        bad_prints: str = DEFAULT_BAD_PRINTS,
    ) -> list[ImportResult]:
        """Validate every file first, then upsert them all and their import-log rows in ONE
        transaction: a bad file (or any failure) leaves the store as it was.

        ``bad_prints`` (prices and benchmarks): ``exclude`` (default) stores the prints that
        :func:`counterweight.data.quality.detect_bad_prints` flags as missing; ``keep`` stores
        them as imported. The flags are recorded either way (table ``price_flags``) and become a
        caveat of every Market read from the store.
        """
        staged = stage_files(
            paths,
            kind,
            bad_prints=bad_prints,
            progress=progress,
            shares_outstanding=self.shares_outstanding,
        )
        return self.write_staged(staged, progress=progress)

    def write_staged(
        self, staged: Sequence[StagedFile], progress: Callable[[str], None] | None = None
    ) -> list[ImportResult]:
        """Write files validated by :func:`stage_files`, with their import-log rows, in one
        transaction (all or nothing)."""
        say = progress or (lambda _msg: None)
        results: list[ImportResult] = []
        try:
            with self.transaction() as con:
                for item in staged:
                    p, kind, frame, flags = item.path, item.kind, item.frame, item.flags
                    bad_prints = item.bad_prints
                    if kind == "caps":
                        self._check_caps_tickers(frame, p)
                    say(f"writing {kind} from {p.name}")
                    rows, changed = self._write(con, kind, frame)
                    n_flags = 0
                    if flags is not None:
                        n_flags = self._record_flags(con, kind, flags, bad_prints, p)
                    con.execute(
                        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, now())",
                        [item.sha256, kind, str(p), rows, changed],
                    )
                    results.append(
                        ImportResult(
                            file=str(p),
                            kind=kind,
                            rows=rows,
                            changed=changed,
                            flagged=n_flags,
                            bad_prints=bad_prints if flags is not None else None,
                        )
                    )
                _pause_for_crash_test()
        except duckdb.Error as exc:
            raise StoreWriteError(
                f"{self.path}: cannot write the import ({_os_error_line(exc)}); the store is unchanged"
            ) from None
        return results

    def _record_flags(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        flags: pd.DataFrame,
        action: str,
        path: Path,
    ) -> int:
        """Replace the flags of the imported (ticker, date) keys; with ``exclude``, also remove
        any stored price at a flagged key (an older import may have kept it)."""
        if flags.empty:
            return 0
        rows = flags.assign(
            tbl=table, action="excluded" if action == "exclude" else "kept", file=str(path)
        )[["tbl", "ticker", "date", "flag", "price", "previous", "next", "move", "action", "file"]]
        con.register("incoming_flags", rows)
        try:
            con.execute(
                """DELETE FROM price_flags f USING incoming_flags i
                   WHERE f.tbl = i.tbl AND f.ticker = i.ticker AND f.date = CAST(i.date AS DATE)"""
            )
            con.execute(
                "INSERT INTO price_flags SELECT tbl, ticker, CAST(date AS DATE), flag, price, "
                "previous, next, move, action, file FROM incoming_flags"
            )
            if action == "exclude":
                con.execute(
                    f"""DELETE FROM {table} p USING incoming_flags i, tickers t
                        WHERE t.ticker = i.ticker AND p.ticker_id = t.id
                          AND p.date = CAST(i.date AS DATE)"""
                )
        finally:
            con.unregister("incoming_flags")
        return len(rows)

    def price_flags(self, table: str | None = None) -> pd.DataFrame:
        """The suspicious prints recorded at import (see :mod:`counterweight.data.quality`)."""
        cond = "" if table is None else "WHERE tbl = ?"
        try:
            frame = self.con.execute(
                f'SELECT tbl AS "table", ticker, date, flag, price, previous, next, move, action, '
                f"file FROM price_flags {cond} ORDER BY tbl, ticker, date",
                [] if table is None else [table],
            ).df()
        except duckdb.CatalogException:  # a store written before flags were recorded
            return pd.DataFrame(
                columns=[
                    "table",
                    "ticker",
                    "date",
                    "flag",
                    "price",
                    "previous",
                    "next",
                    "move",
                    "action",
                    "file",
                ]
            ).astype({"date": "datetime64[ns]"})
        frame["date"] = pd.to_datetime(frame["date"])
        return frame

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
        """Upsert a validated frame (as the importers return it) in one transaction; returns
        (rows, changed). No import-log row (use :meth:`import_files` for files)."""
        with self.transaction() as con:
            return self._write(con, kind, frame)

    def _write(
        self, con: duckdb.DuckDBPyConnection, kind: str, frame: pd.DataFrame
    ) -> tuple[int, int]:
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
        for table, frame in (("prices", prices), ("benchmarks", bench)):
            flags = self.price_flags(table)
            if flags.empty or frame.empty:
                continue
            flags = flags[
                flags["date"].between(frame.index[0], frame.index[-1])
                & flags["ticker"].isin(frame.columns)
            ]
            for action, label in (("excluded", "exclude"), ("kept", "keep")):
                note = bad_print_caveat(flags[flags["action"] == action], label)
                if note:
                    prov = prov.with_caveats(
                        (note if table == "prices" else f"reference ETFs: {note}")
                        + "; see 'counterweight data info'"
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
    """Hold the open transaction for ``COUNTERWEIGHT_PAUSE_IN_IMPORT`` seconds, or until the file
    ``COUNTERWEIGHT_PAUSE_MARKER`` (written on entry) is removed. Crash-safety and concurrency
    tests kill or race the process here. Does nothing unless the variable is set."""
    pause = os.environ.get("COUNTERWEIGHT_PAUSE_IN_IMPORT")
    if not pause:
        return
    marker = os.environ.get("COUNTERWEIGHT_PAUSE_MARKER")
    if marker:
        Path(marker).write_text("in transaction")
    deadline = time.monotonic() + float(pause)
    while time.monotonic() < deadline and (marker is None or Path(marker).exists()):
        time.sleep(0.02)
