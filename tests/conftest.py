"""Shared fixtures: small hand-built markets and temporary files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from counterweight.market import Market


@pytest.fixture
def tiny_market() -> Market:
    """4 tickers (two share classes of one issuer), 6 business days, hand-checkable numbers."""
    dates = pd.bdate_range("2024-01-01", periods=6)
    prices = pd.DataFrame(
        {
            "AAA": [10.0, 11.0, 12.1, 12.1, 13.31, 13.31],
            "BBB": [20.0, 20.0, 18.0, 18.0, 19.8, 19.8],
            "CC-A": [5.0, 5.5, 5.5, 6.05, 6.05, 6.05],
            "CC-B": [5.0, 5.5, 5.5, 6.05, 6.05, 6.05],
        },
        index=dates,
    )
    caps = prices * pd.Series({"AAA": 100.0, "BBB": 50.0, "CC-A": 40.0, "CC-B": 40.0})
    sec = pd.DataFrame(
        {
            "name": ["A Co", "B Co", "C Co (Class A)", "C Co (Class B)"],
            "issuer": ["A Co", "B Co", "C Co", "C Co"],
            "sector": ["Information Technology", "Financials", "Energy", "Energy"],
            "industry": ["x", "y", "z", "z"],
        },
        index=["AAA", "BBB", "CC-A", "CC-B"],
    )
    return Market.from_frames(prices, caps=caps, securities=sec)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def write_file(tmp_path: Path):
    def _w(name: str, text: str) -> Path:
        return write(tmp_path / name, text)

    return _w


def assert_close(a: np.ndarray, b: np.ndarray, tol: float = 1e-12) -> None:
    np.testing.assert_allclose(a, b, rtol=0, atol=tol)


def safe_char_device(folder: Path) -> str:
    """A character device to refuse writing to, which a regression cannot damage: as root a
    private null device node in ``folder`` (root could replace /dev/null), else /dev/null
    (whose folder an ordinary user cannot write)."""
    import os
    import stat

    if os.geteuid() != 0:
        return os.devnull
    node = folder / "null-device"
    if not node.exists():
        try:
            os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except OSError:
            pytest.skip("cannot make a device node to test against")
    return str(node)
