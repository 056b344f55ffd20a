"""Output folders written atomically: a staging folder beside the target, renamed into place.

Runs, comparisons, sweeps and batches all follow one rule: nothing half-written is ever left
behind, and an existing folder is replaced only if it is empty or an earlier output of the same
kind (it holds the kind's marker file: ``summary.json``, ``comparison.json``, ``sweep.json``,
``batch.json``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from siting._errors import OutputError


def check_folder(
    out: Path, marker: str, *, kind: str = "an earlier output of this command"
) -> None:
    """Raise :class:`OutputError` unless ``out`` is absent, empty or holds ``marker``.

    ``kind`` names what the folder should be, for the message.
    """
    if not out.exists():
        return
    if not out.is_dir():
        msg = f"--out {out} is a file; give a folder path"
        raise OutputError(msg)
    if any(out.iterdir()) and not (out / marker).is_file():
        msg = (
            f"--out {out} exists and is not {kind} (no {marker}); "
            "choose another folder or empty this one"
        )
        raise OutputError(msg)


@contextmanager
def atomic_folder(
    out: str | Path, marker: str, *, kind: str = "an earlier output of this command"
) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``out``, on any error it is removed."""
    out = Path(out)
    check_folder(out, marker, kind=kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield staging
        staging.chmod(0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.{os.getpid()}.old")
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def safe_name(label: str) -> str:
    """A folder name for a label: letters, digits, CJK, ``-``, ``_`` and ``.`` kept."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in label).strip("._")
    return name or "result"
