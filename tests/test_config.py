"""Settings: where the default model folder goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_service.config import Settings

MODEL = Path("kb-service") / "models" / "multilingual-e5-small"


def test_model_cache_follows_xdg_cache_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KB_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().model_cache == tmp_path / MODEL


def test_model_cache_defaults_to_the_home_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert Settings().model_cache == Path.home() / ".cache" / MODEL


def test_kb_model_cache_names_the_folder_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KB_MODEL_CACHE", str(tmp_path / "model"))
    monkeypatch.setenv("XDG_CACHE_HOME", "/elsewhere")
    assert Settings().model_cache == tmp_path / "model"
