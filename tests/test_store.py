"""Store: import then read back, idempotence, newer values replace older, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from counterweight.data import market_from_store
from counterweight.data.store import Store
from counterweight.errors import DataUnavailableError, InputError

PRICES = "date,ticker,adj_close\n2024-01-02,AAA,10\n2024-01-03,AAA,11\n2024-01-02,BBB,20\n2024-01-03,BBB,21\n"
CAPS = "date,ticker,market_cap\n2024-01-03,AAA,1100\n2024-01-03,BBB,4200\n"
SEC = "ticker,name,sector\nAAA,A Co,Energy\nBBB,B Co,Utilities\n"
MEM = "ticker,start,end\nAAA,2020-01-01,\nBBB,2020-01-01,2024-01-03\n"


def table_dump(db: Path) -> dict[str, list[tuple]]:
    with Store(db, read_only=True) as st:
        return {
            t: sorted(st.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in ("prices", "caps", "securities", "membership", "tickers")
        }


def test_import_and_read_market(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        st.import_file(write_file("p.csv", PRICES), "prices")
        st.import_file(write_file("c.csv", CAPS), "caps")
        st.import_file(write_file("s.csv", SEC), "securities")
        st.import_file(write_file("m.csv", MEM), "membership")
    m = market_from_store(str(db))
    assert list(m.tickers) == ["AAA", "BBB"]
    np.testing.assert_allclose(m.prices_frame().loc["2024-01-03"].to_numpy(), [11.0, 21.0])
    # BBB leaves on 2024-01-03 (end exclusive)
    assert m.members_frame().loc["2024-01-03"].tolist() == [True, False]
    # the cap snapshot dated Jan 3 reflects Jan 2's close: holding 1100/10 = 110 -> 1210 on Jan 3
    assert m.caps_frame().loc["2024-01-03", "AAA"] == pytest.approx(1210.0)
    assert m.securities.loc["BBB", "sector"] == "Utilities"


def test_reimport_is_idempotent_and_newer_value_replaces(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    f = write_file("p.csv", PRICES)
    with Store(db) as st:
        first = st.import_file(f, "prices")
        st.import_file(write_file("s.csv", SEC), "securities")
        st.import_file(write_file("m.csv", MEM), "membership")
    before = table_dump(db)
    with Store(db) as st:
        again = st.import_file(f, "prices")
        st.import_file(write_file("s.csv", SEC), "securities")
        st.import_file(write_file("m.csv", MEM), "membership")
    assert first.changed == 4 and again.changed == 0
    assert table_dump(db) == before
    with Store(db) as st:
        res = st.import_file(
            write_file("p2.csv", "date,ticker,price\n2024-01-03,AAA,11.5\n"), "prices"
        )
    assert res.changed == 1
    m = market_from_store(str(db))
    assert m.prices_frame().loc["2024-01-03", "AAA"] == 11.5
    assert m.prices_frame().loc["2024-01-03", "BBB"] == 21.0


def test_caps_for_unknown_tickers_rejected(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        st.import_file(write_file("p.csv", PRICES), "prices")
        with pytest.raises(InputError, match="without prices"):
            st.import_file(
                write_file("c.csv", "date,ticker,market_cap\n2024-01-03,ZZZ,5\n"), "caps"
            )


def test_bad_file_leaves_store_unchanged(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        st.import_file(write_file("p.csv", PRICES), "prices")
    before = table_dump(db)
    with Store(db) as st, pytest.raises(InputError):
        st.import_file(write_file("bad.csv", "date,ticker,price\n2024-01-04,AAA,-1\n"), "prices")
    assert table_dump(db) == before


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="no store"):
        market_from_store(str(tmp_path / "none.duckdb"))


def test_killed_mid_import_leaves_previous_state(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        st.import_file(write_file("p.csv", PRICES), "prices")
    before = table_dump(db)
    dates = pd.bdate_range("2024-01-04", periods=300)
    big = pd.DataFrame({"date": dates.repeat(2), "ticker": ["AAA", "CCC"] * 300, "price": 50.0})
    newer = tmp_path / "newer.csv"
    big.to_csv(newer, index=False)
    marker = tmp_path / "marker"
    env = dict(
        os.environ, COUNTERWEIGHT_PAUSE_IN_IMPORT="30", COUNTERWEIGHT_PAUSE_MARKER=str(marker)
    )
    code = (
        "from counterweight.data.store import Store\n"
        f"with Store({str(db)!r}) as st:\n"
        f"    st.import_file({str(newer)!r}, 'prices')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert proc.poll() is None, "import process ended before reaching its transaction"
            assert time.time() < deadline, "import never reached its transaction"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert table_dump(db) == before
    m = market_from_store(str(db))
    assert list(m.tickers) == ["AAA", "BBB"]


def test_market_from_files_matches_store(tmp_path: Path, write_file) -> None:
    from counterweight.data import market_from_files

    files = {
        "prices": write_file("p.csv", PRICES),
        "caps": write_file("c.csv", CAPS),
        "securities": write_file("s.csv", SEC),
        "membership": write_file("m.csv", MEM),
    }
    direct = market_from_files(**files)
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        for kind, f in files.items():
            st.import_file(f, kind)
    stored = market_from_store(str(db))
    np.testing.assert_array_equal(direct.prices, stored.prices)
    np.testing.assert_array_equal(direct.caps, stored.caps)
    np.testing.assert_array_equal(direct.members, stored.members)
    with pytest.raises(InputError, match="without prices"):
        market_from_files(files["prices"], caps=write_file("c2.csv", "date,ticker,market_cap\n2024-01-03,ZZZ,1\n"))
