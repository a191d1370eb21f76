"""Crash safety and concurrency of the store, with real processes.

Readers see the last committed state while a writer works; a second writer waits (bounded),
then says so in one line; a multi-file import is all or nothing, its import log included; a
failed or refused import creates nothing; a full disk is one line and leaves the store intact.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from counterweight.cli import main
from counterweight.data import market_from_store
from counterweight.data.store import Store, StoreBusyError
from counterweight.errors import InputError

PRICES = "date,ticker,adj_close\n2024-01-02,AAA,10\n2024-01-03,AAA,11\n"
MORE = "date,ticker,adj_close\n2024-01-04,AAA,12\n2024-01-04,BBB,5\n"
BAD = "date,ticker,adj_close\n2024-01-05,AAA,-1\n"


def run_cli(
    *args: str, env: dict[str, str] | None = None, **kw
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "counterweight", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, **(env or {})),
        timeout=120,
        **kw,
    )


def dump(db: Path) -> dict[str, list[tuple]]:
    with Store(db, read_only=True) as st:
        return {
            t: sorted(st.con.execute(f"SELECT * EXCLUDE ({ex}) FROM {t}").fetchall(), key=repr)
            if ex
            else sorted(st.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t, ex in (("prices", ""), ("tickers", ""), ("imports", "imported_at"))
        }


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI in-process; returns (exit code, stderr)."""
    code = main(list(args))
    return code, capsys.readouterr().err


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


def start_paused_import(db: Path, file: Path, marker: Path, pause: float = 30) -> subprocess.Popen:
    env = dict(
        os.environ,
        COUNTERWEIGHT_PAUSE_IN_IMPORT=str(pause),
        COUNTERWEIGHT_PAUSE_MARKER=str(marker),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "counterweight",
            "data",
            "import",
            str(file),
            "--kind",
            "prices",
            "--store",
            str(db),
            "--quiet",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "import never reached its transaction"
        time.sleep(0.05)
    return proc


def test_multi_file_import_is_all_or_nothing(tmp_path: Path, write_file, capsys) -> None:
    db = tmp_path / "s.duckdb"
    a = write_file("a.csv", PRICES)
    with Store(db) as st:
        st.import_file(a, "prices")
    before = dump(db)
    b, bad = write_file("b.csv", MORE), write_file("bad.csv", BAD)
    code, err = cli(
        capsys, "data", "import", str(b), str(bad), "--kind", "prices", "--store", str(db)
    )
    assert code != 0 and "bad.csv, row 2" in one_error_line(err)
    assert dump(db) == before  # b.csv was valid but is not imported either
    # the same through the API: a failure inside the writer session discards all of it
    with pytest.raises(InputError), Store(db) as st:
        st.import_file(b, "prices")
        st.import_file(bad, "prices")
    assert dump(db) == before
    code, err = cli(
        capsys, "data", "import", str(b), str(a), "--kind", "prices", "--store", str(db)
    )
    assert code == 0, err
    after = dump(db)
    assert len(after["prices"]) == 4 and len(after["imports"]) == 3  # log rows with the data


def test_failed_or_refused_import_creates_nothing(tmp_path: Path, write_file, capsys) -> None:
    db = tmp_path / "new" / "s.duckdb"
    code, err = cli(
        capsys,
        "data",
        "import",
        str(tmp_path / "missing.csv"),
        "--kind",
        "prices",
        "--store",
        str(db),
    )
    assert code != 0 and "missing.csv: file not found" in one_error_line(err)
    assert not (tmp_path / "new").exists()
    # caps need prices already in the store: refused inside the writer session, still nothing left
    caps = write_file("c.csv", "date,ticker,market_cap\n2024-01-03,AAA,5\n")
    code, err = cli(capsys, "data", "import", str(caps), "--kind", "caps", "--store", str(db))
    assert code != 0 and "without prices" in one_error_line(err)
    assert not (tmp_path / "new").exists()
    for spec in (":memory:", ":memory:x", " "):
        code, err = cli(capsys, "data", "import", str(caps), "--kind", "caps", "--store", spec)
        assert code != 0 and "in-memory store keeps nothing" in one_error_line(err)
    with pytest.raises(InputError, match="in-memory"):
        Store(":memory:")


def test_reader_sees_last_commit_and_writer_waits_then_says_so(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        st.import_file(write_file("a.csv", PRICES), "prices")
    before = dump(db)
    marker = tmp_path / "marker"
    proc = start_paused_import(db, write_file("b.csv", MORE), marker, pause=60)
    try:
        # a reader is not blocked and sees the last committed state
        assert dump(db) == before
        assert market_from_store(str(db)).prices_frame().shape == (2, 1)
        # a second writer waits at most COUNTERWEIGHT_STORE_TIMEOUT, then one line, nothing done
        t0 = time.perf_counter()
        r = run_cli(
            "data",
            "import",
            str(write_file("c.csv", PRICES)),
            "--kind",
            "prices",
            "--store",
            str(db),
            env={"COUNTERWEIGHT_STORE_TIMEOUT": "0.5"},
        )
        waited = time.perf_counter() - t0
        line = one_error_line(r.stderr)
        assert r.returncode == StoreBusyError.exit_code and "another process" in line
        assert f"pid {proc.pid}" in line and "more than 0.5 s" in line
        assert waited >= 0.5
        # a writer with enough patience gets its turn after the first one commits
        patient = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "counterweight",
                "data",
                "import",
                str(write_file("d.csv", "date,ticker,price\n2024-01-05,CCC,1\n")),
                "--kind",
                "prices",
                "--store",
                str(db),
                "--quiet",
            ],
            env=dict(os.environ, COUNTERWEIGHT_STORE_TIMEOUT="60"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        marker.unlink()  # the first writer leaves its transaction and commits
        _, err = patient.communicate(timeout=90)
        assert patient.returncode == 0, err
    finally:
        marker.unlink(missing_ok=True)
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    with Store(db, read_only=True) as st:
        assert st.counts()["prices"] == 5  # 2 + 2 (paused writer) + 1 (patient writer)


def test_killed_writer_leaves_store_and_log_as_they_were(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        st.import_file(write_file("a.csv", PRICES), "prices")
    before = dump(db)
    proc = start_paused_import(db, write_file("b.csv", MORE), tmp_path / "marker")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert dump(db) == before  # neither the data nor its import-log row
    # the kernel released the dead writer's lock; its private copy is swept by the next writer
    with Store(db, timeout=5) as st:
        st.import_file(write_file("c.csv", MORE), "prices")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".writing", ".writing.wal"))]
    assert len(dump(db)["imports"]) == 2


ALERT_RUN = """
import sys, time
import numpy as np, pandas as pd
from counterweight.data.store import Store
from counterweight.monitor.alerts import AlertBook
from counterweight.monitor.config import Guardrail
from counterweight.monitor.guardrails import evaluate
from counterweight.monitor.signals import Signal, SignalSet
name = sys.argv[2]
idx = pd.bdate_range("2024-01-01", periods=4)
sigs = SignalSet({"x": Signal("x", "x", pd.Series([0.0, 1.0, 1.0, 1.0], index=idx))})
h = evaluate(Guardrail(name, "x", ">", 0.5, persistence=1), sigs)
with Store(sys.argv[1]) as st:
    time.sleep(1.0)  # a slow monitor run: the other one starts meanwhile
    print(AlertBook(st.con).update([h], idx[-1])[0].status)
"""


def test_overlapping_monitor_runs_both_keep_their_alerts(tmp_path: Path) -> None:
    db = tmp_path / "state.duckdb"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ALERT_RUN, str(db), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("first", "second")
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o[0].strip() for o in outs] == ["fired", "fired"]
    with Store(db, read_only=True) as st:
        rows = st.con.execute("SELECT guardrail, active FROM monitor_alerts ORDER BY 1").fetchall()
    assert rows == [("first", True), ("second", True)]


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_is_one_line_and_store_intact(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        st.import_file(write_file("a.csv", PRICES), "prices")
    before = dump(db)
    size = db.stat().st_size
    dates = pd.bdate_range("2000-01-03", periods=3000)
    big = pd.DataFrame(
        {f"T{i}": 100.0 + i + 0.01 * pd.RangeIndex(3000) for i in range(300)}, index=dates
    )
    big.index.name = "date"
    f = tmp_path / "big.parquet"
    big.to_parquet(f)
    r = run_cli(
        "data",
        "import",
        str(f),
        "--kind",
        "prices",
        "--store",
        str(db),
        preexec_fn=_limit_file_size(size + 1024 * 1024),
    )
    line = one_error_line(r.stderr)
    assert r.returncode != 0 and "the store is unchanged" in line, line
    assert dump(db) == before
    assert not [p for p in tmp_path.iterdir() if ".writing" in p.name]
