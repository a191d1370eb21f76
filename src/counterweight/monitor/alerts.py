"""Alert state kept in the store, so that a continuing breach alerts once.

Two tables in the DuckDB store (created on first use):

* ``monitor_alerts``: one row per guardrail: ``active``, ``since`` (first session of the
  current breach run), ``fired_on`` / ``cleared_on`` (as-of dates of the last transitions),
  ``last_value``, ``last_as_of``, ``updated_at``;
* ``monitor_alert_events``: the log of transitions (``fired`` / ``cleared``) with the as-of date,
  the tested value and when it was recorded.

:meth:`AlertBook.update` compares each guardrail's state on the as-of date with the stored
one: inactive -> active is a **new** alert (``fired``), active -> active is ``continuing`` (no new
alert), active -> inactive is ``cleared`` (recorded), inactive -> inactive is ``ok``. The whole
update is one transaction. Runs for an as-of date older than the stored one do not rewrite
the state (a backfill must not resurrect old alerts); they are reported as ``stale``.
A guardrail whose signal the data lacks abstains: status ``unavailable``, the stored state is
left as it is, and the reason is given (:attr:`AlertStatus.note`).

Each status carries what an alert message must name: the guardrail, its signal, the tested
value, the comparison and threshold, the persistence, and the group the reading is about
(for the shock signals the group that moved, with its return that day).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from counterweight.monitor.guardrails import GuardrailHistory

SCHEMA = """
CREATE TABLE IF NOT EXISTS monitor_alerts (
    guardrail VARCHAR PRIMARY KEY,
    active BOOLEAN NOT NULL,
    since DATE,
    fired_on DATE,
    cleared_on DATE,
    last_value DOUBLE,
    last_as_of DATE,
    updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS monitor_alert_events (
    guardrail VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    value DOUBLE,
    description VARCHAR,
    recorded_at TIMESTAMP NOT NULL
);
"""


@dataclass(frozen=True)
class AlertStatus:
    """One guardrail's status after an update."""

    guardrail: str
    description: str
    severity: str
    status: str  # fired | continuing | cleared | ok | stale
    active: bool
    value: float | None
    threshold: float
    comparison: str
    since: pd.Timestamp | None
    run: int
    signal: str = ""
    group: str = ""
    move: float | None = None  # the group's return that day (shock signals)
    unit: str = ""
    persistence: int = 1
    change_over: int = 0
    note: str = ""  # why it abstains (status "unavailable")

    @property
    def is_new(self) -> bool:
        return self.status == "fired"

    @property
    def abstains(self) -> bool:
        return self.status == "unavailable"

    def to_dict(self) -> dict[str, Any]:
        return {
            "guardrail": self.guardrail,
            "description": self.description,
            "severity": self.severity,
            "status": self.status,
            "active": self.active,
            "value": self.value,
            "comparison": self.comparison,
            "threshold": self.threshold,
            "since": None if self.since is None else self.since.date().isoformat(),
            "sessions": self.run,
            "signal": self.signal,
            "group": self.group,
            "group_return": self.move,
            "unit": self.unit,
            "persistence": self.persistence,
            "change_over": self.change_over,
            "note": self.note,
        }


def _status(
    h: GuardrailHistory, st: dict[str, Any], status: str, since: pd.Timestamp | None
) -> AlertStatus:
    g = h.guardrail
    return AlertStatus(
        guardrail=g.name,
        description=g.describe(),
        severity=g.severity,
        status=status,
        active=bool(st["active"]),
        value=st["value"],
        threshold=g.threshold,
        comparison=g.comparison,
        since=since,
        run=int(st["run"]),
        signal=g.signal,
        group=str(st.get("group") or ""),
        move=st.get("move"),
        unit="spread" if g.change_over else h.unit,
        persistence=g.persistence,
        change_over=g.change_over,
        note=h.unavailable,
    )


class AlertBook:
    """Alert state on a DuckDB connection (``Store.con``); ``transaction`` is used if given."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.con.execute(SCHEMA)

    def state(self) -> dict[str, dict[str, Any]]:
        rows = self.con.execute(
            "SELECT guardrail, active, since, fired_on, cleared_on, last_value, last_as_of FROM monitor_alerts"
        ).fetchall()
        keys = ("active", "since", "fired_on", "cleared_on", "last_value", "last_as_of")
        return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}

    def events(self) -> pd.DataFrame:
        return self.con.execute(
            "SELECT guardrail, event, as_of, value, description, recorded_at FROM monitor_alert_events "
            "ORDER BY recorded_at, guardrail"
        ).df()

    def update(
        self, histories: Sequence[GuardrailHistory], as_of: pd.Timestamp
    ) -> list[AlertStatus]:
        """Apply the guardrails' states on ``as_of``; returns one status per guardrail
        (abstaining guardrails keep their stored state)."""
        prior = self.state()
        now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
        day = pd.Timestamp(as_of).date()
        out: list[AlertStatus] = []
        self.con.execute("BEGIN TRANSACTION")
        try:
            for h in histories:
                g = h.guardrail
                st = h.state_on(pd.Timestamp(as_of))
                old = prior.get(g.name)
                was = bool(old["active"]) if old else False
                if h.abstains:
                    status = "unavailable"
                elif old and old["last_as_of"] is not None and day < old["last_as_of"]:
                    status = "stale"
                elif st["active"] and not was:
                    status = "fired"
                elif st["active"]:
                    status = "continuing"
                elif was:
                    status = "cleared"
                else:
                    status = "ok"
                since = st["since"] if st["active"] else None
                if status not in ("stale", "unavailable"):
                    fired_on = day if status == "fired" else (old["fired_on"] if old else None)
                    cleared_on = (
                        day if status == "cleared" else (old["cleared_on"] if old else None)
                    )
                    self.con.execute("DELETE FROM monitor_alerts WHERE guardrail = ?", [g.name])
                    self.con.execute(
                        "INSERT INTO monitor_alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            g.name,
                            bool(st["active"]),
                            None if since is None else since.date(),
                            fired_on,
                            cleared_on,
                            st["value"],
                            day,
                            now,
                        ],
                    )
                    if status in ("fired", "cleared"):
                        self.con.execute(
                            "INSERT INTO monitor_alert_events VALUES (?, ?, ?, ?, ?, ?)",
                            [g.name, status, day, st["value"], g.describe(), now],
                        )
                out.append(_status(h, st, status, since))
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")
        return out


def statuses_without_store(
    histories: Sequence[GuardrailHistory], as_of: pd.Timestamp
) -> list[AlertStatus]:
    """Statuses when no store keeps state: an active guardrail is new only if it became active
    on the as-of date itself (it fired that session); an abstaining one is ``unavailable``."""
    out = []
    for h in histories:
        g = h.guardrail
        st = h.state_on(pd.Timestamp(as_of))
        status = "ok"
        if h.abstains:
            status = "unavailable"
        elif st["active"]:
            status = "fired" if st["run"] == g.persistence else "continuing"
        since = st["since"] if st["active"] else None
        out.append(_status(h, st, status, since))
    return out
