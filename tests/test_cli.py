"""The operator's command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KB = str(Path(sys.executable).parent / "kb")


def _kb(*args: str, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KB, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KB_DATA_DIR": str(data), **env},
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = _kb("--help", data=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "import", "export", "keys", "index", "bench"):
        assert command in result.stdout


def test_keys_create_prints_the_key_last_and_stores_only_its_hash(tmp_path: Path) -> None:
    result = _kb("keys", "create", "--role", "agent", "--name", "chat-team", data=tmp_path)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("kb_") and len(key) > 30
    database = (tmp_path / "kb.sqlite3").read_bytes()
    assert key.encode() not in database
    listing = _kb("keys", "list", data=tmp_path)
    assert "chat-team" in listing.stdout and key not in listing.stdout


def test_unknown_role_is_refused(tmp_path: Path) -> None:
    result = _kb("keys", "create", "--role", "wizard", "--name", "x", data=tmp_path)
    assert result.returncode != 0 and "wizard" in result.stderr


def test_serve_refuses_an_index_built_with_another_model(tmp_path: Path) -> None:
    built = _kb("index", "rebuild", data=tmp_path, KB_EMBEDDING_MODEL="hashing")
    assert built.returncode == 0, built.stderr
    result = _kb("serve", "--port", "8765", data=tmp_path, KB_EMBEDDING_MODEL="default")
    assert result.returncode == 1
    assert "hashing-64" in result.stderr and "kb index rebuild" in result.stderr


def test_index_status_shows_the_manifest(tmp_path: Path) -> None:
    assert _kb("index", "status", data=tmp_path).returncode == 1
    assert _kb("index", "rebuild", data=tmp_path, KB_EMBEDDING_MODEL="hashing").returncode == 0
    result = _kb("index", "status", data=tmp_path)
    assert result.returncode == 0 and '"model": "hashing-64"' in result.stdout
