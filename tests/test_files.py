"""Atomic writes: complete file or none, usual permissions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from counterweight.data.files import atomic_write_json, atomic_write_text


def test_atomic_write_replaces_and_uses_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out" / "r.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in target.parent.iterdir()] == ["r.txt"]


def test_failed_write_leaves_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_json_nan_becomes_null(tmp_path: Path) -> None:
    target = tmp_path / "n.json"
    atomic_write_json(target, {"x": float("nan"), "y": np.float64(np.nan), "z": [np.int64(3)]})
    assert json.loads(target.read_text()) == {"x": None, "y": None, "z": [3]}
