"""POST the alert JSON to a webhook, with a timeout and bounded retries, never blocking a run.

:func:`post_json` tries up to ``1 + retries`` times (each with ``timeout`` seconds), waiting
``backoff * 2**k`` seconds between attempts. Connection errors, timeouts and HTTP 5xx / 429 are
retried; other 4xx are final (the request itself is wrong). It runs on a daemon thread and the
caller waits at most ``deadline`` seconds in total; past that the result says so and the run
goes on (a daemon thread never holds the process open). Delivery never raises: the outcome is
returned as a :class:`WebhookResult` for the dashboard to print.

Hygiene (webhook URLs carry secrets and end up in cron logs):

- a URL is shown only as ``scheme://host[:port]/…``: never its credentials, path or query;
- ``user:pass@`` in the URL is sent as HTTP Basic credentials, never taken as part of the host;
- redirects are not followed, except a 307/308 to the same scheme, host and port (which keeps
  the POST body); a redirect elsewhere is reported, with the target shown the same way;
- ``retries`` (0..10), ``timeout`` (above 0, at most 60 s) and ``backoff`` (0..60 s) must be
  finite and bounded, else :class:`~counterweight.errors.ConfigError`;
- local absolute file paths in the payload are cut to their file name
  (:func:`scrub_local_paths`).
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from counterweight.data.files import to_json_text
from counterweight.errors import ConfigError

MAX_RETRIES = 10
MAX_TIMEOUT = 60.0
MAX_BACKOFF = 60.0
MAX_REDIRECTS = 3
_HOST = re.compile(r"[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\]")


class WebhookURLError(ValueError):
    """A webhook URL that cannot be used; the message never repeats the URL's secrets."""


@dataclass(frozen=True)
class WebhookURL:
    """A parsed webhook URL: where to connect, what to send, what may be shown."""

    scheme: str
    host: str
    port: int | None
    target: str  # path and query sent in the request line
    username: str | None = None
    password: str | None = None

    @property
    def origin(self) -> tuple[str, str, int]:
        default = 443 if self.scheme == "https" else 80
        return self.scheme, self.host.lower(), self.port or default

    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def request_url(self) -> str:
        """The URL requested: no credentials (they travel in the Authorization header)."""
        return f"{self.scheme}://{self._netloc()}{self.target}"

    def display(self) -> str:
        """What may be printed: scheme, host and port; the path and query are elided."""
        rest = "/…" if self.target not in ("", "/") else ""
        return f"{self.scheme}://{self._netloc()}{rest}"

    def authorization(self) -> str | None:
        if self.username is None and self.password is None:
            return None
        user = urllib.parse.unquote(self.username or "")
        word = urllib.parse.unquote(self.password or "")
        return "Basic " + base64.b64encode(f"{user}:{word}".encode()).decode("ascii")

    def secrets(self) -> list[str]:
        """Parts of the URL that must never be printed (longest first)."""
        parts = urllib.parse.urlsplit(self.target)
        out = [s for s in (self.username, self.password, parts.path, parts.query) if s]
        return sorted({s for s in out if s not in ("/",)}, key=len, reverse=True)


def parse_webhook_url(url: str) -> WebhookURL:
    """Parse and check a webhook URL (http or https, a host, a valid port)."""
    text = str(url).strip()
    if not text:
        raise WebhookURLError("expected an http:// or https:// URL, got ''")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise WebhookURLError("the URL contains spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        raise WebhookURLError("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookURLError("only http:// and https:// URLs are supported")
    netloc = parts.netloc.rpartition("@")[2]
    host = parts.hostname or ""
    hostpart = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    if not host or not _HOST.fullmatch(hostpart):
        raise WebhookURLError("the URL has no valid host")
    try:
        port = parts.port
    except ValueError:
        raise WebhookURLError("the URL's port is not a number from 0 to 65535") from None
    if port == 0:
        raise WebhookURLError("the URL's port is not a number from 1 to 65535")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookURL(scheme, host, port, target, parts.username, parts.password)


def display_url(url: str) -> str:
    """A URL as it may be printed (see :meth:`WebhookURL.display`)."""
    try:
        return parse_webhook_url(url).display()
    except WebhookURLError:
        return "<invalid URL>"


_PATH = re.compile(
    r"file://[^\s'\"]+"
    r"|(?<![\w.:/\\~-])(?:~|[A-Za-z]:)?[/\\](?:[^\s/\\'\"(),;:]+[/\\])*[^\s/\\'\"(),;:]+"
)


def _basename(match: re.Match[str]) -> str:
    text = match.group(0).rstrip("/\\")
    return re.split(r"[/\\]", text)[-1] or "…"


def scrub_local_paths(payload: Any) -> Any:
    """``payload`` with every absolute local path in its strings cut to the file name
    (``/home/u/data/prices.csv`` -> ``prices.csv``); URLs with a host are kept."""
    if isinstance(payload, str):
        return _PATH.sub(_basename, payload)
    if isinstance(payload, dict):
        return {scrub_local_paths(k): scrub_local_paths(v) for k, v in payload.items()}
    if isinstance(payload, (list, tuple)):
        return [scrub_local_paths(v) for v in payload]
    return payload


@dataclass
class WebhookResult:
    url: str  # as displayed: no credentials, path or query
    ok: bool = False
    attempts: int = 0
    status: int | None = None
    error: str = ""

    def summary(self) -> str:
        if self.ok:
            return (
                f"webhook: delivered to {self.url} (HTTP {self.status}, {self.attempts} attempt(s))"
            )
        return (
            f"webhook: NOT delivered to {self.url} after {self.attempts} attempt(s): {self.error}"
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_NoRedirect())


def _scrub(text: str, url: WebhookURL) -> str:
    for secret in url.secrets():
        text = text.replace(secret, "…")
    return text


def _attempt(url: WebhookURL, body: bytes, timeout: float) -> tuple[int | None, str, bool]:
    """(status, error, retryable) of one POST, following only same-origin 307/308."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        headers = {"Content-Type": "application/json", "User-Agent": "counterweight-monitor"}
        auth = current.authorization()
        if auth is not None:
            headers["Authorization"] = auth
        req = urllib.request.Request(
            current.request_url(), data=body, method="POST", headers=headers
        )
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                return int(resp.status), "", False
        except urllib.error.HTTPError as exc:
            code = int(exc.code)
            if 300 <= code < 400:
                location = exc.headers.get("Location", "") if exc.headers else ""
                try:
                    nxt = parse_webhook_url(urllib.parse.urljoin(current.request_url(), location))
                except WebhookURLError:
                    return code, f"HTTP {code} redirect to an invalid URL, not followed", False
                if nxt.origin != current.origin:
                    return (
                        code,
                        f"HTTP {code} redirect to another host ({nxt.display()}), not followed",
                        False,
                    )
                if code not in (307, 308):
                    return code, f"HTTP {code} redirect (would drop the POST), not followed", False
                current = replace(nxt, username=current.username, password=current.password)
                continue
            retry = code >= 500 or code == 429
            return code, f"HTTP {code}", retry
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            return None, _scrub(str(reason) or type(exc).__name__, url), True
        except ValueError as exc:  # a URL http.client refuses: final
            return None, _scrub(str(exc) or "invalid URL", url), False
    return None, f"more than {MAX_REDIRECTS} redirects, not followed", False


def _deliver(
    result: WebhookResult,
    url: WebhookURL,
    body: bytes,
    timeout: float,
    retries: int,
    backoff: float,
) -> None:
    for k in range(retries + 1):
        result.attempts = k + 1
        status, error, retry = _attempt(url, body, timeout)
        result.status, result.error = status, error
        if status is not None and 200 <= status < 300:
            result.ok = True
            return
        if not retry or k == retries:
            return
        time.sleep(backoff * 2**k)


def _check(name: str, value: object, lo: float, hi: float, lo_open: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    x = float(value) if ok else math.nan  # type: ignore[arg-type]
    if not (ok and math.isfinite(x) and (x > lo if lo_open else x >= lo) and x <= hi):
        side = "above" if lo_open else "at least"
        raise ConfigError(
            f"webhook {name} {value!r}: expected a number {side} {lo:g}, at most {hi:g}"
        )
    return x


def post_json(
    url: str,
    payload: Any,
    *,
    timeout: float = 5.0,
    retries: int = 2,
    backoff: float = 0.5,
    deadline: float | None = None,
) -> WebhookResult:
    """POST ``payload`` as JSON; returns within ``deadline`` seconds (default: the worst case
    of all attempts and waits, ``(retries + 1) * timeout + backoff * (2**retries - 1)``).

    Raises :class:`ConfigError` for retries, timeout, backoff or deadline that are not finite
    and bounded; every delivery failure is returned in the result instead.
    """
    timeout = _check("timeout", timeout, 0.0, MAX_TIMEOUT, lo_open=True)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise ConfigError(
            f"webhook retries {retries!r}: expected a whole number from 0 to {MAX_RETRIES}"
        )
    backoff = _check("backoff", backoff, 0.0, MAX_BACKOFF)
    worst = (retries + 1) * timeout + backoff * (2**retries - 1) + 1.0
    limit = (
        worst
        if deadline is None
        else min(worst, _check("deadline", deadline, 0.0, 3600.0, lo_open=True))
    )
    try:
        target = parse_webhook_url(url)
    except WebhookURLError as exc:
        return WebhookResult(display_url(url), error=str(exc))
    body = to_json_text(scrub_local_paths(payload)).encode("utf-8")
    json.loads(body)  # payload is valid JSON by construction; fail loudly in tests if not
    result = WebhookResult(target.display())
    worker = threading.Thread(
        target=_deliver, args=(result, target, body, timeout, retries, backoff), daemon=True
    )
    worker.start()
    worker.join(limit)
    snapshot = replace(result)
    if worker.is_alive():
        snapshot.ok = False
        snapshot.error = f"gave up waiting after {limit:.1f} s (still trying in the background)"
    return snapshot
