"""Writing output files so that a failure never leaves one half-written; reading small
configuration files so that a folder, a binary or a non-UTF-8 file gives one clear line."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from counterweight.errors import InputError, OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (a file-size limit is set)",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "name too long",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder",
}


def _reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, expected a file path"
    for test, what in (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return f"is {what}, not a regular file"
    return "is not a regular file"


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # pragma: no cover - not POSIX
        return 255


def check_output_path(path: str | Path) -> Path:
    """The file an output to ``path`` replaces, or :class:`OutputError` if it cannot be written.

    Accepted: an existing regular file, or a new name in a folder that exists (or can be
    created) and is writable. A symlink is followed to its final target, which is then
    replaced atomically (the link itself stays). Refused: '', a folder, a device, a pipe, a
    socket, a path through a file, a name longer than the file system allows.
    """
    text = os.fspath(path)
    if text.strip() in ("", "."):
        raise OutputError("expected a file path", path=text)
    if text.endswith(os.sep):
        raise OutputError("is a folder name, expected a file path", path=text)
    target = Path(os.path.realpath(text))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(_reason(exc), path=text) from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(_kind(st.st_mode), path=text)
        folder = target.parent
    else:
        folder = target.parent
        while True:
            try:
                fst = os.stat(folder)
            except FileNotFoundError:
                if folder.parent == folder:  # pragma: no cover - the root always exists
                    break
                folder = folder.parent
                continue
            except OSError as exc:
                raise OutputError(_reason(exc), path=text) from None
            if not stat.S_ISDIR(fst.st_mode):
                raise OutputError(f"'{folder}' is a file, not a folder", path=text)
            break
        limit = _name_max(folder)
        for part in target.relative_to(folder).parts:
            if len(os.fsencode(part)) > limit:
                raise OutputError(f"file name too long (the limit is {limit} bytes)", path=text)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"folder '{folder}' is not writable", path=text)
    return target


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
    """Write ``payload`` to a temporary file beside the target, fsync it, then rename into place.

    The target is checked by :func:`check_output_path` (a symlink is written through to its
    target). Any failure (no space, a file-size limit, a read-only disk) removes the temporary
    file, leaves the previous content untouched and raises :class:`OutputError`.
    """
    target = check_output_path(path)
    tmp: str | None = None
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else 0o666 & ~_umask()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cw-", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; keep the file's or the usual permissions
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise OutputError(f"cannot write: {_reason(exc)}", path=os.fspath(path)) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return target


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


MAX_TEXT_BYTES = 16 * 2**20
"""Largest configuration file read (16 MiB): a policy or a guardrail file is a few kB."""

_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed content"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\xff\xfe\x00\x00", "UTF-32 text"),
    (b"\x00\x00\xfe\xff", "UTF-32 text"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
    (b"PAR1", "a Parquet file"),
)


def read_text_file(path: str | Path) -> str:
    """The UTF-8 text of a small configuration file (TOML, CSV), or :class:`InputError`.

    One place for the checks every reader of user files needs: the path exists and is a
    regular file (not a folder or a device), at most :data:`MAX_TEXT_BYTES`, not compressed or
    binary, and valid UTF-8 (a UTF-8 byte-order mark is dropped). Errors name the file and,
    for a bad byte, its line.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError("file not found", file=p) from None
    except OSError as exc:
        raise InputError(f"cannot read: {_reason(exc)}", file=p) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(_kind(st.st_mode).replace("a file path", "a text file"), file=p)
    if st.st_size > MAX_TEXT_BYTES:
        raise InputError(
            f"{st.st_size:,} bytes, too large for a configuration file "
            f"(at most {MAX_TEXT_BYTES // 2**20} MiB)",
            file=p,
        )
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {_reason(exc)}", file=p) from None
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise InputError(f"{what}, expected UTF-8 text", file=p)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        raise InputError("binary content (a NUL byte), expected UTF-8 text", file=p, row=line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start]
        raise InputError(
            f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8", file=p, row=line
        ) from None


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        f = float(obj)
        return None if f != f else f
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    if isinstance(obj, pd.Series):
        return {str(k): v for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return json.loads(obj.to_json(orient="split", date_format="iso"))
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {str(k): _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    return obj


def to_json_text(payload: Any) -> str:
    """JSON with NaN as null, numpy and pandas values converted, dates in ISO format."""
    return json.dumps(_nan_to_none(payload), default=_json_default, indent=2, allow_nan=False)


def atomic_write_json(path: str | Path, payload: Any) -> Path:
    return atomic_write_text(path, to_json_text(payload))


def atomic_write_csv(path: str | Path, frame: pd.DataFrame, index: bool = True) -> Path:
    return atomic_write_text(path, frame.to_csv(index=index))
