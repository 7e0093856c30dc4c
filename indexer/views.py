"""A second dense view from the same model: token states of a lower layer, pooled with weights.

Why: the sentence vector (mean of the last layer) blurs which words mattered. Re-pooling the
second-to-last layer's content tokens (no prefix, no special tokens), weighted by how rare each
token is, gives a view that ranks differently enough to help in fusion (the gain on
allegro_faq is in the README and CHANGELOG); the weight was fixed on test-A, see
``indexer.fusion.VIEW_WEIGHT``.

Both vectors come from one forward pass, so the view costs no extra model time. The pass runs
as a TorchScript trace of the transformer (``_traced``): the same function, but the whole pass
runs in C++ without Python's global lock. Run eagerly, a pass takes and drops
that lock between hundreds of small operations, and in a server, where the event loop and the
request threads of the same process want the lock too, every hand-over waits: a question's
encoding took twice as long beside a thread busy half the time with Python, and not at all
longer when traced.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer import cpu

Vectors = NDArray[np.float32]
Pass = Callable[[Any, Any], tuple[Any, Any]]  # token ids and mask to the two hidden states
VIEW_LAYER = -2  # hidden_states[-2]: the second-to-last transformer layer
VIEW_NAME = "layer-2-rarity-pooled"
_log = logging.getLogger(__name__)


def token_rarity(folder: Path, vocab_size: int) -> NDArray[np.float32]:
    """Corpus-independent token weights from the SentencePiece unigram log-probabilities.

    A unigram model's score is log p(token) over the tokenizer's training corpus, so -score is
    an IDF-like rarity that does not change when the knowledge base does (no re-weighting of
    stored views after a publish). Tokenizers without scores get uniform weights.
    """
    weights = np.ones(vocab_size, dtype=np.float32)
    path = folder / "tokenizer.json"
    if not path.is_file():
        return weights
    model = json.loads(path.read_text(encoding="utf-8")).get("model", {})
    vocab = model.get("vocab")
    if model.get("type") != "Unigram" or not isinstance(vocab, list):
        return weights
    scores = np.array([float(entry[1]) for entry in vocab[:vocab_size]], dtype=np.float32)
    weights[: len(scores)] = np.maximum(-scores, 0.0)
    return weights


class ViewEncoder:
    """Runs the sentence-transformers model's transformer once and pools two ways."""

    def __init__(
        self,
        st_model: Any,
        folder: Path,
        *,
        bfloat16: bool = False,
        onnx: bool = False,
        int8_questions: bool = False,
    ) -> None:
        if bfloat16 and onnx:
            raise ValueError("the ONNX runtime runs the model in float32 only")
        if int8_questions and not onnx:
            raise ValueError("questions run in int8 on the ONNX runtime only")
        self._tokenizer = st_model.tokenizer
        self._transformer = st_model[0].auto_model
        self._hidden_size = int(self._transformer.config.hidden_size)
        if bfloat16:  # the weights and the pass; the pooling below stays in float32
            import torch

            self._transformer.to(torch.bfloat16)
        self._max_length = int(st_model.max_seq_length or 512)
        self._weights = token_rarity(folder, len(self._tokenizer))
        self._special = set(self._tokenizer.all_special_ids)
        if onnx:
            self._layers, self._question_layers = _onnx_layers(
                self._transformer, self._tokenizer, folder, int8_questions=int8_questions
            )
        else:
            self._layers = self._question_layers = _traced(self._transformer, self._tokenizer)

    def prefix_length(self, prefix: str) -> int:
        """How many tokens the prompt prefix adds (they carry no content)."""
        if not prefix:
            return 0
        plain = self._tokenizer("x", add_special_tokens=False)["input_ids"]
        prefixed = self._tokenizer(prefix + "x", add_special_tokens=False)["input_ids"]
        return max(len(prefixed) - len(plain), 0)

    def encode(
        self, texts: Sequence[str], prefix: str, batch_size: int = 32, *, questions: bool = False
    ) -> tuple[Vectors, Vectors]:
        """The model's own sentence vectors (mean of the last layer) and the views, normalised.
        ``questions``: through the questions' pass (int8 when the encoder was made so)."""
        import torch
        from torch.jit._fuser import optimized_execution

        skip = self.prefix_length(prefix)
        dimension = self._hidden_size
        vectors = np.zeros((len(texts), dimension), dtype=np.float32)
        views = np.zeros((len(texts), dimension), dtype=np.float32)
        layers = self._question_layers if questions else self._layers
        order = np.argsort([len(t) for t in texts], kind="stable")  # less padding per batch
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            batch = self._tokenizer(
                [prefix + texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=self._max_length,
                return_tensors="pt",
            )
            # Plain execution of the trace: the optimising executor would profile the first
            # calls of every new shape (the first question took ~190 ms) for no gain here.
            with torch.inference_mode(), optimized_execution(False):
                last_states, lower_states = layers(batch["input_ids"], batch["attention_mask"])
            last = last_states.float().numpy()
            lower = lower_states.float().numpy()
            ids = batch["input_ids"].numpy()
            mask = batch["attention_mask"].numpy().astype(bool)
            for k, row in enumerate(rows):
                vectors[row] = _normalise(last[k][mask[k]].mean(axis=0))
                views[row] = self._pool_view(lower[k], ids[k], mask[k], skip)
        return vectors, views

    def _pool_view(
        self,
        states: NDArray[np.float32],
        ids: NDArray[np.int64],
        mask: NDArray[np.bool_],
        skip: int,
    ) -> NDArray[np.float32]:
        words = [p for p in np.flatnonzero(mask) if int(ids[p]) not in self._special]
        content = words[skip:]
        if not content:
            return np.zeros(states.shape[1], dtype=np.float32)
        weights = self._weights[ids[content]]
        return _normalise((weights[:, None] * states[content]).sum(axis=0))


def _layers_module(transformer: Any) -> Any:
    """The transformer as a module of token ids and attention mask to its last and
    ``VIEW_LAYER`` hidden states: what both runtimes run (``_traced``, ``_export``)."""
    import torch

    class Layers(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[Any, Any]:
            states = self.transformer(
                input_ids=ids, attention_mask=mask, output_hidden_states=True
            ).hidden_states
            return states[-1], states[VIEW_LAYER]

    return Layers().eval()


@contextmanager
def _quiet_tracing() -> Iterator[None]:
    """Tracing (for TorchScript or ONNX) without its noise, in inference mode. The tracer reads
    every attribute of the model, among them a training-loss property that logs a warning about
    the config's loss type: noise for a model that never trains; and it warns of each Python
    value it fixes in the graph."""
    import torch

    transformers_log = logging.getLogger("transformers.modeling_utils")
    level = transformers_log.level
    transformers_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            yield
    finally:
        transformers_log.setLevel(level)


def _traced(transformer: Any, tokenizer: Any) -> Pass:
    """``_layers_module``, traced once at load, or run eagerly where tracing fails (a model
    whose forward branches on its input). Any batch size and length: the trace follows the
    shapes (``tests/test_views.py`` compares it with the eager pass). Float32 linear layers
    run on oneDNN with their weights laid out once (``indexer.packed``)."""
    import torch

    from indexer.packed import pack_linear_layers

    if pack_linear_layers(transformer):
        _give_back_freed_memory()  # the plain weights (~85 MB), freed as each layer was packed
    layers = _layers_module(transformer)
    example = tokenizer(["query: traced once"], return_tensors="pt")
    try:
        with _quiet_tracing():
            traced = torch.jit.trace(  # type: ignore[no-untyped-call]
                layers, (example["input_ids"], example["attention_mask"]), check_trace=False
            )
    except Exception:  # noqa: BLE001 - any model the tracer cannot follow still works, eagerly
        _log.warning("the transformer could not be traced; it runs eagerly", exc_info=True)
        return layers  # type: ignore[no-any-return]
    return traced  # type: ignore[no-any-return]


ONNX_OPSET = 17
# Questions' int8 pass (KB_MODEL_PRECISION=int8): the feed-forward layers' matrix products
# (two thirds of a layer's multiply-adds), weights int8 per output channel, activations
# quantised per call; attention (its projections and products), the token-embedding table and
# the norms stay float32. Chosen on allegro test-A with passages in float32 (nDCG@10 0.7705 in
# float32): every linear layer in int8 0.7649, the feed-forward ones only 0.7678, a question's
# pass 4.9 and 6.6 ms against 10.8 (one thread, ad hoc). One scale per weight matrix instead
# of per channel (torch's dynamic quantisation) cost 0.045 on test-B with the index in int8.
INT8_OPTIONS: dict[str, Any] = {
    "per_channel": True,
    "op_types_to_quantize": ["MatMul"],
    "extra_options": {"MatMulConstBOnly": True},
}
INT8_KEEPS_FLOAT = "/attention/"  # MatMul nodes named so stay float32 (Hugging Face's modules)
# CPUs with 8-bit dot products multiply int8 exactly. Without them (AVX2 alone, AVX-512 before
# VNNI) ONNX Runtime pairs bytes with VPMADDUBSW, whose 16-bit sums saturate: on an AVX2-only
# machine a tiny layer's outputs were off by up to 0.36 where the weights' rounding allows 0.01.
# There the weights take 7 bits (``reduce_range``, ONNX Runtime's advice), which keeps the sums
# in range, and the copy's name says so (a model folder may move to another machine).
INT8_EXACT_CPU_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def _onnx_layers(
    transformer: Any, tokenizer: Any, folder: Path, *, int8_questions: bool = False
) -> tuple[Pass, Pass]:
    """The same function as ``_traced``, exported to ONNX and run by ONNX Runtime: the same
    float32 arithmetic to ~1e-6, in about half the time of the TorchScript pass on one thread
    (its kernels fuse attention and layer norms, and it spends less per operator on a short
    question). Once the session holds the weights, torch's copy is released (the transformer
    moves to the ``meta`` device), so the process holds one.

    Returns the passages' pass and the questions' pass: the same one, or with
    ``int8_questions`` an int8 copy of the export (``INT8_OPTIONS``; about 1.6 times as fast
    again on a CPU with 8-bit dot products, AVX512-VNNI or AVX-VNNI). Passages stay in float32
    so the stored index is the float32 index whatever the setting.

    The export (~10 s; the int8 copy ~7 s more) is written once into the model's folder
    (``_exported``) and loaded from there, its weights mapped from their own file
    (``_move_weights_out``). A process with the model held 0.85 GB after loading and 1.08 GB
    after the 58 demo questions, of which 0.35 GB mapped file pages that the workers share
    (0.87 and 0.93 GB with torch); with the weights in the graph file 1.25 GB, and 1.75 GB
    with the session made from the export's bytes in the same process (ad hoc, VmRSS).

    One thread per ``torch.set_num_threads`` (the worker's share of the cores), never
    spinning: an idle spinning pool takes a core from the other worker."""
    import onnxruntime
    import torch

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")

    def session(path: Path) -> Pass:
        loaded = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

        def layers(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            last, lower = loaded.run(None, {"ids": ids.numpy(), "mask": mask.numpy()})
            return torch.from_numpy(last), torch.from_numpy(lower)

        return layers

    with _exported(transformer, tokenizer, folder) as path:
        passages = questions = session(path)
        if int8_questions:
            with _quantised(path) as quantised:
                questions = session(quantised)
    transformer.to("meta")  # the sessions have the weights now
    _give_back_freed_memory()
    return passages, questions


def _exported(transformer: Any, tokenizer: Any, folder: Path) -> AbstractContextManager[Path]:
    """The ONNX file of ``transformer``'s pass, made by the first process that needs it for
    these weights, this torch and this view layer (``_kept``)."""
    import hashlib

    import torch

    stamp = [torch.__version__, str(VIEW_LAYER), str(ONNX_OPSET), "weights apart"]
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        stat = weights.stat()
        stamp += [weights.name, str(stat.st_size), str(stat.st_mtime_ns)]
    digest = hashlib.sha256("\0".join(stamp).encode()).hexdigest()[:16]
    return _kept(
        folder / f"kb-layers-{digest}.onnx", lambda path: _export(transformer, tokenizer, path)
    )


def _quantised(exported: Path) -> AbstractContextManager[Path]:
    """The int8 copy of ``exported`` (``INT8_OPTIONS``), kept beside it (``_kept``); its name
    follows the export's and this ONNX Runtime's version, whose quantiser wrote it."""
    import hashlib

    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    reduce_range = not cpu.has_any(*INT8_EXACT_CPU_FLAGS)
    stamp = f"{exported.name}\0{onnxruntime.__version__}\0{INT8_OPTIONS}\0{INT8_KEEPS_FLOAT}"
    stamp += "\0shares the export's weights" + ("\0reduce_range" if reduce_range else "")
    digest = hashlib.sha256(stamp.encode()).hexdigest()[:16]

    def quantise(path: Path) -> None:  # only when the copy is not there yet
        graph = onnx.load(str(exported), load_external_data=False).graph
        kept = [n.name for n in graph.node if n.op_type == "MatMul" and INT8_KEEPS_FLOAT in n.name]
        root = logging.getLogger()
        root.addFilter(_no_preprocessing_advice)
        try:
            quantize_dynamic(
                exported,
                path,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=kept,
                reduce_range=reduce_range,
                **INT8_OPTIONS,
            )
        finally:
            root.removeFilter(_no_preprocessing_advice)

    target = exported.with_name(f"kb-layers-int8-{digest}.onnx")
    return _kept(target, quantise, shares=exported)


def _no_preprocessing_advice(record: logging.LogRecord) -> bool:
    """The quantiser logs on the root logger that models should be pre-processed (shape
    inference for image models): advice for another kind of model, and noise at start-up."""
    return not record.getMessage().startswith("Please consider to run pre-processing")


@contextmanager
def _kept(target: Path, make: Callable[[Path], None], shares: Path | None = None) -> Iterator[Path]:
    """``target``, an ONNX file that ``make(path)`` writes: the one already there, else made
    now, into ``target``'s folder when it can be written, else into a temporary folder removed
    after loading.

    Its weights are in a file of their own beside it (``_move_weights_out``), but for those
    that ``shares``, an ONNX file in the same folder, already keeps apart. Workers starting
    together make it one at a time (a lock file); each file is written under a temporary name
    and renamed, the weights first, so a crash never leaves a half-written file."""
    import fcntl

    if not target.is_file():  # renamed into place after its weights: both are whole
        try:
            with (target.parent / ".kb-layers.lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                if not target.is_file():  # another worker may have made it meanwhile
                    _write_kept(target, make, shares)
                    _remove_outdated(target)
        except OSError:  # a folder this process cannot write: made for it alone
            with tempfile.TemporaryDirectory(prefix="kb-layers-") as scratch:
                path = Path(scratch) / target.name
                make(path)
                _move_weights_out(path, path.with_suffix(WEIGHTS_SUFFIX), shares=shares)
                yield path
            return
    yield target


def _remove_outdated(target: Path) -> None:
    """Remove the files ``target`` replaces: the same kind made for other weights or versions
    (a torch or ONNX Runtime upgrade would otherwise leave ~0.5 GB behind each time). A process
    still running from one keeps its mapping: a removed file lives on until it is closed."""
    kind = re.escape(target.name.rsplit("-", 1)[0])  # "kb-layers" or "kb-layers-int8"
    for path in target.parent.iterdir():
        if re.fullmatch(kind + r"-[0-9a-f]{16}\.(onnx|weights)", path.name) and (
            path.stem != target.stem
        ):
            path.unlink(missing_ok=True)


def _write_kept(target: Path, make: Callable[[Path], None], shares: Path | None) -> None:
    """``make``'s file at ``target`` and its weights beside it, each written under a temporary
    name and renamed into place, the weights first."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=".kb-layers-", suffix=".onnx")
    os.close(handle)
    temporary = Path(name)
    try:
        make(temporary)
        weights = _move_weights_out(
            temporary, target.with_suffix(WEIGHTS_SUFFIX), temporary.with_suffix(".tmp"), shares
        )
        for path in (weights, temporary):
            os.chmod(path, 0o644)  # as readable as the model's other files
        os.replace(weights, target.with_suffix(WEIGHTS_SUFFIX))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
        temporary.with_suffix(".tmp").unlink(missing_ok=True)


WEIGHTS_SUFFIX = ".weights"
PAGE = 4096  # weights start on a page: ONNX Runtime maps them from the file only if they do
WEIGHTS_APART_BYTES = 1024  # smaller tensors (biases, norms) stay in the graph file


def _move_weights_out(
    model: Path, final: Path, write_to: Path | None = None, shares: Path | None = None
) -> Path:
    """Move ``model``'s weights into a file of their own (``final``; written at ``write_to``
    when that is given, to be renamed), each on a page boundary, and rewrite ``model`` to
    refer to them. Why: ONNX Runtime then maps them from that file instead of copying them
    into its memory, so a process holds only the pages a pass reads. Of the token-embedding
    table, most of a multilingual model's weights (250,037 tokens x 384 floats: 384 MB of
    470), those are the pages around the rows of the tokens seen so far (the kernel maps
    16 pages a fault). A session alone held 564 MB with the weights in the graph file, 148 MB
    with them apart (ad hoc, VmRSS after a few passes), and the mapped pages are the page
    cache, shared by the workers and given back under memory pressure.

    ``shares``: an ONNX file in the same folder whose weights are apart already; a tensor that
    is there byte for byte is referred to there instead of copied. The int8 copy of the
    export keeps the export's token-embedding table and attention weights so: one copy on
    disk, and one in the page cache for the questions' and the passages' sessions."""
    import onnx
    from onnx.external_data_helper import set_external_data

    proto = onnx.load(str(model))
    there = _apart(shares) if shares is not None else {}
    with (write_to or final).open("wb") as out:
        for tensor in proto.graph.initializer:
            if len(tensor.raw_data) < WEIGHTS_APART_BYTES:
                continue
            file, offset = _same_bytes(there.get(len(tensor.raw_data), []), tensor.raw_data)
            if file is not None:  # in the same folder: referred to by its name
                set_external_data(tensor, file.name, offset=offset, length=len(tensor.raw_data))
                tensor.ClearField("raw_data")
                tensor.data_location = onnx.TensorProto.EXTERNAL
                continue
            out.write(b"\0" * (-out.tell() % PAGE))
            offset = out.tell()
            out.write(tensor.raw_data)
            set_external_data(tensor, final.name, offset=offset, length=len(tensor.raw_data))
            tensor.ClearField("raw_data")
            tensor.data_location = onnx.TensorProto.EXTERNAL
    onnx.save_model(proto, str(model))
    return write_to or final


def _apart(model: Path) -> dict[int, list[tuple[Path, int]]]:
    """``model``'s weights kept apart, by length: their file and offset."""
    import onnx

    found: dict[int, list[tuple[Path, int]]] = {}
    for tensor in onnx.load(str(model), load_external_data=False).graph.initializer:
        entry = {e.key: e.value for e in tensor.external_data}
        if tensor.data_location == onnx.TensorProto.EXTERNAL and "offset" in entry:
            found.setdefault(int(entry["length"]), []).append(
                (model.parent / entry["location"], int(entry["offset"]))
            )
    return found


def _same_bytes(candidates: list[tuple[Path, int]], data: bytes) -> tuple[Path | None, int]:
    """The first of ``candidates`` (a file and an offset) holding ``data``, or (None, -1)."""
    for file, offset in candidates:
        with file.open("rb") as weights:
            weights.seek(offset)
            if weights.read(len(data)) == data:
                return file, offset
    return None, -1


def _export(transformer: Any, tokenizer: Any, path: Path) -> None:
    import torch

    example = tokenizer(["query: exported once"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with _quiet_tracing():
        torch.onnx.export(
            _layers_module(transformer),
            (example["input_ids"], example["attention_mask"]),
            str(path),
            input_names=["ids", "mask"],
            output_names=["last", "lower"],
            dynamic_axes={"ids": axes, "mask": axes, "last": axes, "lower": axes},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def _give_back_freed_memory() -> None:
    """Return the model load's, export's or packing's freed buffers to the system: glibc keeps freed
    heap memory for reuse (a process with the model held 1.32 GB without this, 1.25 GB with
    it; ad hoc, VmRSS). Where there is no glibc, a no-op."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


def _normalise(vector: NDArray[np.float32]) -> NDArray[np.float32]:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)
