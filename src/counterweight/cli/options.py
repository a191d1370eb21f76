"""Command-line values checked at the edge: one line naming the option, never a traceback.

Every option of every command goes through one of these parsers (as a Typer ``callback``, so
the check runs before any data is loaded) and every failure is a
:class:`~counterweight.errors.ConfigError` whose message starts with the option's name, e.g.
``--as-of '2024-02-30': no such day (expected YYYY-MM-DD)``. The rules are in docs/bad-input.md:

- dates are local trading dates written ``YYYY-MM-DD``, years 1900..2100; no time, no offset;
- numbers are finite and inside a documented range;
- output paths are a regular file (replaced atomically; a symlink is followed to its target)
  or a new name in an existing or creatable folder; anything else is refused;
- a date given with ``--as-of`` must lie within the data (checked once the data is loaded by
  :func:`check_as_of`); ``--start`` / ``--end`` are bounds and may reach beyond it.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from counterweight.errors import ConfigError, DataUnavailableError

if TYPE_CHECKING:
    from counterweight.groups import Group
    from counterweight.market import Market

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WINDOW_TOKEN = re.compile(r"(YTD|MTD|QTD|ALL|[1-9][0-9]{0,3}[DWMY])", re.IGNORECASE)


def option_name(param: Any) -> str:
    """The long spelling of a click/typer parameter (``--as-of``), or its name."""
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if opts:
        return max(opts, key=len)
    name = getattr(param, "name", None) or "value"
    return str(name).upper()


def _show(value: object) -> str:
    """The user's value quoted, with control characters escaped (always one line)."""
    return repr(str(value))


# ------------------------------------------------------------------------------------ dates
def parse_date(value: str, option: str) -> date:
    """A calendar date ``YYYY-MM-DD`` with a year in 1900..2100, else :class:`ConfigError`.

    Refused: empty text, words (``foo``, ``NaT``), numbers (``-1``), times and UTC offsets
    (a trading date has neither), impossible days (``2024-02-30``).
    """
    text = str(value).strip()
    if not _ISO_DATE.fullmatch(text):
        hint = ""
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ].*", text):
            hint = " without a time or UTC offset"
        raise ConfigError(f"{option} {_show(value)}: expected a date YYYY-MM-DD{hint}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {_show(value)}: no such day (expected YYYY-MM-DD)") from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise ConfigError(f"{option} {_show(value)}: year outside {DATE_MIN.year}..{DATE_MAX.year}")
    return day


def date_callback(param: typer.CallbackParam, value: str | None) -> str | None:
    """Typer callback: a checked date as ISO text (None stays None)."""
    if value is None:
        return None
    return parse_date(value, option_name(param)).isoformat()


def parse_date_range(
    start: str, end: str, option: str, sep: str
) -> tuple[date | None, date | None]:
    """``START<sep>END`` (either side may be empty); refuses a reversed range (a one-day range,
    START = END, is the return of that day)."""
    a = parse_date(start, option) if start.strip() else None
    b = parse_date(end, option) if end.strip() else None
    if a is not None and b is not None and a > b:
        raise ConfigError(f"{option} {_show(start + sep + end)}: the start comes after the end")
    return a, b


def check_as_of(market: Market, as_of: str | None, option: str = "--as-of") -> None:
    """Refuse an ``--as-of`` outside the data: never read an earlier date as "today".

    A date inside the data that is not a trading day reads the last trading day before it
    (a weekend reads Friday), as an index's published level does.
    """
    if as_of is None or len(market.dates) == 0:
        return
    import pandas as pd

    ts = pd.Timestamp(as_of)
    first, last = market.dates[0], market.dates[-1]
    if ts > last:
        raise DataUnavailableError(
            f"{option} {as_of} is after the last date with data ({last.date()}); "
            "omit it to read the last date"
        )
    if ts < first:
        raise DataUnavailableError(
            f"{option} {as_of} is before the first date with data ({first.date()})"
        )


def check_span(market: Market, start: str | None, end: str | None) -> None:
    """``--start`` / ``--end`` are bounds: refuse a reversed pair or one that holds no data."""
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--start {start} is after --end {end}")
    if len(market.dates) == 0:
        return
    first, last = market.dates[0].date().isoformat(), market.dates[-1].date().isoformat()
    if start is not None and start > last:
        raise DataUnavailableError(f"--start {start} is after the last date with data ({last})")
    if end is not None and end < first:
        raise DataUnavailableError(f"--end {end} is before the first date with data ({first})")


# ---------------------------------------------------------------------------------- numbers
def check_number(
    value: float,
    option: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    what: str = "",
) -> float:
    """``value`` if finite and within ``[lo, hi]`` (``(lo, hi]`` when ``lo_open``)."""
    x = float(value)
    unit = f" {what}" if what else ""
    if lo is not None and hi is not None:
        rng = (
            f"above {lo:g} and at most {hi:g}{unit}" if lo_open else f"from {lo:g} to {hi:g}{unit}"
        )
    elif lo is not None:
        rng = f"{'above' if lo_open else 'at least'} {lo:g}{unit}"
    else:
        rng = f"at most {hi:g}{unit}" if hi is not None else "finite"
    bad = not math.isfinite(x)
    if lo is not None and (x <= lo if lo_open else x < lo):
        bad = True
    if hi is not None and x > hi:
        bad = True
    if bad:
        raise ConfigError(f"{option} {_show(value)}: expected a number {rng}")
    return x


def number_callback(
    lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, what: str = ""
) -> Callable[[typer.CallbackParam, float | None], float | None]:
    """Typer callback factory checking a float option with :func:`check_number`."""

    def callback(param: typer.CallbackParam, value: float | None) -> float | None:
        if value is None:
            return None
        return check_number(value, option_name(param), lo=lo, hi=hi, lo_open=lo_open, what=what)

    return callback


def int_callback(
    lo: int, hi: int, what: str = ""
) -> Callable[[typer.CallbackParam, int | None], int | None]:
    """Typer callback factory for an integer option within ``[lo, hi]``."""

    def callback(param: typer.CallbackParam, value: int | None) -> int | None:
        if value is None:
            return None
        if not lo <= int(value) <= hi:
            unit = f" {what}" if what else ""
            raise ConfigError(
                f"{option_name(param)} {_show(value)}: expected a whole number from {lo} to {hi}{unit}"
            )
        return int(value)

    return callback


def parse_fraction_spec(spec: str, option: str, prefix: str, lo: float, hi: float) -> None:
    """Check the number in ``prefix:X`` specs (``capped:0.05``, ``band:0.02``)."""
    body = spec.strip().lower()
    if not body.startswith(prefix):
        return
    raw = body[len(prefix) :].lstrip(":")
    if not raw:
        return
    try:
        x = float(raw)
    except ValueError:
        raise ConfigError(f"{option} {_show(spec)}: '{raw}' is not a number") from None
    if not (math.isfinite(x) and lo < x <= hi):
        raise ConfigError(
            f"{option} {_show(spec)}: expected a number above {lo:g} and at most {hi:g}"
        )


def policy_spec_callback(param: typer.CallbackParam, value: list[str] | None) -> list[str] | None:
    """``backtest --policy``: the cap of ``capped:X`` is a fraction in (0, 1]."""
    for spec in value or []:
        parse_fraction_spec(spec, option_name(param), "capped", 0.0, 1.0)
    return value


def schedule_callback(param: typer.CallbackParam, value: str | None) -> str | None:
    """``--schedule``: band widths are fractions in (0, 1]."""
    if value is not None:
        for prefix in ("band:", "relband:"):
            parse_fraction_spec(value, option_name(param), prefix, 0.0, 1.0)
    return value


# -------------------------------------------------------------------------- lists and specs
def window_spec(spec: str, option: str = "--window") -> str:
    """A return window: ``1W 1M 3M 6M YTD 1Y 3Y MTD QTD ALL``, ``N[DWMY]`` or ``START:END``."""
    s = spec.strip()
    if ":" in s:
        a, _, b = s.partition(":")
        parse_date_range(a, b, option, ":")
        return s
    if not _WINDOW_TOKEN.fullmatch(s):
        raise ConfigError(
            f"{option} {_show(spec)}: unknown window; use 1W 1M 3M 6M YTD 1Y 3Y MTD QTD ALL, "
            "N followed by D, W, M or Y, or START:END"
        )
    return s.upper()


def windows_callback(param: typer.CallbackParam, value: Any) -> Any:
    """Typer callback for one window or a list of them."""
    if value is None:
        return None
    if isinstance(value, str):
        return window_spec(value, option_name(param))
    return [window_spec(v, option_name(param)) for v in value]


def historical_callback(param: typer.CallbackParam, value: list[str] | None) -> list[str] | None:
    """``--historical``: a named window, or ``START..END`` with real dates, start first."""
    for spec in value or []:
        if ".." in spec:
            a, _, b = spec.partition("..")
            if not a.strip() or not b.strip():
                raise ConfigError(f"{option_name(param)} {_show(spec)}: expected START..END")
            parse_date_range(a, b, option_name(param), "..")
    return value


def replay_callback(
    param: typer.CallbackParam, value: tuple[str, str] | None
) -> tuple[str, str] | None:
    """``--replay START END``: two dates, the start not after the end."""
    if value is None:
        return None
    a, b = value
    da, db = parse_date(a, option_name(param)), parse_date(b, option_name(param))
    if da > db:
        raise ConfigError(f"{option_name(param)} {a} {b}: the start comes after the end")
    return da.isoformat(), db.isoformat()


def group_callback(param: typer.CallbackParam, value: list[str] | None) -> list[str] | None:
    """``--group NAME=T1,T2``: a name, at least one ticker, each basket named once."""
    from counterweight.groups import parse_group_spec

    seen: set[str] = set()
    for spec in value or []:
        try:
            g = parse_group_spec(spec)
        except ConfigError as exc:
            msg = str(exc)
            if msg.startswith("--group"):
                msg = msg.replace("--group", option_name(param), 1)
            else:
                msg = f"{option_name(param)} {_show(spec)}: {msg}"
            raise ConfigError(msg) from None
        if g.name.lower() in seen:
            raise ConfigError(f"{option_name(param)} {_show(spec)}: basket '{g.name}' given twice")
        seen.add(g.name.lower())
    return value


def check_groups(market: Market, groups: Sequence[Group], option: str = "--group") -> None:
    """Refuse baskets naming tickers the data does not have (they would be dropped silently)."""
    known = set(market.tickers)
    for g in groups:
        unknown = [t for t in g.tickers if t not in known]
        if unknown:
            listed = ", ".join(unknown[:10]) + (
                f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            )
            raise ConfigError(f"{option} '{g.name}': unknown ticker(s) {listed} (not in the data)")


def check_tickers(
    market: Market, tickers: Iterable[str], option: str, also: Iterable[str] = ()
) -> None:
    """Refuse tickers that are neither in the data nor in ``also`` (e.g. the holdings)."""
    known = set(market.tickers) | set(also)
    unknown = sorted(set(tickers) - known)
    if unknown:
        raise ConfigError(
            f"{option}: unknown ticker(s) {', '.join(unknown[:10])} (not in the data)"
        )


def tickers_callback(param: typer.CallbackParam, value: str | None) -> str | None:
    """``--no-buy T1,T2``: comma-separated tickers, none empty."""
    if value is None:
        return None
    parts = value.split(",")
    if not value.strip() or any(not p.strip() for p in parts):
        raise ConfigError(f"{option_name(param)} {_show(value)}: expected TICKER1,TICKER2,...")
    return value


# ----------------------------------------------------------------------------------- paths
def store_callback(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """``--store``: a DuckDB file; ``:memory:`` (which keeps nothing) and '' are refused."""
    if value is None:
        return None
    text = str(value)
    if text.strip() in ("", ".", ":memory:") or text.startswith(":memory:"):
        raise ConfigError(
            f"{option_name(param)} {_show(text)}: expected a store file path "
            "(an in-memory store keeps nothing)"
        )
    if value.is_dir():
        raise ConfigError(f"{option_name(param)} {_show(text)}: is a folder, expected a store file")
    return value


def output_callback(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """Typer callback: refuse an output path that cannot be written, before any work."""
    if value is None:
        return None
    from counterweight.data.files import check_output_path
    from counterweight.errors import OutputError

    if str(value) in ("", "."):  # typer reads '' as the path '.'
        raise ConfigError(f"{option_name(param)}: expected a file path, got '' or '.'")
    try:
        check_output_path(value)
    except OutputError as exc:
        raise ConfigError(f"{option_name(param)} {exc.detail}") from None
    return value


def output_dir_callback(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """``--out-dir``: an existing folder or a new path whose parent can be created."""
    if value is None:
        return None
    name = option_name(param)
    if str(value) in ("", "."):
        return value
    try:
        st = os.stat(value)
    except FileNotFoundError:
        from counterweight.data.files import check_output_path
        from counterweight.errors import OutputError

        try:
            check_output_path(value / "x")
        except OutputError as exc:
            raise ConfigError(f"{name} {exc.detail}") from None
        return value
    except OSError as exc:
        raise ConfigError(f"{name} {_show(value)}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{name} {_show(value)}: not a folder")
    if not os.access(value, os.W_OK | os.X_OK):
        raise ConfigError(f"{name} {_show(value)}: folder not writable")
    return value
