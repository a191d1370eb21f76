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


# ----------------------------------------------------------------- output paths and errors
def test_refused_targets_name_the_reason(tmp_path: Path) -> None:
    import errno as _errno  # noqa: F401

    from conftest import safe_char_device
    from counterweight.data.files import check_output_path
    from counterweight.errors import OutputError

    afile = tmp_path / "a.txt"
    afile.write_text("x")
    os.mkfifo(tmp_path / "fifo")
    device = safe_char_device(tmp_path)
    cases = {
        "": "expected a file path",
        str(tmp_path): "is a folder",
        str(afile / "x.json"): "is a file, not a folder",
        device: "character device",
        str(tmp_path / "fifo"): "named pipe",
        str(tmp_path / ("n" * 300)): "name too long",
    }
    for path, reason in cases.items():
        with pytest.raises(OutputError) as info:
            atomic_write_text(path, "payload")
        assert reason in str(info.value), (path, str(info.value))
        with pytest.raises(OutputError):
            check_output_path(path)
    assert not Path(device).is_file() and afile.read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.txt", "fifo", *(["null-device"] if device != os.devnull else [])]
    )


def test_full_disk_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import counterweight.data.files as files
    from counterweight.errors import OutputError

    target = tmp_path / "r.json"
    target.write_text("old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OutputError, match="no space left on the device"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_file_size_limit_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """RLIMIT_FSIZE: Python ignores SIGXFSZ, the write fails with EFBIG, the CLI says so."""
    import subprocess
    import sys

    policy = Path(__file__).resolve().parents[1] / "examples" / "policies" / "mag7_max_20.toml"
    out = tmp_path / "w.csv"
    out.write_text("old")
    code = (
        "import resource, sys\n"
        "from counterweight.cli import main\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))\n"
        f"sys.exit(main(['construct', '-p', {str(policy)!r}, '-q', '--out', {str(out)!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ
    )
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode != 0 and len(err) == 1, proc.stderr
    assert err[0].startswith("error: ") and "file too large" in err[0] and str(out) in err[0]
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["w.csv"]


def test_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write_json(link, {"a": 1})
    assert link.is_symlink() and json.loads(real.read_text()) == {"a": 1}
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the target keeps its permissions
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    from counterweight.errors import OutputError

    with pytest.raises(OutputError, match="symbolic links"):
        atomic_write_text(loop, "x")


# ------------------------------------------------------------------- configuration reading
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x1f\x8b\x08\x00rest", "gzip"),
        ("name = 'x'".encode("utf-16"), "UTF-16"),
        ("name = 'x'".encode("utf-16-le"), "NUL byte"),
        ("name = 'x'".encode("utf-32"), "UTF-32"),
        (b"name = 'x'\nother = '\xe9'\n", "not UTF-8 text (byte 0xe9)"),
        (b"PK\x03\x04zip", "zip"),
    ],
)
def test_read_text_file_refuses_binary_and_non_utf8(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    from counterweight.data.files import read_text_file
    from counterweight.errors import InputError

    p = tmp_path / "p.toml"
    p.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_text_file(p)
    assert reason in str(info.value) and str(p) in str(info.value)
    if reason.startswith("not UTF-8"):
        assert info.value.row == 2  # the line of the bad byte


def test_read_text_file_folders_missing_and_bom(tmp_path: Path) -> None:
    from counterweight.data.files import read_text_file
    from counterweight.errors import InputError

    with pytest.raises(InputError, match="is a folder"):
        read_text_file(tmp_path)
    with pytest.raises(InputError, match="file not found"):
        read_text_file(tmp_path / "none.toml")
    with pytest.raises(InputError, match="character device"):
        read_text_file(os.devnull)
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbfname = 'x'\n")
    assert read_text_file(p) == "name = 'x'\n"
