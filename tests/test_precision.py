"""The model's number format (``KB_MODEL_PRECISION``): bfloat16 where the CPU computes it
natively, float32 elsewhere, and vectors that agree between the two."""

from __future__ import annotations

import json

import numpy as np
import pytest

from indexer import embed
from indexer.embed import Embedder, SentenceTransformerEmbedder, load_embedder, resolve_precision
from kb_service.config import Settings
from tests.conftest import CONTENT


def test_auto_takes_bfloat16_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("bfloat16") == "bfloat16"
    monkeypatch.setattr(embed, "_native_bfloat16", lambda: True)
    assert resolve_precision("auto") == "bfloat16"
    monkeypatch.setattr(embed, "_native_bfloat16", lambda: False)
    assert resolve_precision("auto") == "float32"  # emulated bfloat16 is slower than float32


@pytest.mark.model
def test_the_served_model_runs_in_the_precision_the_settings_resolve_to(
    real_embedder: Embedder,
) -> None:
    import torch

    assert isinstance(real_embedder, SentenceTransformerEmbedder)
    wanted = resolve_precision(Settings().model_precision)
    dtype = real_embedder._views._transformer.dtype
    assert dtype == (torch.bfloat16 if wanted == "bfloat16" else torch.float32)


@pytest.mark.model
@pytest.mark.slow
def test_bfloat16_vectors_agree_with_float32_ones(real_embedder: Embedder) -> None:
    """The same questions in both formats: each vector (and view) within a cosine of 0.99."""
    settings = Settings()
    other = "float32" if resolve_precision(settings.model_precision) == "bfloat16" else "bfloat16"
    second = load_embedder("default", model_cache=settings.model_cache, precision=other)
    lines = (CONTENT / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["text"] for line in lines[:24]]
    ours, theirs = real_embedder.embed(questions, "query"), second.embed(questions, "query")
    cosines = np.sum(ours.vectors * theirs.vectors, axis=1)
    assert cosines.min() > 0.99, cosines.min()
    assert ours.views is not None and theirs.views is not None
    assert np.sum(ours.views * theirs.views, axis=1).min() > 0.99
    assert not np.array_equal(ours.vectors, theirs.vectors)  # two formats really ran
