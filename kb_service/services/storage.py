"""Can the service write? The cheap probes behind ``GET /readyz``.

A read-only or full disk lets every read (and ``/healthz``) succeed while every answer fails,
because each answer is recorded in the ledger; these probes write for real, a little.
"""

from __future__ import annotations

import errno
import os
import threading
from contextlib import suppress
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col

from kb_service.db import begin_write
from kb_service.errors import StorageUnavailable
from kb_service.models import KbState

PROBE_BYTES = 4096  # one block: a full disk refuses it


def check_writable(session: Session, data_dir: Path) -> None:
    """Raise ``StorageUnavailable`` unless both the database and the data folder take a write."""
    probe_database(session)
    probe_folder(data_dir)


def probe_database(session: Session) -> None:
    """Commit a write that changes nothing (the KB revision set to itself); a read-only or full
    database raises ``StorageUnavailable`` (``kb_service.db`` maps the driver's error)."""
    begin_write(session)
    session.exec(update(KbState).where(col(KbState.id) == 1).values(revision=col(KbState.revision)))
    session.commit()


def probe_folder(folder: Path) -> None:
    """Create, fill, sync and delete a small file in ``folder`` (where the index is written)."""
    probe = folder / f".write-probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if os.write(fd, b"\0" * PROBE_BYTES) < PROBE_BYTES:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StorageUnavailable(
            f"The data folder {folder} cannot be written ({exc.strerror or exc}): new index "
            "generations cannot be saved. Make it writable (or free space) and retry."
        ) from exc
    finally:
        with suppress(OSError):
            probe.unlink()
