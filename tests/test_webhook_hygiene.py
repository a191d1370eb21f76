"""Webhook hygiene: secrets never printed, credentials sent as credentials, no redirect to
another host, bounded retries and timeouts, no local paths in the payload. Local server only."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.cli import main
from counterweight.errors import ConfigError
from counterweight.monitor.webhook import (
    WebhookURLError,
    parse_webhook_url,
    post_json,
    scrub_local_paths,
)


class _Server(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []
    reply: ClassVar[tuple[int, dict[str, str]]] = (200, {})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        cls.seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": json.loads(body)}
        )
        code, headers = cls.reply
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve() -> tuple[type[_Server], HTTPServer]:
    handler = type("S", (_Server,), {"seen": [], "reply": (200, {})})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return handler, server


@pytest.fixture()
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[type[_Server], int]]]:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    made = [_serve(), _serve()]
    yield [(h, s.server_address[1]) for h, s in made]
    for _, s in made:
        s.shutdown()
        s.server_close()


def test_credentials_are_sent_as_basic_auth_and_never_shown(servers) -> None:
    (h, port), _ = servers
    url = f"http://al%40ice:s3cr%3At@127.0.0.1:{port}/hooks/T0K3N?token=QUERYSECRET"
    res = post_json(url, {"a": 1}, timeout=2, retries=0)
    assert res.ok and res.status == 200
    got = h.seen[0]
    assert got["path"] == "/hooks/T0K3N?token=QUERYSECRET"  # sent in full to the server
    assert base64.b64decode(got["auth"].split()[1]).decode() == "al@ice:s3cr:t"
    shown = res.summary()
    assert shown == f"webhook: delivered to http://127.0.0.1:{port}/… (HTTP 200, 1 attempt(s))"
    for secret in ("al", "s3cr", "T0K3N", "QUERYSECRET", "token", "hooks"):
        assert secret not in shown.replace("delivered", "").replace("attempt", "")


def test_userinfo_is_not_the_host() -> None:
    u = parse_webhook_url("https://user:pass@example.com:8443/x")
    assert (u.host, u.port, u.username, u.password) == ("example.com", 8443, "user", "pass")
    assert u.request_url() == "https://example.com:8443/x"
    with pytest.raises(WebhookURLError) as info:
        parse_webhook_url("http://user:pass@/x")
    assert "pass" not in str(info.value)


def test_redirect_to_another_host_is_not_followed(servers) -> None:
    (a, pa), (b, pb) = servers
    a.reply = (307, {"Location": f"http://localhost:{pb}/stolen"})
    res = post_json(f"http://u:p@127.0.0.1:{pa}/hook?k=SECRET", {"a": 1}, timeout=2, retries=2)
    assert not res.ok and res.attempts == 1 and b.seen == []
    assert "another host" in res.error and f"http://localhost:{pb}/…" in res.error
    assert "stolen" not in res.summary() and "SECRET" not in res.summary()


def test_same_host_307_is_followed_with_the_body_and_302_is_not(servers) -> None:
    (a, pa), _ = servers
    a.reply = (308, {"Location": "/moved"})
    calls: list[int] = []

    orig = a.do_POST

    def once(self: _Server) -> None:  # the second request is answered 200
        calls.append(1)
        if len(calls) > 1:
            type(self).reply = (200, {})
        orig(self)

    a.do_POST = once  # type: ignore[method-assign]
    res = post_json(f"http://127.0.0.1:{pa}/hook", {"a": 1}, timeout=2, retries=0)
    assert res.ok and [s["path"] for s in a.seen] == ["/hook", "/moved"]
    assert a.seen[1]["body"] == {"a": 1}
    a.reply = (302, {"Location": "/elsewhere"})
    calls.clear()
    a.do_POST = orig  # type: ignore[method-assign]
    res = post_json(f"http://127.0.0.1:{pa}/hook", {"a": 1}, timeout=2, retries=1)
    assert not res.ok and "not followed" in res.error and res.attempts == 1


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["timeout", "retries", "backoff"]),
    value=st.one_of(
        st.sampled_from([float("nan"), float("inf"), -float("inf"), -1, 0, 1e9, True, "5", None]),
        st.floats(min_value=61, allow_infinity=True, allow_nan=False),
        st.integers(min_value=11),
        st.integers(max_value=-1),
    ),
)
def test_unbounded_retries_and_timeouts_are_refused(name: str, value: object) -> None:
    kwargs: dict[str, Any] = {"timeout": 1.0, "retries": 0, "backoff": 0.0}
    kwargs[name] = value
    ok = {
        "timeout": lambda v: (
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 60
        ),
        "retries": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10,
        "backoff": lambda v: (
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 60
        ),
    }[name]
    if ok(value):
        return
    with pytest.raises(ConfigError):
        post_json("http://127.0.0.1:9/x", {}, **kwargs)


def test_local_paths_leave_the_payload(servers) -> None:
    (h, port), _ = servers
    payload = {
        "provenance": {
            "name": "store /home/ann/data/cw.duckdb",
            "sources": [
                "/home/ann/prices.csv (imported)",
                "C:\\Users\\ann\\caps.csv",
                "file:///srv/x/y.parquet",
                "https://example.com/a/b.csv",
                "caps/shares 50/50",
            ],
        },
        "/abs/key.txt": 1,
    }
    res = post_json(f"http://127.0.0.1:{port}/", payload, timeout=2, retries=0)
    assert res.ok
    body = h.seen[0]["body"]
    assert body["provenance"]["name"] == "store cw.duckdb"
    assert body["provenance"]["sources"] == [
        "prices.csv (imported)",
        "caps.csv",
        "y.parquet",
        "https://example.com/a/b.csv",
        "caps/shares 50/50",
    ]
    assert "key.txt" in body and "/home" not in json.dumps(body)
    assert scrub_local_paths(["~/x/y.csv", 3.0]) == ["y.csv", 3.0]


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("ftp://user:hunter2@example.com/x", "hunter2"),
        ("http://user:hunter2@/x", "hunter2"),
        ("http://example.com:99999/x?token=hunter2", "hunter2"),
        ("http://exa mple.com/hunter2", "hunter2"),
        ("", ""),
    ],
)
def test_cli_refuses_bad_webhook_urls_without_repeating_secrets(
    url: str, secret: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitor", "--sample", "-q", "--webhook", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --webhook") and "\n" not in err
    assert not secret or secret not in err
