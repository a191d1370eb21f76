"""Alert state in the store (alerts once, records clears), webhook delivery, CLI exit codes."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from counterweight.cli import main
from counterweight.data.store import Store
from counterweight.monitor.alerts import AlertBook, statuses_without_store
from counterweight.monitor.config import Guardrail
from counterweight.monitor.guardrails import evaluate
from counterweight.monitor.signals import Signal, SignalSet
from counterweight.monitor.webhook import post_json


def _history(values, persistence=2):
    idx = pd.bdate_range("2024-01-01", periods=len(values))
    sigs = SignalSet({"x": Signal("x", "x", pd.Series(np.asarray(values, float), index=idx))})
    return evaluate(Guardrail("g", "x", ">", 0.5, persistence=persistence), sigs), idx


def test_alert_book_fires_once_and_records_clear(tmp_path):
    h, idx = _history([0, 1, 1, 1, 1, 0, 0, 1, 1])
    with Store(tmp_path / "s.duckdb") as st:
        book = AlertBook(st.con)
        seen = [book.update([h], d)[0].status for d in idx]
        assert seen == [
            "ok",
            "ok",
            "fired",
            "continuing",
            "continuing",
            "cleared",
            "ok",
            "ok",
            "fired",
        ]
        ev = book.events()
        assert list(ev["event"]) == ["fired", "cleared", "fired"]
        assert [pd.Timestamp(d) for d in ev["as_of"]] == [idx[2], idx[5], idx[8]]
        state = book.state()["g"]
        assert state["active"] and pd.Timestamp(state["since"]) == idx[7]
        # an older as-of date never rewrites the state
        assert book.update([h], idx[3])[0].status == "stale"
        assert book.state()["g"]["last_as_of"] == idx[8].date()
    # state survives reopening the file
    with Store(tmp_path / "s.duckdb") as st:
        assert AlertBook(st.con).update([h], idx[8])[0].status == "continuing"


def test_statuses_without_store():
    h, idx = _history([0, 1, 1, 1])
    assert [statuses_without_store([h], d)[0].status for d in idx] == [
        "ok",
        "ok",
        "fired",
        "continuing",
    ]


class _Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict]] = []
    fail_first = 0
    delay = 0.0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.delay:
            time.sleep(cls.delay)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.bodies.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def hook():
    handler = type("H", (_Hook,), {"bodies": [], "fail_first": 0, "delay": 0.0})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_delivers_with_retries(hook):
    handler, url = hook
    handler.fail_first = 2
    res = post_json(url, {"a": 1, "x": float("nan")}, timeout=2, retries=2, backoff=0.01)
    assert res.ok and res.attempts == 3 and res.status == 200
    assert handler.bodies == [{"a": 1, "x": None}]


def test_webhook_gives_up_without_blocking(hook):
    handler, url = hook
    handler.fail_first = 10
    res = post_json(url, {"a": 1}, timeout=1, retries=1, backoff=0.01)
    assert not res.ok and res.attempts == 2 and "503" in res.error
    handler.fail_first, handler.delay = 0, 1.2
    t0 = time.perf_counter()
    res = post_json(url, {"a": 1}, timeout=0.2, retries=0)
    assert not res.ok and time.perf_counter() - t0 < 1.1
    t0 = time.perf_counter()
    res = post_json(
        "http://127.0.0.1:9/none", {"a": 1}, timeout=0.5, retries=1, backoff=0.01, deadline=1.5
    )
    assert not res.ok and time.perf_counter() - t0 < 2.5
    assert not post_json("ftp://x", {}).ok


def _config(tmp_path, threshold):
    p = tmp_path / f"cfg{threshold}.toml"
    p.write_text(
        "[[guardrails]]\n"
        'name = "breadth-any"\n'
        'signal = "breadth.above_200d"\n'
        'comparison = ">"\n'
        f"threshold = {threshold}\n"
        "persistence = 1\n"
    )
    return p


def test_cli_alerts_once_then_clears(tmp_path, hook, capsys):
    handler, url = hook
    store = tmp_path / "state.duckdb"
    out = tmp_path / "out.json"
    args = ["monitor", "--sample", "--store", str(store), "--json", str(out), "--webhook", url]
    assert main([*args, "--config", str(_config(tmp_path, 0.0))]) == 3
    payload = json.loads(out.read_text())
    assert payload["new_alerts"] == ["breadth-any"]
    assert payload["regime"]["call"] in ("broadening", "narrowing", "mixed")
    assert handler.bodies and handler.bodies[-1]["new_alerts"] == ["breadth-any"]
    assert "ALERT breadth-any" in capsys.readouterr().out
    assert main([*args, "--config", str(_config(tmp_path, 0.0))]) == 0  # continuing: no new alert
    assert len(handler.bodies) == 1
    assert main([*args, "--config", str(_config(tmp_path, 1.0)), "--quiet"]) == 0  # cleared
    assert json.loads(out.read_text())["alerts"][0]["status"] == "cleared"
    with Store(store) as st:
        assert list(AlertBook(st.con).events()["event"]) == ["fired", "cleared"]


def test_cli_replay_and_errors(tmp_path, capsys):
    out = tmp_path / "replay.json"
    code = main(["monitor", "--sample", "--replay", "2025-01-01", "2025-06-30", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert all("2024-12-31" <= e["date"] <= "2025-06-30" for e in data["events"])
    assert "Guardrail replay" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[guardrails]]\nname = "x"\nsignal = "nope"\ncomparison = ">"\nthreshold = 1\n')
    assert (
        main(["monitor", "--sample", "--config", str(bad), "--json", str(tmp_path / "no.json")])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: guardrails.x.signal") and "Traceback" not in err
    assert not (tmp_path / "no.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replay", "2025-13-01", "2025-06-30"], "--replay"),
        (["--replay", "2025-06-01", "2025-01-01"], "the start comes after the end"),
        (["--as-of", "foo"], "as-of"),
        (["--as-of", "1990-01-01"], "before the first date"),
        (["--flows", "/nonexistent/flows.csv"], "file not found"),
    ],
)
def test_cli_bad_arguments_are_one_line_errors(args, message, capsys):
    assert main(["monitor", "--sample", "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_cli_flows_note_unclassified(tmp_path, capsys):
    flows = tmp_path / "flows.csv"
    flows.write_text(
        "date,fund,flow_usd\n2026-07-28,RSP,1e9\n2026-07-29,SPY,-5e8\n2026-07-29,ZZZQ,1\n"
    )
    out = tmp_path / "o.json"
    page = tmp_path / "monitor.html"
    code = main(
        ["monitor", "--sample", "--flows", str(flows), "--json", str(out), "--html", str(page)]
    )
    text = page.read_text()
    assert "Breadth history" in text and "Correlation history" in text and "plotly" in text
    assert code in (0, 3)
    data = json.loads(out.read_text())
    flow = next(s for s in data["signals"] if s["signal"] == "flows.diversified_minus_cap_1m")
    assert flow["value"] == pytest.approx(1.5e9)
    assert any("ZZZQ" in n for n in data["notes"])
    vote = next(
        v for v in data["regime"]["votes"] if v["signal"] == "flows.diversified_minus_cap_1m"
    )
    assert vote["vote"] == "broadening"
