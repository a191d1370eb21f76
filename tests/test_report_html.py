"""The HTML report opens in headless Chromium with no console errors and every chart drawn."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from counterweight.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless chromium is not installed")


def open_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """Load ``page`` headless, let scripts run, return (rendered DOM, console lines)."""
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def test_console_capture_sees_errors(tmp_path: Path) -> None:
    """Negative control: a page that throws is caught by the same check."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>throw new Error('boom')</script></body></html>")
    _, console = open_in_chromium(bad, tmp_path / "profile")
    assert any("boom" in line for line in console)


def test_html_report_renders_every_chart(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert main(["report", "--html", str(page), "--group", "Chips=NVDA,AVGO,AMD", "-q"]) == 0
    source = page.read_text()
    n_charts = len(re.findall(r'<div class="chart">', source))
    assert n_charts >= 8
    assert "<script src=" not in source  # self-contained: plotly.js inlined
    dom, console = open_in_chromium(page, tmp_path / "profile")
    assert console == [], console
    blocks = dom.split('<div class="chart">')[1:]
    assert len(blocks) == n_charts
    for i, block in enumerate(blocks, start=1):
        assert 'class="main-svg"' in block.split('<div class="chart">')[0], f"chart {i} not drawn"
        assert "plot-container" in block
