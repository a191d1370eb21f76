"""Caveats and notes as presented: each said once.

Caveats reach a report from several layers (the data's provenance, the measure, the
backtest), so the same fact can arrive more than once, in the same or in other words
(a backtest on the embedded sample carried three survivorship caveats). For presentation:

* :func:`unique_lines` drops repeats: lines equal up to case, spacing and a final full stop;
* :func:`caveat_lines` also merges the lines on one topic (:data:`TOPICS`: survivorship,
  float adjustment of market caps) into one line headed by the topic, in first-seen order,
  so each caveat is printed once and no statement is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Survivorship bias", ("survivorship",)),
    ("Market caps not float-adjusted", ("not float-adjusted", "not float adjusted")),
)
"""(heading, phrases): a caveat containing any phrase (case-insensitive) is on that topic."""


def _key(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip().rstrip(".").strip().casefold()


def unique_lines(lines: Iterable[str]) -> list[str]:
    """``lines`` without repeats (equal up to case, spacing and a final full stop), in order."""
    seen: set[str] = set()
    out: list[str] = []
    for line in lines:
        text = re.sub(r"\s+", " ", str(line)).strip()
        k = _key(text)
        if k and k not in seen:
            seen.add(k)
            out.append(text)
    return out


def _topic(line: str) -> str | None:
    low = line.casefold()
    for heading, phrases in TOPICS:
        if any(p in low for p in phrases):
            return heading
    return None


def _without_heading(line: str, heading: str) -> str:
    """The line without a leading "<topic>:" or "<topic> bias:" of its own."""
    word = heading.split()[0].casefold()
    m = re.match(rf"\s*{re.escape(word)}(\s+bias)?\s*:\s*", line, flags=re.IGNORECASE)
    return line[m.end() :] if m else line


def caveat_lines(caveats: Iterable[str]) -> list[str]:
    """Each caveat once: repeats dropped, lines on one topic merged (see the module docs)."""
    lines = unique_lines(caveats)
    groups: dict[str, list[str]] = {}
    order: list[tuple[str, str | None]] = []
    for line in lines:
        topic = _topic(line)
        if topic is None:
            order.append((line, None))
        else:
            if topic not in groups:
                groups[topic] = []
                order.append((topic, topic))
            groups[topic].append(line)
    out = []
    for text, topic in order:
        if topic is None:
            out.append(text)
        elif len(groups[topic]) == 1:
            out.append(groups[topic][0])
        else:
            parts = [_without_heading(x, topic).rstrip(".") for x in groups[topic]]
            out.append(f"{topic}: " + "; ".join(parts))
    return out
