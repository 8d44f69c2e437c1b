"""Atomic file writes: write to a temporary file in the same folder, then rename.

A run killed mid-write leaves the previous file intact and no half-written one; the
hidden temporary it leaves (``.<name>.<random><suffix>``) is removed by the next
successful write of the same file once it is an hour old (a younger one may belong to
a run still writing).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: Age (seconds) after which a hidden temporary of a killed run is removed.
STALE_TEMP_AGE_S = 3600.0


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary name keeps ``path``'s suffix (GDAL drivers pick the format from
    it). On any exception the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tail = suffix if suffix is not None else target.suffix
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=tail, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers (GDAL) want to create the file themselves
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"writer produced no file for {target}")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _remove_stale_temps(target, tail)


def _remove_stale_temps(target: Path, suffix: str) -> None:
    """Remove temporaries of ``target`` that a killed run left, once older than
    :data:`STALE_TEMP_AGE_S`: only names :func:`tempfile.mkstemp` makes for it
    (``.<name>.<8 random characters><suffix>``) and SQLite's side files of them, never
    another hidden file (``.<name>.old``) a user keeps."""
    cutoff = time.time() - STALE_TEMP_AGE_S
    ours = re.compile(
        rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}{re.escape(suffix)}(-journal|-wal|-shm)?"
    )
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*"):
        if not ours.fullmatch(leftover.name):
            continue
        with contextlib.suppress(OSError):
            if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (``\\n`` line endings). Returns ``path``."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding, newline="\n") as fh:
        fh.write(text)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically. Returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
