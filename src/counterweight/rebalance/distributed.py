"""Many households: partitions of whole households, each run by the vectorised household
engine, in this process or on a Dask cluster; results stream out as partitioned Parquet.

* **Partitions** are consecutive households of the accounts file (``partition_size`` each); a
  household never spans two partitions (wash sales and asset location need all its accounts).
* Each task reads **only its own accounts' lots** (a Parquet lots file is filtered while it
  is read; a CSV is scanned), so neither the driver nor a worker holds the whole book.
* Each finished partition is written atomically as ``trades/part-NNNNN-*.parquet`` and
  ``summary/part-NNNNN-*.parquet`` under the output directory. A household whose run raises is
  retried alone; if it fails alone it is written to ``failures/`` with its reason and the
  others go on. **Re-running** skips every household that already has a summary row, so
  after a crash only the households without a result are redone.
* ``scheduler=None, workers=None``: the single-process path (the default for small books);
  ``workers=N``: a ``LocalCluster`` of N single-threaded worker processes started here;
  ``scheduler="tcp://host:port"``: an existing cluster. The same partitions run the same code
  either way, so the trades are identical (tested).
"""

from __future__ import annotations

import hashlib
import os
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from counterweight.data.files import atomic_write_bytes
from counterweight.data.lots import Accounts, load_lots
from counterweight.errors import CounterweightError
from counterweight.rebalance.engine import TradeRules
from counterweight.rebalance.households import rebalance_households
from counterweight.rebalance.tax import TaxSettings

SMALL_BOOK = 2_000  # households: below this the single-process path is the default


@dataclass(frozen=True)
class Job:
    """Everything a partition needs besides its households (pickled to the workers)."""

    lots_path: str
    target: pd.Series
    prices: pd.Series | None
    rules: TradeRules
    settings: TaxSettings
    windows: pd.DataFrame | None = None
    securities: pd.DataFrame | None = None
    trade_date: Any = None


@dataclass
class RunReport:
    """What a run did: partitions and households run / skipped, failures with reasons, the
    wall time, each task's wall and CPU seconds, and the peak resident memory (bytes) of each
    process that ran tasks."""

    households: int = 0
    skipped: int = 0
    partitions: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    wall: float = 0.0
    task_seconds: list[float] = field(default_factory=list)
    task_cpu: list[float] = field(default_factory=list)
    peak_rss: dict[str, int] = field(default_factory=dict)
    mode: str = "local"
    notes: list[str] = field(default_factory=list)


def partitions(accounts: Accounts, size: int) -> list[tuple[int, list[str]]]:
    """(partition id, households) in accounts-file order, ``size`` households each."""
    hh = [str(h) for h in accounts.households]
    return [(i // size, hh[i : i + size]) for i in range(0, len(hh), max(size, 1))]


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _write(frame: pd.DataFrame, path: Path) -> None:
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def run_partition(
    part: int, households: list[str], table: pd.DataFrame, job: Job, out_dir: str
) -> dict[str, Any]:
    """Run one partition and write its results; returns counts, failures, seconds, peak RSS."""
    t0, c0 = time.perf_counter(), time.process_time()
    table = table[table["household"].isin(households)]
    acc = Accounts(table=table, source="accounts")
    lots = load_lots(job.lots_path, accounts=set(table.index))
    failures: list[tuple[str, str]] = []
    frames: list[Any] = []
    try:
        frames.append(_one(lots, acc, job))
    except Exception:  # isolate the failing household(s); the others go on
        for h in households:
            sub = Accounts(table=table[table["household"] == h], source="accounts")
            try:
                frames.append(_one(lots, sub, job))
            except Exception as exc:
                reason = (
                    str(exc)
                    if isinstance(exc, CounterweightError)
                    else f"{type(exc).__name__}: {exc}"
                )
                failures.append((h, reason))
    trades = pd.concat([f.trades for f in frames], ignore_index=True) if frames else pd.DataFrame()
    summary = pd.concat([f.summary for f in frames]) if frames else pd.DataFrame()
    tag = hashlib.sha1(",".join(households).encode()).hexdigest()[:10]
    out = Path(out_dir)
    name = f"part-{part:05d}-{tag}.parquet"
    if failures:
        _write(pd.DataFrame(failures, columns=["household", "reason"]), out / "failures" / name)
    _write(trades, out / "trades" / name)
    _write(summary.reset_index(), out / "summary" / name)  # last: marks the households done
    return {
        "part": part,
        "households": len(summary),
        "failures": failures,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "pid": os.getpid(),
        "peak_rss": _peak_rss(),
        "notes": sorted({n for f in frames for n in f.notes}),
    }


def _one(lots: Any, acc: Accounts, job: Job) -> Any:
    from counterweight.data.lots import Lots

    keep = lots.lots["account"].isin(acc.table.index)
    sub = Lots(
        lots=lots.lots[keep],
        cash=lots.cash[lots.cash.index.isin(acc.table.index)],
        source=lots.source,
    )
    return rebalance_households(
        sub,
        acc,
        job.target,
        prices=job.prices,
        rules=job.rules,
        settings=job.settings,
        windows=job.windows,
        securities=job.securities,
        trade_date=job.trade_date,
    )


def done_households(out_dir: str | Path) -> set[str]:
    """Households that already have a result (a summary row) under ``out_dir``."""
    d = Path(out_dir) / "summary"
    if not d.exists():
        return set()
    out: set[str] = set()
    for p in sorted(d.glob("part-*.parquet")):
        out |= set(pd.read_parquet(p, columns=["household"])["household"].astype(str))
    return out


def read_results(out_dir: str | Path, what: str = "trades") -> Iterator[pd.DataFrame]:
    """The partitions of ``what`` (trades, summary or failures), one frame at a time."""
    d = Path(out_dir) / what
    for p in sorted(d.glob("part-*.parquet")) if d.exists() else []:
        yield pd.read_parquet(p)


def run_households(
    accounts: Accounts,
    job: Job,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    partition_size: int = 500,
    processes: bool = True,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> RunReport:
    """Run every household without a result under ``out_dir`` (see the module docstring)."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = done_households(out)
    for p in (out / "failures").glob("part-*.parquet") if (out / "failures").exists() else []:
        p.unlink()  # failed households are retried
    todo: list[tuple[int, list[str]]] = []
    skipped = 0
    for part, hh in partitions(accounts, partition_size):
        rest = [h for h in hh if h not in done]
        skipped += len(hh) - len(rest)
        if rest:
            todo.append((part, rest))
    report = RunReport(skipped=skipped, partitions=len(todo))
    table = accounts.table

    def collect(r: dict[str, Any]) -> None:
        report.households += r["households"]
        report.failures.extend(r["failures"])
        report.task_seconds.append(r["seconds"])
        report.task_cpu.append(r["cpu_seconds"])
        report.notes.extend(n for n in r.get("notes", []) if n not in report.notes)
        key = str(r["pid"])
        report.peak_rss[key] = max(report.peak_rss.get(key, 0), r["peak_rss"])
        if on_done is not None:
            on_done(r)

    if scheduler is None and workers is None:
        for part, hh in todo:
            try:
                collect(run_partition(part, hh, table, job, str(out)))
            except Exception as exc:  # e.g. a bad row in this partition's lots
                reason = (
                    str(exc)
                    if isinstance(exc, CounterweightError)
                    else f"{type(exc).__name__}: {exc}"
                )
                report.failures.extend((h, reason) for h in hh)
        report.wall = time.perf_counter() - t0
        return report
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - the optional extra
        raise CounterweightError(
            "Dask is not installed: pip install 'counterweight[distributed]'"
        ) from None
    cluster = None
    if scheduler is not None:
        client = Client(scheduler)
        report.mode = f"scheduler {scheduler}"
    else:
        n = max(1, int(workers or os.cpu_count() or 1))
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            silence_logs=50,
        )
        client = Client(cluster)
        report.mode = f"local cluster of {n} worker(s)"
    try:
        job_f = client.scatter(job, broadcast=True)
        table_f = client.scatter(table, broadcast=True)
        futures = [
            client.submit(run_partition, part, hh, table_f, job_f, str(out), pure=False)
            for part, hh in todo
        ]
        for fut in as_completed(futures):
            try:
                collect(fut.result())
            except Exception as exc:  # a whole task lost: report its households
                idx = futures.index(fut)
                reason = (
                    str(exc)
                    if isinstance(exc, CounterweightError)
                    else f"task failed: {type(exc).__name__}: {exc}"
                )
                report.failures.extend((h, reason) for h in todo[idx][1])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    report.wall = time.perf_counter() - t0
    return report


def default_workers(households: int) -> int | None:
    """None (single process) for small books, else one worker per CPU."""
    return None if households < SMALL_BOOK else max(1, os.cpu_count() or 1)
