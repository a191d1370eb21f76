"""Bad command-line input, by class: every generated case must end in exactly one line naming
the option, a non-zero exit, no traceback, and no output file created or changed.

The generators (hypothesis strategies) cover dates, numbers, scenarios, groups, windows,
output paths, policy/config files and usage errors, across the commands that take them.
``python tests/test_bad_input_cli.py [N]`` runs every generator N times (default 200) without
stopping at the first failure and prints the counts quoted in docs/bad-input.md.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import safe_char_device
from counterweight.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "policies"
POLICY = EXAMPLES / "mag7_max_20.toml"
HOLDINGS = "account,ticker,shares\n1001,AAPL,10\n1001,MSFT,5\n1001,CASH,1000\n"
WEIGHTS = "ticker,weight\nAAPL,0.5\nMSFT,0.5\n"
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# ---------------------------------------------------------------------------- the harness


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    crashed: BaseException | None = None

    @property
    def lines(self) -> list[str]:
        return [ln for ln in (self.out + self.err).splitlines() if ln.strip()]


def invoke(args: list[str]) -> Outcome:
    """Run the CLI in-process; an exception escaping ``main`` is recorded, not raised."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except BaseException as exc:
            return Outcome(None, out.getvalue(), err.getvalue(), exc)
    return Outcome(code, out.getvalue(), err.getvalue())


def classify(o: Outcome, option: str) -> str:
    """ok | traceback | accepted | vague (not exactly one line naming the option)."""
    if o.crashed is not None or "Traceback" in o.out + o.err:
        return "traceback"
    if o.code == 0:
        return "accepted"
    lines = o.lines
    if len(lines) != 1 or not lines[0].startswith("error: ") or option not in lines[0]:
        return "vague"
    return "ok"


@dataclass
class Workspace:
    """Input files every case may use, and an output folder whose state must not change."""

    root: Path
    holdings: Path = field(init=False)
    weights: Path = field(init=False)
    out: Path = field(init=False)

    def __post_init__(self) -> None:
        self.holdings = self.root / "holdings.csv"
        self.holdings.write_text(HOLDINGS)
        self.weights = self.root / "weights.csv"
        self.weights.write_text(WEIGHTS)
        self.out = self.root / "out"
        self.out.mkdir(exist_ok=True)
        (self.out / "keep.json").write_text('{"old": true}')

    def snapshot(self) -> dict[str, tuple[int, bytes]]:
        return {
            str(p.relative_to(self.root)): (
                p.lstat().st_mode,
                p.read_bytes() if p.is_file() else b"",
            )
            for p in sorted(self.root.rglob("*"))
        }


def check(ws: Workspace, args: list[str], option: str) -> tuple[str, Outcome]:
    before = ws.snapshot()
    o = invoke(args)
    verdict = classify(o, option)
    if verdict == "ok" and ws.snapshot() != before:
        verdict = "wrote"
    return verdict, o


def assert_refused(ws: Workspace, args: list[str], option: str) -> None:
    verdict, o = check(ws, args, option)
    assert verdict == "ok", (verdict, args, o.code, o.out[-500:], o.err[-500:], o.crashed)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("bad-input"))


# ------------------------------------------------------------------------------ generators
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_good_date(text: str) -> bool:
    """The documented rule: YYYY-MM-DD, a real day, year 1900..2100 (docs/bad-input.md)."""
    s = text.strip()
    if not _ISO.fullmatch(s):
        return False
    try:
        d = date.fromisoformat(s)
    except ValueError:
        return False
    return 1900 <= d.year <= 2100


bad_dates = st.one_of(
    st.sampled_from(
        [
            "2024-02-30",
            "foo",
            "",
            " ",
            "-1",
            "NaT",
            "nat",
            "today",
            "2024-01-02T00:00:00+05:00",
            "2024-01-02+05:00",
            "2024-01-02 10:00",
            "2024-01-02Z",
            "0001-01-01",
            "1700-01-01",
            "2263-01-01",
            "9999-12-31",
            "20240102",
            "2024/01/02",
            "05.01.2024",
            "2024-1-2",
            "2024-13-01",
            "2023-02-29",
            "1e9",
            "None",
            "２０２４-０１-０２",
        ]
    ),
    st.text(max_size=14).filter(lambda s: not is_good_date(s)),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(0, 9999),
        st.integers(0, 99),
        st.integers(0, 99),
    ).filter(lambda s: not is_good_date(s)),
    st.builds(
        lambda d, h, sign, off: f"{d.isoformat()}T{h:02d}:00:00{sign}{off:02d}:00",
        st.dates(date(1990, 1, 1), date(2030, 1, 1)),
        st.integers(0, 23),
        st.sampled_from("+-"),
        st.integers(0, 14),
    ),
)

DATE_OPTIONS: list[tuple[list[str], str]] = [
    (["report", "-q", "--no-long-history"], "--as-of"),
    (["report", "-q", "--no-long-history"], "--start"),
    (["report", "-q", "--no-long-history"], "--end"),
    (["construct", "-p", str(POLICY), "-q"], "--as-of"),
    (["stress"], "--as-of"),
    (["rebalance", "HOLDINGS", "-w", "WEIGHTS", "--no-risk", "--out", "TRADES"], "--as-of"),
    (["backtest", "-q"], "--start"),
    (["backtest", "-q"], "--end"),
    (["monitor", "--sample", "-q"], "--as-of"),
]


def _fill(ws: Workspace, base: list[str]) -> list[str]:
    names = {
        "HOLDINGS": str(ws.holdings),
        "WEIGHTS": str(ws.weights),
        "TRADES": str(ws.root / "trades.csv"),
    }
    return [names.get(a, a) for a in base]


@dataclass(frozen=True)
class NumberOption:
    base: tuple[str, ...]
    option: str
    lo: float
    hi: float
    integer: bool = False
    lo_open: bool = False


NUMBER_OPTIONS = [
    NumberOption(("backtest", "-q"), "--cost-bps", 0, 1000),
    NumberOption(
        ("rebalance", "HOLDINGS", "-w", "WEIGHTS", "--no-risk", "--out", "TRADES"),
        "--turnover",
        0,
        1,
    ),
    NumberOption(
        ("rebalance", "HOLDINGS", "-w", "WEIGHTS", "--no-risk", "--out", "TRADES"),
        "--min-trade",
        0,
        1e9,
    ),
    NumberOption(
        ("rebalance", "HOLDINGS", "-w", "WEIGHTS", "--no-risk", "--out", "TRADES"),
        "--cash-buffer",
        0,
        0.99,
    ),
    NumberOption(("monitor", "--sample", "-q"), "--webhook-timeout", 0, 60, lo_open=True),
    NumberOption(("monitor", "--sample", "-q"), "--webhook-retries", 0, 10, integer=True),
    NumberOption(("stress",), "--window", 20, 5000, integer=True),
    NumberOption(("construct", "-p", str(POLICY), "-q"), "--top", 1, 1000, integer=True),
]


def bad_numbers(opt: NumberOption) -> st.SearchStrategy[str]:
    non_finite = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1e999", ""])
    if opt.integer:
        outside = st.one_of(
            st.integers(max_value=int(opt.lo) - 1), st.integers(min_value=int(opt.hi) + 1)
        )
        fractional = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x))
        return st.one_of(non_finite, outside.map(str), fractional.map(repr), st.just("ten"))
    below = st.floats(max_value=opt.lo, exclude_max=not opt.lo_open, allow_nan=False)
    above = st.floats(min_value=opt.hi, exclude_min=True, allow_nan=False)
    return st.one_of(non_finite, below.map(repr), above.map(repr), st.just("1,000"))


bad_sizes = st.one_of(
    st.integers(2, 10**6).map(str),  # "Mag 7=30": a percent typed as a fraction
    st.floats(min_value=1, exclude_min=True, allow_nan=False).map(repr),
    st.floats(max_value=-1, allow_nan=False).map(repr),
    st.floats(max_value=-100, allow_nan=False).map(lambda x: f"{x!r}%"),
    st.floats(min_value=1000, exclude_min=True, allow_nan=False).map(lambda x: f"{x!r}%"),
    st.sampled_from(["inf", "-inf", "nan", "inf%", "nan%", "", "%", "ten", "0x10", "--5"]),
)


def unknown_tickers() -> st.SearchStrategy[str]:
    return st.text("QWXZJ", min_size=5, max_size=8)  # no S&P 500 ticker is made of these


bad_group_syntax = st.one_of(
    st.text(st.characters(blacklist_characters="="), max_size=10),  # no '='
    st.builds(lambda t: f"=  {t}", st.sampled_from(["AAPL", "AAPL,MSFT"])),  # no name
    st.builds(lambda n: f"{n}=", st.sampled_from(["Chips", "X"])),  # no tickers
    st.builds(lambda n: f"{n}= , ,", st.sampled_from(["Chips", "X"])),
)


def reversed_ranges(sep: str) -> st.SearchStrategy[str]:
    pair = st.tuples(st.dates(date(2000, 1, 1), date(2030, 1, 1)), st.integers(1, 4000))
    return pair.map(
        lambda p: (
            f"{p[0].isoformat()}{sep}{(p[0] - __import__('datetime').timedelta(days=p[1])).isoformat()}"
        )
    )


bad_window_tokens = st.one_of(
    st.sampled_from(["7Q", "0M", "-1Y", "M", "1", "YTDX", "99999D", "1.5M", "", " ", "1W2"]),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=5).filter(
        lambda s: not re.fullmatch(r"(YTD|MTD|QTD|ALL|[1-9][0-9]{0,3}[DWMY])", s)
    ),
    st.builds(
        lambda a, b: f"{a}:{b}", bad_dates.filter(lambda s: ":" not in s and s.strip()), st.just("")
    ),
)

OUTPUT_OPTIONS: list[tuple[list[str], str]] = [
    (["report", "-q", "--no-long-history"], "--json"),
    (["report", "-q", "--no-long-history"], "--html"),
    (["construct", "-p", str(POLICY), "-q"], "--out"),
    (["stress"], "--json"),
    (["rebalance", "HOLDINGS", "-w", "WEIGHTS", "--no-risk", "--out", "TRADES"], "--out"),
    (["rebalance", "HOLDINGS", "-w", "WEIGHTS", "--no-risk", "--out", "TRADES"], "--html"),
    (["backtest", "-q"], "--json"),
    (["backtest", "-q"], "--html"),
    (["monitor", "--sample", "-q"], "--json"),
    (["monitor", "--sample", "-q"], "--html"),
]

PATH_KINDS = ("folder", "through-file", "dev-null", "fifo", "long-name", "empty")


def bad_output_path(ws: Workspace, kind: str, n: int) -> str:
    if kind == "folder":
        return str(ws.out)
    if kind == "through-file":
        return str(ws.out / "keep.json" / "x.json")
    if kind == "dev-null":
        return safe_char_device(ws.root)
    if kind == "fifo":
        fifo = ws.root / "pipe"
        if not fifo.exists():
            os.mkfifo(fifo)
        return str(fifo)
    if kind == "long-name":
        return str(ws.out / ("n" * n + ".json"))
    return ""  # empty


def bad_config_bytes() -> st.SearchStrategy[tuple[str, bytes]]:
    text = st.text(max_size=40)
    return st.one_of(
        st.binary(min_size=1, max_size=64)
        .filter(lambda b: _not_utf8(b))
        .map(lambda b: ("bytes", b)),
        text.map(lambda t: ("utf-16", ("name = 'x'\n" + t).encode("utf-16"))),
        text.map(lambda t: ("utf-32", ("name = 'x'\n" + t).encode("utf-32"))),
        text.map(lambda t: ("gzip", gzip.compress(("name = 'x'\n" + t).encode()))),
        st.just(("folder", b"")),
    )


def _not_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return b"\x00" in b


CONFIG_OPTIONS: list[tuple[list[str], str]] = [
    (["construct", "-q", "-p"], "FILE"),
    (["backtest", "-q", "-p"], "FILE"),
    (["monitor", "--sample", "-q", "--config"], "FILE"),
    (["rebalance", "HOLDINGS", "--no-risk", "--out", "TRADES", "-p"], "FILE"),
    (["stress", "-p"], "FILE"),
]


def write_config(ws: Workspace, kind: str, payload: bytes, n: int) -> Path:
    path = ws.root / f"cfg{n}.toml"
    if kind == "folder":
        path.mkdir(exist_ok=True)
    else:
        path.write_bytes(payload)
    return path


# --------------------------------------------------------------------------------- the tests
@SETTINGS
@given(case=st.sampled_from(DATE_OPTIONS), value=bad_dates)
def test_bad_dates_are_refused_naming_the_option(ws: Workspace, case, value: str) -> None:
    base, option = case
    assert_refused(ws, [*_fill(ws, base), f"{option}={value}"], option)


@pytest.mark.parametrize(("base", "option"), DATE_OPTIONS)
def test_dates_outside_the_data_are_refused(ws: Workspace, base: list[str], option: str) -> None:
    far = "2099-01-01" if option in ("--as-of", "--start") else "1901-01-01"
    assert_refused(ws, [*_fill(ws, base), f"{option}={far}"], option)


def test_reversed_start_end_and_replay(ws: Workspace) -> None:
    assert_refused(
        ws, ["backtest", "-q", "--start", "2025-06-01", "--end", "2025-01-01"], "--start"
    )
    assert_refused(ws, ["report", "-q", "--start", "2025-06-01", "--end", "2025-01-01"], "--start")
    assert_refused(ws, ["monitor", "--sample", "--replay", "2025-06-01", "2025-01-01"], "--replay")


@SETTINGS
@given(data=st.data())
def test_bad_numbers_are_refused(ws: Workspace, data: st.DataObject) -> None:
    opt = data.draw(st.sampled_from(NUMBER_OPTIONS))
    value = data.draw(bad_numbers(opt))
    assert_refused(ws, [*_fill(ws, list(opt.base)), f"{opt.option}={value}"], opt.option)


@SETTINGS
@given(size=bad_sizes, name=st.sampled_from(["Mag 7", "Information Technology", "AAPL"]))
def test_bad_scenario_sizes_are_refused(ws: Workspace, size: str, name: str) -> None:
    assert_refused(
        ws,
        ["stress", "--historical", "2025-04-01..2025-04-30", f"--scenario={name}={size}"],
        "--scenario",
    )


def test_scenario_percent_and_fraction_agree(tiny_market) -> None:
    from counterweight.errors import ConfigError
    from counterweight.risk.stress import parse_shock

    sizes = {
        s: parse_shock(f"AAA={s}", tiny_market).size for s in ("-30%", "-0.30", "-0.3", "+150%")
    }
    assert sizes["-30%"] == pytest.approx(-0.30, abs=1e-15) == sizes["-0.30"] == sizes["-0.3"]
    assert sizes["+150%"] == pytest.approx(1.5, abs=1e-15)  # a rise above 100% needs the sign
    assert parse_shock("AAA=1", tiny_market).size == 1.0  # +100% as a fraction is the limit
    for bad in ("30", "1.5", "-30", "inf", "-100%"):
        with pytest.raises(ConfigError):
            parse_shock(f"AAA={bad}", tiny_market)


@SETTINGS
@given(tickers=st.lists(unknown_tickers(), min_size=1, max_size=3), known=st.booleans())
def test_groups_of_unknown_tickers_are_refused(
    ws: Workspace, tickers: list[str], known: bool
) -> None:
    members = (["AAPL"] if known else []) + tickers
    out = invoke(["report", "-q", "--no-long-history", "--group", f"Mine={','.join(members)}"])
    assert classify(out, "--group") == "ok", out
    assert all(t in out.err for t in tickers[:10])


@SETTINGS
@given(spec=bad_group_syntax)
def test_bad_group_syntax_is_refused(ws: Workspace, spec: str) -> None:
    assert_refused(ws, ["report", "-q", "--no-long-history", f"--group={spec}"], "--group")


def test_a_basket_named_twice_is_refused(ws: Workspace) -> None:
    args = ["report", "-q", "--group", "A=AAPL", "--group", "a=MSFT"]
    assert_refused(ws, args, "--group")


@SETTINGS
@given(
    case=st.sampled_from(
        [
            (["report", "-q", "--no-long-history", "--window"], "--window", ":"),
            (
                ["report", "-q", "--no-long-history", "--contribution-window"],
                "--contribution-window",
                ":",
            ),
            (["stress", "--historical"], "--historical", ".."),
        ]
    ),
    data=st.data(),
)
def test_reversed_and_garbled_windows_are_refused(ws: Workspace, case, data: st.DataObject) -> None:
    base, option, sep = case
    if sep == ":":
        value = data.draw(st.one_of(reversed_ranges(":"), bad_window_tokens))
    else:
        value = data.draw(reversed_ranges(".."))
    assert_refused(ws, [*base, value], option)


@SETTINGS
@given(
    case=st.sampled_from(OUTPUT_OPTIONS), kind=st.sampled_from(PATH_KINDS), n=st.integers(256, 400)
)
def test_unwritable_output_paths_are_refused(ws: Workspace, case, kind: str, n: int) -> None:
    base, option = case
    path = bad_output_path(ws, kind, n)
    assert_refused(ws, [*_fill(ws, base), f"{option}={path}"], option)
    assert not Path(safe_char_device(ws.root)).is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_refused(ws: Workspace) -> None:
    ro = ws.root / "ro"
    ro.mkdir(exist_ok=True)
    ro.chmod(0o555)
    try:
        assert_refused(ws, ["stress", "--json", str(ro / "x.json")], "--json")
    finally:
        ro.chmod(0o755)


def test_symlinks_are_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "new.csv")
    for target in (link, dangling):
        o = invoke(["construct", "-p", str(POLICY), "-q", "--out", str(target)])
        assert o.code == 0, o
    assert link.is_symlink() and dangling.is_symlink()
    assert real.read_text().startswith("ticker,weight") or real.read_text().startswith(",weight")
    assert (tmp_path / "new.csv").read_text() == real.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dangling.csv",
        "link.csv",
        "new.csv",
        "real.csv",
    ]


@SETTINGS
@given(case=st.sampled_from(CONFIG_OPTIONS), content=bad_config_bytes(), n=st.integers(0, 5))
def test_unreadable_config_files_are_one_line(ws: Workspace, case, content, n: int) -> None:
    base, _ = case
    kind, payload = content
    path = write_config(ws, kind, payload, n if kind != "folder" else 99)
    assert_refused(ws, [*_fill(ws, base), str(path)], path.name)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["report", "--no-such-option"], "No such option"),
        (["rebalance"], "Missing argument"),
        (["construct"], "Missing option"),
        (["construct", "-p", str(POLICY), "--top", "many"], "--top"),
        (["report", "--as-of"], "--as-of"),
        (["no-such-command"], "No such command"),
        (["data", "info", "--json"], "--json"),
    ],
)
def test_usage_errors_are_one_line(ws: Workspace, args: list[str], fragment: str) -> None:
    assert_refused(ws, args, fragment)
    assert invoke(args).code == 2


@SETTINGS
@given(
    option=st.text("abcdefghijklmnopqrstuvwxyz-", min_size=3, max_size=12),
    cmd=st.sampled_from(["report", "stress", "backtest", "monitor", "construct"]),
)
def test_unknown_options_are_one_line(ws: Workspace, option: str, cmd: str) -> None:
    flag = "--x" + option  # no option of any command starts with --x
    assert_refused(ws, [cmd, flag], "No such option")


def test_help_still_works() -> None:
    o = invoke(["report", "--help"])
    assert o.code == 0 and "--as-of" in o.out and len(o.lines) > 5


def test_store_in_memory_is_refused(ws: Workspace) -> None:
    for cmd in (
        ["report", "-q"],
        ["stress"],
        ["backtest", "-q"],
        ["monitor"],
        ["construct", "-p", str(POLICY)],
    ):
        assert_refused(ws, [*cmd, "--store", ":memory:"], "--store")


def test_unknown_restricted_tickers_are_refused(ws: Workspace) -> None:
    args = ["rebalance", str(ws.holdings), "-w", str(ws.weights), "--no-risk", "--no-buy", "ZZZQX"]
    assert_refused(ws, args, "--no-buy")


def test_brackets_in_names_do_not_break_the_terminal(tmp_path: Path) -> None:
    """Rich markup in user text ("[/bold]") is printed literally, never interpreted."""
    policy = tmp_path / "p.toml"
    policy.write_text(
        POLICY.read_text().replace('name = "Mag 7 at most 20%"', 'name = "[/bold]x[red]"')
    )
    o = invoke(["construct", "-p", str(policy)])
    assert o.code in (0, 1) and o.crashed is None and "[/bold]x[red]" in o.out, o
    holdings = tmp_path / "h.csv"
    holdings.write_text("account,ticker,shares\n[/bold],AAPL,10\n[/bold],CASH,1000\n")
    weights = tmp_path / "[red]w.csv"
    weights.write_text(WEIGHTS)
    o = invoke(
        [
            "rebalance",
            str(holdings),
            "-w",
            str(weights),
            "--no-risk",
            "--out",
            str(tmp_path / "t.csv"),
        ]
    )
    assert o.code == 0 and "[/bold]" in o.out and "[red]w.csv" in o.out, o
    o = invoke(
        [
            "stress",
            str(holdings),
            "-w",
            str(weights),
            "--historical",
            "2025-04-01..2025-04-30",
            "--scenario",
            "AAPL=-0.1",
        ]
    )
    assert o.code == 0 and "[red]w" in o.out, o
    o = invoke(
        [
            "backtest",
            "-q",
            "-p",
            str(policy),
            "--monthly",
            "--start",
            "2025-06-01",
            "--schedule",
            "never",
        ]
    )
    assert o.code == 0 and "[/bold]x" in o.out, o


# ------------------------------------------------------------------------------- the census
def census(n: int) -> dict[str, int]:  # pragma: no cover - run by hand for docs/bad-input.md
    """Run every generator ``n`` times; count outcomes instead of stopping at a failure."""
    counts = {"cases": 0, "ok": 0, "traceback": 0, "accepted": 0, "vague": 0, "wrote": 0}
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        k = [0]

        def record(args: list[str], option: str) -> None:
            verdict, o = check(ws, args, option)
            counts["cases"] += 1
            counts[verdict] += 1
            if verdict != "ok" and len(failures) < 20:
                failures.append(f"{verdict}: {args} -> {o.lines[:2]} {o.crashed!r}")

        def each(strategy: st.SearchStrategy, fn: Callable) -> None:
            @settings(
                max_examples=n,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def run(x):  # type: ignore[no-untyped-def]
                k[0] += 1
                fn(x)

            run()

        each(
            st.tuples(st.sampled_from(DATE_OPTIONS), bad_dates),
            lambda x: record([*_fill(ws, x[0][0]), f"{x[0][1]}={x[1]}"], x[0][1]),
        )
        for opt in NUMBER_OPTIONS:
            each(
                bad_numbers(opt),
                lambda v, opt=opt: record(
                    [*_fill(ws, list(opt.base)), f"{opt.option}={v}"], opt.option
                ),
            )
        each(
            bad_sizes,
            lambda v: record(
                ["stress", "--historical", "2025-04-01..2025-04-30", f"--scenario=Mag 7={v}"],
                "--scenario",
            ),
        )
        each(
            st.lists(unknown_tickers(), min_size=1, max_size=3),
            lambda t: record(["report", "-q", "--group", f"Mine=AAPL,{','.join(t)}"], "--group"),
        )
        each(bad_group_syntax, lambda v: record(["report", "-q", f"--group={v}"], "--group"))
        each(
            st.one_of(reversed_ranges(":"), bad_window_tokens),
            lambda v: record(["report", "-q", "--window", v], "--window"),
        )
        each(reversed_ranges(".."), lambda v: record(["stress", "--historical", v], "--historical"))
        each(
            st.tuples(
                st.sampled_from(OUTPUT_OPTIONS), st.sampled_from(PATH_KINDS), st.integers(256, 400)
            ),
            lambda x: record(
                [*_fill(ws, x[0][0]), f"{x[0][1]}={bad_output_path(ws, x[1], x[2])}"], x[0][1]
            ),
        )

        def config(x):  # type: ignore[no-untyped-def]
            (base, _), (kind, payload) = x
            path = write_config(ws, kind, payload, k[0])
            record([*_fill(ws, base), str(path)], path.name)

        each(st.tuples(st.sampled_from(CONFIG_OPTIONS), bad_config_bytes()), config)
    for line in failures:
        print(line)
    return counts


if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    print(census(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
