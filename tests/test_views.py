"""The second dense view: one forward pass, the model's own vectors unchanged."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from indexer.embed import Embedder, SentenceTransformerEmbedder
from indexer.fusion import fuse
from tests.conftest import rounding_of

pytestmark = pytest.mark.model

TEXTS = ["Jak zmienić hasło do Wi-Fi?", "Роумінг у ЄС безкоштовний.", "Kje je moj paket?"]


def test_vectors_equal_sentence_transformers_output(real_embedder: Embedder) -> None:
    encoded = real_embedder.embed(TEXTS, "passage")
    assert isinstance(real_embedder, SentenceTransformerEmbedder)
    model = real_embedder._model
    reference = model.encode(["passage: " + t for t in TEXTS], normalize_embeddings=True)
    assert np.allclose(encoded.vectors, reference, atol=rounding_of(real_embedder))
    assert encoded.views is not None
    assert np.allclose(np.linalg.norm(encoded.views, axis=1), 1.0, atol=1e-5)
    assert real_embedder.view_name


def test_view_ignores_the_prompt_prefix(real_embedder: Embedder) -> None:
    same = real_embedder.embed(["roaming"], "query").views
    other = real_embedder.embed(["roaming"], "passage").views
    assert same is not None and other is not None
    # The prefixes differ ("query: " vs "passage: ") but the pooled tokens are the same word;
    # the sentence vectors, which include the prefix, differ much more.
    vectors = [real_embedder.embed(["roaming"], k).vectors[0] for k in ("query", "passage")]
    assert float(same[0] @ other[0]) > float(vectors[0] @ vectors[1])
    assert float(same[0] @ other[0]) > 0.9


def test_view_changes_the_fused_order_only_through_its_weight() -> None:
    dense = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    keyword = np.zeros(3, dtype=np.float32)
    view = np.array([0.1, 0.9, 0.2], dtype=np.float32)
    assert np.argmax(fuse(dense, keyword, view=view, view_weight=0.0)) == 0
    assert np.argmax(fuse(dense, keyword, view=view, view_weight=3.0)) == 1


def test_the_traced_pass_follows_any_batch_and_length(real_embedder: Embedder) -> None:
    """The transformer is traced once, on a short example (``indexer.views._traced``); it must
    give the eager pass's states for other batch sizes, padding and the longest input."""
    import torch

    assert isinstance(real_embedder, SentenceTransformerEmbedder)
    encoder = real_embedder._views
    assert isinstance(encoder._layers, torch.jit.ScriptModule), "the pass runs eagerly"
    tokenizer, transformer = encoder._tokenizer, encoder._transformer
    long_text = " ".join(["Roaming w UE jest bezpłatny, ale limit danych zależy od taryfy."] * 80)
    for batch in (TEXTS[:1], TEXTS, [long_text, TEXTS[2]]):
        tokens = tokenizer(
            batch, padding=True, truncation=True, max_length=512, return_tensors="pt"
        )
        with torch.inference_mode():
            traced = encoder._layers(tokens["input_ids"], tokens["attention_mask"])
            eager = transformer(**tokens, output_hidden_states=True).hidden_states
        assert torch.allclose(traced[0], eager[-1], atol=1e-5)
        assert torch.allclose(traced[1], eager[-2], atol=1e-5)
    assert tokens["input_ids"].shape[1] == 512


def test_float32_linear_layers_run_on_onednn_with_the_plain_layers_results(
    real_embedder: Embedder,
) -> None:
    """``indexer.packed``: no plain ``Linear`` is left in the served float32 pass, and its
    states are a freshly loaded (unpacked) model's to float32 rounding."""
    import torch
    from sentence_transformers import SentenceTransformer

    from indexer import packed

    assert isinstance(real_embedder, SentenceTransformerEmbedder)
    if rounding_of(real_embedder) != 1e-5 or not packed.available():
        pytest.skip("float32 on a torch with oneDNN only")
    encoder = real_embedder._views
    layers = list(encoder._transformer.modules())
    assert not any(type(m) is torch.nn.Linear for m in layers)
    packed_layers = [m for m in layers if getattr(m, "original_name", "") == "PackedLinear"]
    # every feed-forward block's GELU runs inside its first layer's call
    assert (
        sum(m.activation == "gelu" for m in packed_layers)
        == encoder._transformer.config.num_hidden_layers
    )
    assert not any(type(m).__name__ == "GELUActivation" for m in layers)
    plain = SentenceTransformer(str(real_embedder.folder), device="cpu", local_files_only=True)
    long_text = " ".join(["Roaming w UE jest bezpłatny, ale limit danych zależy od taryfy."] * 30)
    tokens = encoder._tokenizer(
        [*TEXTS, long_text], padding=True, truncation=True, max_length=512, return_tensors="pt"
    )
    with torch.inference_mode():
        ours = encoder._layers(tokens["input_ids"], tokens["attention_mask"])
        theirs = plain[0].auto_model(**tokens, output_hidden_states=True).hidden_states
    assert torch.allclose(ours[0], theirs[-1], atol=1e-4)
    assert torch.allclose(ours[1], theirs[-2], atol=1e-4)


def test_a_model_the_tracer_cannot_follow_runs_eagerly() -> None:
    """Tracing is an optimisation: a transformer it fails on still encodes, eagerly."""
    import torch
    from torch.jit._trace import is_tracing

    from indexer.views import _traced

    class Untraceable(torch.nn.Module):
        def forward(self, **inputs: Any) -> Any:
            if is_tracing():  # type: ignore[no-untyped-call]
                raise RuntimeError("data-dependent control flow")
            ids = inputs["input_ids"].float()[..., None]
            return SimpleNamespace(hidden_states=(ids, ids + 1, ids + 2))

    def tokenizer(texts: list[str], return_tensors: str) -> dict[str, torch.Tensor]:
        return {"input_ids": torch.ones(1, 3, dtype=torch.long), "attention_mask": torch.ones(1, 3)}

    layers = _traced(Untraceable(), tokenizer)
    assert not isinstance(layers, torch.jit.ScriptModule)
    last, lower = layers(torch.ones(1, 3, dtype=torch.long), torch.ones(1, 3))
    assert float(last[0, 0, 0]) == 3.0 and float(lower[0, 0, 0]) == 2.0


def test_a_pass_runs_on_the_asking_thread_unless_torch_runs_several(
    real_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One torch thread (a `kb serve` worker's default) or ONNX Runtime: the pass runs where it
    is asked, with no hand-over to the model thread; several torch threads: on the one model
    thread (OpenMP teams are per thread). Either way one pass at a time."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import torch

    assert isinstance(real_embedder, SentenceTransformerEmbedder)
    real_embedder.warm_up()
    ran_on: list[str] = []
    running, overlapped = [0], [False]
    encode = real_embedder._embed_here

    def watched(texts: Any, kind: Any) -> Any:
        running[0] += 1
        overlapped[0] |= running[0] > 1
        ran_on.append(threading.current_thread().name)
        try:
            return encode(texts, kind)
        finally:
            running[0] -= 1

    monkeypatch.setattr(real_embedder, "_embed_here", watched)
    threads = torch.get_num_threads()
    try:
        for count, expected in ((1, "asker"), (2, "kb-model")):
            torch.set_num_threads(count)
            ran_on.clear()
            with ThreadPoolExecutor(4, thread_name_prefix="asker") as pool:
                list(pool.map(lambda t: real_embedder.embed([t], "query"), TEXTS * 3))
            if real_embedder.runtime == "onnx":
                expected = "asker"
            assert len(ran_on) == 9 and all(n.startswith(expected) for n in ran_on), ran_on
    finally:
        torch.set_num_threads(threads)
    assert not overlapped[0]
