"""``KB_MODEL_RUNTIME=onnx``: the transformer pass exported at load and run by ONNX Runtime, with
the same vectors as the TorchScript pass and one copy of the weights in the process."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx
import pytest
from pydantic import ValidationError

from indexer import views
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


class _Tiny:
    """A transformer-shaped module small enough to export in a moment (``_exported``)."""

    @staticmethod
    def make() -> Any:
        import torch

        class Tiny(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = torch.nn.Embedding(50, 8)
                self.attention = torch.nn.Linear(8, 8)  # stays float32 in int8 (INT8_KEEPS_FLOAT)
                self.second = torch.nn.Linear(8, 8)

            def forward(
                self, input_ids: Any, attention_mask: Any, output_hidden_states: bool
            ) -> SimpleNamespace:
                states = [self.embed(input_ids) * attention_mask.unsqueeze(-1)]
                states.append(torch.tanh(self.attention(states[-1])))
                states.append(torch.tanh(self.second(states[-1])))
                return SimpleNamespace(hidden_states=tuple(states))

        return Tiny().eval()

    @staticmethod
    def tokenizer(texts: list[str], return_tensors: str) -> dict[str, Any]:
        import torch

        ids = torch.tensor([[1 + len(word) % 40 for word in text.split()] for text in texts])
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def test_the_export_is_written_once_beside_the_weights_and_redone_when_they_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"first weights")
    tiny = _Tiny.make()
    with views._exported(tiny, _Tiny.tokenizer, tmp_path) as first:
        assert first.parent == tmp_path and first.is_file()
    # the weights in a file of their own, each on a page; no temporary file left
    weights_file = first.with_suffix(views.WEIGHTS_SUFFIX)
    assert sorted(p.name for p in tmp_path.glob("*") if p.suffix != ".lock") == sorted(
        [first.name, weights_file.name, weights.name]
    )
    graph = onnx.load(str(first), load_external_data=False)
    apart = [t for t in graph.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert apart, "the embedding table at least is kept apart"
    for tensor in apart:
        entry = {e.key: e.value for e in tensor.external_data}
        assert entry["location"] == weights_file.name and int(entry["offset"]) % views.PAGE == 0

    def no_export(*_: Any) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(views, "_export", no_export)
    with views._exported(tiny, _Tiny.tokenizer, tmp_path) as again:
        assert again == first
    monkeypatch.undo()

    weights.write_bytes(b"other weights, of another size")
    with views._exported(tiny, _Tiny.tokenizer, tmp_path) as changed:
        assert changed != first and changed.is_file()
    assert not first.exists() and not weights_file.exists(), "the outdated export is removed"

    # a model folder that cannot be written: exported for this process, then removed
    def read_only(*_: Any, **__: Any) -> Any:
        raise PermissionError("read-only")

    monkeypatch.setattr(views.tempfile, "mkstemp", read_only)
    weights.write_bytes(b"third weights, longer than the other two")
    with views._exported(tiny, _Tiny.tokenizer, tmp_path) as scratch:
        assert scratch.parent != tmp_path and scratch.is_file()
    assert not scratch.exists()
    monkeypatch.undo()

    # and the session computes what the module computed, which then lets go of its weights
    module = _Tiny.make()
    batch = _Tiny.tokenizer(["a bb ccc dddd"], return_tensors="pt")
    with torch.inference_mode():
        states = module(batch["input_ids"], batch["attention_mask"], True).hidden_states
    passages, questions = views._onnx_layers(module, _Tiny.tokenizer, tmp_path)
    assert questions is passages
    last, lower = passages(batch["input_ids"], batch["attention_mask"])
    np.testing.assert_allclose(last.numpy(), states[-1].numpy(), atol=1e-6)
    np.testing.assert_allclose(lower.numpy(), states[-2].numpy(), atol=1e-6)
    assert all(p.device == torch.device("meta") for p in module.parameters())


def test_int8_questions_run_a_quantised_copy_kept_beside_the_export(tmp_path: Path) -> None:
    """Passages through the float32 export, questions through its int8 copy: made once, kept
    in the model's folder with its weights apart, and close to the float32 pass."""
    import torch

    (tmp_path / "model.safetensors").write_bytes(b"weights")
    outdated = tmp_path / "kb-layers-int8-0123456789abcdef.onnx"  # made for other weights
    outdated.write_bytes(b"old")
    module = _Tiny.make()
    batch = _Tiny.tokenizer(["a bb ccc dddd eeeee", "ffffff g hh i jjj"], return_tensors="pt")
    with torch.inference_mode():
        states = module(batch["input_ids"], batch["attention_mask"], True).hidden_states
    passages, questions = views._onnx_layers(module, _Tiny.tokenizer, tmp_path, int8_questions=True)
    assert questions is not passages
    exact, _ = passages(batch["input_ids"], batch["attention_mask"])
    np.testing.assert_allclose(exact.numpy(), states[-1].numpy(), atol=1e-6)
    last, lower = questions(batch["input_ids"], batch["attention_mask"])
    assert not np.array_equal(last.numpy(), states[-1].numpy()), "int8, not the float32 pass"
    np.testing.assert_allclose(last.numpy(), states[-1].numpy(), atol=0.05)
    np.testing.assert_allclose(lower.numpy(), states[-2].numpy(), atol=0.05)

    (quantised,) = tmp_path.glob("kb-layers-int8-*.onnx")
    graph = onnx.load(str(quantised), load_external_data=False)
    products = {n.name: n.op_type for n in graph.graph.node if "MatMul" in n.op_type}
    assert products == {
        "/transformer/attention/MatMul": "MatMul",
        "/transformer/second/MatMul_quant": "MatMulInteger",
    }
    apart = [t for t in graph.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    # the embedding table, unchanged, is read from the export's weights, not copied
    (exported,) = set(tmp_path.glob("kb-layers-*.onnx")) - {quantised}
    assert {t.name for t in apart} == {"transformer.embed.weight"}
    assert {e.key: e.value for e in apart[0].external_data}["location"] == exported.with_suffix(
        views.WEIGHTS_SUFFIX
    ).name
    assert quantised.with_suffix(views.WEIGHTS_SUFFIX).stat().st_size == 0
    assert not outdated.exists()
    assert len(list(tmp_path.glob("kb-layers-*.onnx"))) == 2, "the float32 export stays"
    made = quantised.stat().st_mtime_ns
    views._onnx_layers(_Tiny.make(), _Tiny.tokenizer, tmp_path, int8_questions=True)
    assert quantised.stat().st_mtime_ns == made, "kept, not quantised again"


def test_int8_runs_on_onnx_runtime_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_MODEL_PRECISION", "int8")
    with pytest.raises(ValidationError, match="KB_MODEL_PRECISION=int8 runs on ONNX Runtime"):
        Settings()
    monkeypatch.setenv("KB_MODEL_RUNTIME", "onnx")
    assert Settings().model_precision == "int8"


@pytest.mark.model
@pytest.mark.slow
def test_int8_questions_stay_close_and_passages_stay_float32(real_embedder: Embedder) -> None:
    """With KB_MODEL_PRECISION=int8 the stored index is the float32 one (passages equal the
    float32 pass's) and every demo question's vector points where the float32 one does; each
    demo question still finds its own article first (``tests/test_retrieval.py`` checks the
    float32 default the same way; allegro test-B, README: 0.7422 against 0.7413)."""
    onnx_float = load_embedder("default", model_cache=Settings().model_cache, runtime="onnx")
    int8 = load_embedder(
        "default", model_cache=Settings().model_cache, runtime="onnx", precision="int8"
    )
    lines = (CONTENT / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["text"] for line in lines]
    passages = questions[:8]
    ours, theirs = onnx_float.embed(passages, "passage"), int8.embed(passages, "passage")
    np.testing.assert_allclose(theirs.vectors, ours.vectors, atol=1e-6)
    ours, theirs = onnx_float.embed(questions, "query"), int8.embed(questions, "query")
    assert ours.views is not None and theirs.views is not None
    cosines = (ours.vectors * theirs.vectors).sum(axis=1)
    view_cosines = (ours.views * theirs.views).sum(axis=1)
    assert cosines.min() > 0.98 and view_cosines.min() > 0.97, (cosines, view_cosines)
    assert cosines.max() < 1 - 1e-4, "the questions ran in int8"


def test_int8_weights_take_7_bits_on_a_cpu_without_8_bit_dot_products(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without VNNI, ONNX Runtime's int8 products saturate (``views.INT8_EXACT_CPU_FLAGS``):
    there the weights are quantised to 7 bits, which keeps the layer within rounding of its
    float32 self, and the copy is named apart from a full one (a model folder can move)."""
    import onnx
    import torch
    from onnx import numpy_helper

    from indexer import cpu

    exact_here = cpu.has_any(*views.INT8_EXACT_CPU_FLAGS)
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    batch = _Tiny.tokenizer(["a bb ccc dddd eeeee", "ffffff g hh i jjj"], return_tensors="pt")
    names = {}
    for vnni in (True, False):
        flags = frozenset({"avx2", "avx512_vnni"} if vnni else {"avx2"})
        monkeypatch.setattr(cpu, "_flags", lambda flags=flags: flags)
        torch.manual_seed(15)  # the same weights both times: the float32 export is kept
        module = _Tiny.make()
        with torch.inference_mode():
            states = module(batch["input_ids"], batch["attention_mask"], True).hidden_states
        _, questions = views._onnx_layers(module, _Tiny.tokenizer, tmp_path, int8_questions=True)
        (quantised,) = tmp_path.glob("kb-layers-int8-*.onnx")
        names[vnni] = quantised.name
        weights = [
            numpy_helper.to_array(t)
            for t in onnx.load(str(quantised)).graph.initializer
            if t.name.endswith("_quantized")
        ]
        assert weights and all(w.dtype == np.int8 for w in weights)
        widest = max(int(np.abs(w.astype(np.int32)).max()) for w in weights)
        assert widest > 64 if vnni else widest <= 64
        if exact_here or not vnni:  # a full int8 copy saturates where the CPU lacks VNNI
            last, _ = questions(batch["input_ids"], batch["attention_mask"])
            np.testing.assert_allclose(last.numpy(), states[-1].numpy(), atol=0.02)
    assert names[True] != names[False]
