"""A database server that cannot be reached is a 503 with Retry-After, on any test engine.

No server needed: nothing listens on a fresh free port. (The outage under traffic, with a real
server stopped and started again, is in ``tests/test_faults.py``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.errors import StorageUnavailable
from tests.pgserver import free_port


def test_an_unreachable_postgresql_is_storage_unavailable_with_retry_after(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/kb"
    settings = Settings(data_dir=tmp_path, database_url=url, db_retry_after_seconds=7)
    with pytest.raises(StorageUnavailable) as caught:
        make_engine(settings)
    assert caught.value.status == 503
    assert caught.value.headers() == {"Retry-After": "7"}
    assert "cannot be reached" in caught.value.detail
