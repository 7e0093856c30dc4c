"""The operator's command line, run in process; one smoke test starts the installed script."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from indexer import artifact
from kb_service.cli import app, main

KB = str(Path(sys.executable).parent / "kb")

Kb = Callable[..., Result]


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def kb(data: Path) -> Kb:
    """``kb(*args, KB_NAME=value)`` runs one command in this process (env restored after)."""

    def run(*args: str, **env: str) -> Result:
        return CliRunner().invoke(app, list(args), env=env, prog_name="kb")

    return run


def _one_error_line(result: Result) -> str:
    """The whole of stderr: one ``error: title: detail`` line, no traceback, exit status 1."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_the_installed_script_starts_and_prints_help(tmp_path: Path) -> None:
    result = subprocess.run(
        [KB, "--help"], capture_output=True, text=True, check=False, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "import", "export", "keys", "index", "bench"):
        assert command in result.stdout


def test_keys_create_prints_the_key_last_and_stores_only_its_hash(kb: Kb, data: Path) -> None:
    result = kb("keys", "create", "--role", "agent", "--name", "chat-team")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("kb_") and len(key) > 30
    database = (data / "kb.sqlite3").read_bytes()
    assert key.encode() not in database
    listing = kb("keys", "list")
    assert "chat-team" in listing.stdout and key not in listing.stdout


def test_unknown_role_is_refused(kb: Kb) -> None:
    result = kb("keys", "create", "--role", "wizard", "--name", "x")
    assert result.exit_code == 2 and "wizard" in result.stderr


def test_revoke_revokes_a_key(kb: Kb) -> None:
    assert kb("keys", "create", "--role", "agent", "--name", "bot").exit_code == 0
    result = kb("keys", "revoke", "1")
    assert result.exit_code == 0 and "revoked key #1" in result.stdout
    assert "\trevoked\t" in kb("keys", "list").stdout


def test_revoking_an_unknown_key_is_one_line_not_a_traceback(kb: Kb) -> None:
    line = _one_error_line(kb("keys", "revoke", "999"))
    assert line == "error: Not found: No API key with id 999."


def test_a_setting_that_does_not_validate_is_one_line_naming_the_variable(kb: Kb) -> None:
    line = _one_error_line(kb("keys", "list", KB_MODEL_PRECISION="fp8", KB_GC_FREEZE="maybe"))
    assert line.startswith("error: Invalid setting: ")
    assert "KB_MODEL_PRECISION: Input should be 'float32', 'bfloat16', 'auto' or 'int8'" in line
    assert "KB_GC_FREEZE: " in line


def test_settings_that_do_not_fit_together_are_one_line_in_the_rules_own_words(kb: Kb) -> None:
    line = _one_error_line(
        kb("keys", "list", KB_MODEL_RUNTIME="onnx", KB_MODEL_PRECISION="bfloat16")
    )
    assert line == (
        "error: Invalid setting: KB_MODEL_RUNTIME=onnx runs the model in float32: "
        "set KB_MODEL_PRECISION to float32, auto or int8."
    )
    line = _one_error_line(kb("keys", "list", KB_MODEL_PRECISION="int8"))
    assert line == (
        "error: Invalid setting: KB_MODEL_PRECISION=int8 runs on ONNX Runtime: "
        "set KB_MODEL_RUNTIME=onnx."
    )


def test_the_kb_script_entry_point_prints_the_same_line(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["kb", "keys", "revoke", "999"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.err == "error: Not found: No API key with id 999.\n"
    assert captured.out == ""


def test_serve_refuses_an_index_built_with_another_model(
    kb: Kb, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_serve(*args: object, **kwargs: object) -> None:
        raise AssertionError("kb serve started on a mismatched index")

    monkeypatch.setattr("uvicorn.run", must_not_serve)
    built = kb("index", "rebuild", KB_EMBEDDING_MODEL="hashing")
    assert built.exit_code == 0, built.output
    line = _one_error_line(kb("serve", "--port", "8765", KB_EMBEDDING_MODEL="default"))
    assert line.startswith("error: Index does not match the settings: ")
    assert "hashing-64" in line and "kb index rebuild" in line


def test_index_status_shows_the_manifest(kb: Kb) -> None:
    line = _one_error_line(kb("index", "status"))
    assert line.startswith("error: Not found: No index yet in ")
    assert kb("index", "rebuild", KB_EMBEDDING_MODEL="hashing").exit_code == 0
    result = kb("index", "status")
    assert result.exit_code == 0 and '"model": "hashing-64"' in result.stdout


def test_an_indexer_error_is_one_line_too(kb: Kb, data: Path) -> None:
    index = data / "index"
    (index / "generations" / "g1").mkdir(parents=True)  # named by CURRENT, but no manifest
    (index / artifact.CURRENT).write_text("g1")
    line = _one_error_line(kb("index", "status"))
    assert line.startswith("error: Corrupt index: ") and "no readable manifest" in line


def test_a_folder_that_is_no_dataset_is_one_line(kb: Kb, tmp_path: Path) -> None:
    folder = tmp_path / "not-a-dataset"
    folder.mkdir()
    (folder / "a.md").write_text("---\nid: a\ntitle: A\nlocale: en-GB\n---\nText.\n")
    for command in ("answers", "retrieval"):
        line = _one_error_line(kb("bench", command, "--dataset", str(folder)))
        assert line == f"error: Invalid input: {folder} has no queries.jsonl; " + (
            "see `kb bench retrieval --help`."
        )


def test_import_then_export_round_trips(kb: Kb, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.md").write_text("---\nid: a\ntitle: A\nlocale: en-GB\n---\nText.\n")
    imported = kb("import", str(folder))
    assert imported.exit_code == 0 and "1 new articles" in imported.stdout
    exported = kb("export", str(tmp_path / "out"))
    assert exported.exit_code == 0 and "wrote 1 files" in exported.stdout
    (written,) = (tmp_path / "out").rglob("*.md")
    assert "Text." in written.read_text(encoding="utf-8")
