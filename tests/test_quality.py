"""Suspicious prints: planted spikes, reversals, splits and genuine moves; a brute-force
reference; the store's exclude/keep; caveats; PPCB on the real panel."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.cli import main
from counterweight.data import market_from_store
from counterweight.data.quality import (
    BadPrintRule,
    bad_print_caveat,
    detect_bad_prints,
    exclude_bad_prints,
)
from counterweight.data.store import Store

FULL = Path("/work/shared/data/full/us_universe_daily_adjclose_2016_2026.parquet")


def panel(**series: list[float]) -> pd.DataFrame:
    n = max(len(v) for v in series.values())
    idx = pd.bdate_range("2024-01-01", periods=n)
    return pd.DataFrame(
        {k: list(v) + [np.nan] * (n - len(v)) for k, v in series.items()}, index=idx
    )


def flags_of(frame: pd.DataFrame) -> list[tuple[str, int, str]]:
    f = detect_bad_prints(frame)
    pos = {d: i for i, d in enumerate(frame.index)}
    return [(t, pos[d], k) for t, d, k in zip(f["ticker"], f["date"], f["flag"], strict=True)]


def test_planted_cases() -> None:
    flat = [100.0] * 12
    spike = [*flat[:5], 260.0, *flat[:6]]  # x2.6 for one day, then back
    reversal = [*flat[:5], 30.0, 101.0, *flat[:5]]  # /3.3 for one day, then back
    split = [*flat[:6], *[50.0] * 6]  # an unadjusted 2-for-1 split
    reverse_split = [*[1.0] * 6, *[10.0] * 6]  # a 1-for-10 reverse split
    genuine = [*flat[:6], *[260.0] * 6]  # +160% that stays (an acquisition, a trial result)
    crash = [*flat[:6], *[37.0] * 6]  # -63% that stays, not a split ratio
    noisy = list(100 * np.exp(np.cumsum(np.r_[0, np.full(11, 0.03)])))
    frame = panel(
        SPK=spike, REV=reversal, SPL=split, RSP=reverse_split, GEN=genuine, CRS=crash, NOI=noisy
    )
    assert sorted(flags_of(frame)) == [
        ("REV", 5, "spike"),
        ("RSP", 6, "split"),
        ("SPK", 5, "spike"),
        ("SPL", 6, "split"),
    ]
    f = detect_bad_prints(frame)
    row = f[f.ticker == "SPK"].iloc[0]
    assert row.price == 260.0 and row.previous == 100.0 and row.next == 100.0
    assert row.move == pytest.approx(1.6, abs=1e-12)
    # excluding blanks exactly the flagged cells, and the returns across them become NaN
    clean = exclude_bad_prints(frame, f)
    assert int(clean.isna().sum().sum() - frame.isna().sum().sum()) == 4
    assert np.isnan(clean.loc[frame.index[5], "SPK"]) and clean["GEN"].equals(frame["GEN"])
    ret = clean["SPK"].pct_change(fill_method=None)
    assert ret.iloc[5:7].isna().all() and ret.abs().max() < 1e-12


def test_missing_prices_between_are_skipped_not_bridged_into_flags() -> None:
    # the spike is seen across gaps: moves are between consecutive observed prices
    frame = panel(GAP=[100, np.nan, 100, np.nan, 300, np.nan, np.nan, 100, 100, 100])
    assert flags_of(frame) == [("GAP", 4, "spike")]
    # an end point cannot be judged as a spike (no next price); a one-day x17 move (no split ratio) is a jump
    frame = panel(END=[100, 100, 100, 250], JMP=[1, 1, 1, 17, 18, 17, 19, 18, 17, 17])
    assert flags_of(frame) == [("JMP", 3, "jump")]


def reference(frame: pd.DataFrame, rule: BadPrintRule) -> set[tuple[str, pd.Timestamp, str]]:
    """The rules of data/quality.py written as a plain loop per ticker (an independent check)."""
    out = set()
    for col in frame.columns:
        s = frame[col]
        obs = [(d, float(v)) for d, v in s.items() if np.isfinite(v) and v > 0]
        for k in range(1, len(obs)):
            d, p = obs[k]
            prev = obs[k - 1][1]
            move = math.log(p / prev)
            nxt = math.log(obs[k + 1][1] / p) if k + 1 < len(obs) else float("nan")
            big = abs(move) >= math.log(rule.spike_factor)
            if big and nxt * move < 0 and abs(nxt) >= rule.reversal * abs(move):
                out.add((col, d, "spike"))
                continue
            ratio = math.exp(abs(move))
            if any(abs(ratio / r - 1) <= rule.split_tolerance for r in rule.split_ratios):
                after = [math.log(v) for _, v in obs[k + 1 : k + 1 + rule.split_persist]]
                if len(after) == rule.split_persist and all(
                    abs(a - math.log(p)) < abs(a - math.log(prev)) for a in after
                ):
                    out.add((col, d, "split"))
                    continue
            if abs(move) >= math.log(rule.extreme_factor):
                out.add((col, d, "jump"))
    return out


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 40),
    m=st.integers(1, 4),
    holes=st.floats(0, 0.4),
)
def test_matches_brute_force_reference(seed: int, n: int, m: int, holes: float) -> None:
    rng = np.random.default_rng(seed)
    # log moves drawn from a mixture so that every rule fires now and then
    steps = rng.choice(
        [0.0, 0.01, -0.02, math.log(2), -math.log(2), math.log(3), 2.5, -3.0], (n, m)
    )
    steps += rng.normal(0, 0.004, (n, m))
    prices = 50 * np.exp(np.cumsum(steps, axis=0))
    prices[rng.random((n, m)) < holes] = np.nan
    frame = pd.DataFrame(
        prices, index=pd.bdate_range("2020-01-01", periods=n), columns=[f"T{j}" for j in range(m)]
    )
    rule = BadPrintRule()
    f = detect_bad_prints(frame, rule)
    got = {
        (t, pd.Timestamp(d), k) for t, d, k in zip(f["ticker"], f["date"], f["flag"], strict=True)
    }
    assert got == reference(frame, rule)


def test_caveat_text() -> None:
    frame = panel(SPK=[100, 100, 260, 100, 100], SPL=[100, 100, 100, 50, 50, 50, 50, 50, 50])
    f = detect_bad_prints(frame)
    text = bad_print_caveat(f, "exclude")
    assert text is not None and text.startswith("suspicious prints: 2 price(s) of 2 ticker(s)")
    assert "1 spike, 1 split" in text and "excluded" in text and "SPK 2024-01-03 spike" in text
    assert "kept as imported" in (bad_print_caveat(f, "keep") or "")
    assert bad_print_caveat(f.iloc[0:0], "exclude") is None


PRICES = (
    "date,ticker,price\n"
    + "".join(
        f"2024-01-{d:02d},SPK,{v}\n"
        for d, v in zip(range(2, 12), [10, 10, 10, 10, 31, 10, 10, 10, 10, 10], strict=True)
    )
    + "".join(f"2024-01-{d:02d},OK,{20 + d / 10}\n" for d in range(2, 12))
)


@pytest.mark.parametrize("action", ["exclude", "keep"])
def test_store_records_flags_and_every_market_says_so(
    tmp_path: Path, write_file, capsys, action: str
) -> None:
    db = tmp_path / "s.duckdb"
    f = write_file("p.csv", PRICES)
    assert (
        main(
            [
                "data",
                "import",
                str(f),
                "--kind",
                "prices",
                "--store",
                str(db),
                "--bad-prints",
                action,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        f"1 suspicious print(s) flagged and {'excluded' if action == 'exclude' else 'kept'}" in out
    )
    m = market_from_store(str(db))
    spk = m.prices_frame()["SPK"]
    assert np.isnan(spk.loc["2024-01-06"]) == (action == "exclude")
    caveats = " ".join(m.provenance.caveats)
    assert (
        "suspicious prints: 1 price(s) of 1 ticker(s) flagged (1 spike; e.g. SPK 2024-01-06 spike)"
        in caveats
    )
    assert ("excluded" in caveats) == (action == "exclude")
    assert main(["data", "info", "--store", str(db), "--json", str(tmp_path / "i.json")]) == 0
    info = capsys.readouterr().out
    assert "Suspicious prints: 1 flagged in 1 ticker(s)" in info and "SPK" in info
    with Store(db, read_only=True) as st:
        flags = st.price_flags()
    assert flags[["ticker", "flag", "action"]].values.tolist() == [
        ["SPK", "spike", "excluded" if action == "exclude" else "kept"]
    ]
    assert pd.Timestamp(flags["date"].iloc[0]) == pd.Timestamp("2024-01-06")


def test_exclude_after_keep_removes_the_stored_print(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    f = write_file("p.csv", PRICES)
    with Store(db) as st:
        st.import_file(f, "prices", bad_prints="keep")
    with Store(db) as st:
        st.import_file(f, "prices", bad_prints="exclude")
    m = market_from_store(str(db))
    assert np.isnan(m.prices_frame().loc["2024-01-06", "SPK"])
    assert not any("kept as imported" in c for c in m.provenance.caveats)


def test_bad_prints_option_is_checked(tmp_path: Path, write_file, capsys) -> None:
    f = write_file("p.csv", PRICES)
    code = main(
        [
            "data",
            "import",
            str(f),
            "--kind",
            "prices",
            "--store",
            str(tmp_path / "s.duckdb"),
            "--bad-prints",
            "drop",
        ]
    )
    err = capsys.readouterr().err
    assert code != 0 and "--bad-prints 'drop': expected one of exclude, keep" in err
    assert not (tmp_path / "s.duckdb").exists()


@pytest.mark.skipif(not FULL.exists(), reason="needs ../shared/data/full")
def test_real_panel_flags_ppcb() -> None:
    frame = pd.read_parquet(FULL, columns=["PPCB", "AAPL", "MSFT", "NVDA", "SPY"])
    f = detect_bad_prints(frame)
    ppcb = f[f.ticker == "PPCB"]
    days = set(pd.DatetimeIndex(ppcb["date"]).strftime("%Y-%m-%d"))
    assert {"2025-01-29", "2025-02-13"} <= days  # 0.01 -> 625 (jump), 250 -> 69 -> 222 (spike)
    # the adjusted closes of large, liquid names carry none
    assert set(f["ticker"]) == {"PPCB"}
    clean = exclude_bad_prints(frame, f)["PPCB"]
    feb = clean.loc["2025-01-27":"2025-02-20"].pct_change(fill_method=None).abs().max()
    assert feb < 2.0  # no more 62,500x day; the remaining moves are the stock's own


def test_market_from_files_screens_and_says_so(write_file) -> None:
    from counterweight.data import market_from_files

    f = write_file("p.csv", PRICES)
    m = market_from_files(f)
    assert np.isnan(m.prices_frame().loc["2024-01-06", "SPK"])
    assert any(c.startswith("suspicious prints: 1 price(s)") for c in m.provenance.caveats)
    kept = market_from_files(f, bad_prints="keep")
    assert kept.prices_frame().loc["2024-01-06", "SPK"] == 31.0
    assert any("kept as imported" in c for c in kept.provenance.caveats)
