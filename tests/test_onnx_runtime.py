"""``KB_MODEL_RUNTIME=onnx``: the transformer pass exported at load and run by ONNX Runtime, with
the same vectors as the TorchScript pass and one copy of the weights in the process."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from indexer.embed import Embedder, SentenceTransformerEmbedder, load_embedder, resolve_precision
from kb_service.config import Settings
from tests.conftest import CONTENT


def test_onnx_runs_float32_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_MODEL_RUNTIME", "onnx")
    monkeypatch.setenv("KB_MODEL_PRECISION", "bfloat16")
    with pytest.raises(ValidationError, match="KB_MODEL_RUNTIME=onnx runs the model in float32"):
        Settings()
    assert resolve_precision("auto", "onnx") == "float32"


@pytest.mark.model
@pytest.mark.slow
def test_onnx_vectors_equal_the_torch_ones_and_torch_lets_go_of_its_weights(
    real_embedder: Embedder,
) -> None:
    """Questions in every demo language, one at a time and in one padded batch, as questions
    and as passages: vectors and views within 1e-5 of the TorchScript pass's."""
    import torch

    assert isinstance(real_embedder, SentenceTransformerEmbedder)
    if real_embedder.runtime != "torch" or resolve_precision(real_embedder.precision) != "float32":
        pytest.skip("compares with the float32 TorchScript pass")
    onnx = load_embedder("default", model_cache=Settings().model_cache, runtime="onnx")
    assert isinstance(onnx, SentenceTransformerEmbedder)
    lines = (CONTENT / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["text"] for line in lines[:16]]
    for kind in ("query", "passage"):
        ours, theirs = real_embedder.embed(questions, kind), onnx.embed(questions, kind)
        assert ours.views is not None and theirs.views is not None
        np.testing.assert_allclose(theirs.vectors, ours.vectors, atol=1e-5)
        np.testing.assert_allclose(theirs.views, ours.views, atol=1e-5)
    alone = onnx.embed(questions[:1], "query").vectors[0]
    np.testing.assert_allclose(
        alone, real_embedder.embed(questions[:1], "query").vectors[0], atol=1e-5
    )
    # ONNX Runtime holds the weights; torch's copy is gone (no second 470 MB in the process)
    transformer = onnx._views._transformer
    assert all(p.device == torch.device("meta") for p in transformer.parameters())
