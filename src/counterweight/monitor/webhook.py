"""POST the alert JSON to a webhook, with a timeout and bounded retries, never blocking a run.

:func:`post_json` tries up to ``1 + retries`` times (each with ``timeout`` seconds), waiting
``backoff * 2**k`` seconds between attempts. Connection errors, timeouts and HTTP 5xx / 429 are
retried; other 4xx are final (the request itself is wrong). It runs on a daemon thread and the
caller waits at most ``deadline`` seconds in total; past that the result says so and the run
goes on (a daemon thread never holds the process open). Nothing raises: the outcome is returned
as a :class:`WebhookResult` for the dashboard to print.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from counterweight.data.files import to_json_text


@dataclass
class WebhookResult:
    url: str
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


def _attempt(url: str, body: bytes, timeout: float) -> tuple[int | None, str, bool]:
    """(status, error, retryable) of one POST."""
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "counterweight-monitor"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), "", False
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code == 429
        return int(exc.code), f"HTTP {exc.code}", retry
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason) or type(exc).__name__, True


def _deliver(
    result: WebhookResult, body: bytes, timeout: float, retries: int, backoff: float
) -> None:
    for k in range(retries + 1):
        result.attempts = k + 1
        status, error, retry = _attempt(result.url, body, timeout)
        result.status, result.error = status, error
        if status is not None and 200 <= status < 300:
            result.ok = True
            return
        if not retry or k == retries:
            return
        time.sleep(backoff * 2**k)


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
    of all attempts and waits, ``(retries + 1) * timeout + backoff * (2**retries - 1)``)."""
    if not url.lower().startswith(("http://", "https://")):
        return WebhookResult(url, error="only http:// and https:// URLs are supported")
    body = to_json_text(payload).encode("utf-8")
    json.loads(body)  # payload is valid JSON by construction; fail loudly in tests if not
    result = WebhookResult(url)
    limit = (
        deadline
        if deadline is not None
        else (retries + 1) * timeout + backoff * (2**retries - 1) + 1.0
    )
    worker = threading.Thread(
        target=_deliver, args=(result, body, timeout, retries, backoff), daemon=True
    )
    worker.start()
    worker.join(limit)
    snapshot = replace(result)
    if worker.is_alive():
        snapshot.ok = False
        snapshot.error = f"gave up waiting after {limit:.1f} s (still trying in the background)"
    return snapshot
