"""A second dense view from the same model: token states of a lower layer, pooled with weights.

Why: the sentence vector (mean of the last layer) blurs which words mattered. Re-pooling the
second-to-last layer's content tokens (no prefix, no special tokens), weighted by how rare each
token is, gives a view that ranks differently enough to help in fusion (the gain on
allegro_faq is in the README and CHANGELOG); the weight was fixed on test-A, see
``indexer.fusion.VIEW_WEIGHT``.

Both vectors come from one forward pass, so the view costs no extra model time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]
VIEW_LAYER = -2  # hidden_states[-2]: the second-to-last transformer layer
VIEW_NAME = "layer-2-rarity-pooled"


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

    def __init__(self, st_model: Any, folder: Path) -> None:
        self._tokenizer = st_model.tokenizer
        self._transformer = st_model[0].auto_model
        self._max_length = int(st_model.max_seq_length or 512)
        self._weights = token_rarity(folder, len(self._tokenizer))
        self._special = set(self._tokenizer.all_special_ids)

    def prefix_length(self, prefix: str) -> int:
        """How many tokens the prompt prefix adds (they carry no content)."""
        if not prefix:
            return 0
        plain = self._tokenizer("x", add_special_tokens=False)["input_ids"]
        prefixed = self._tokenizer(prefix + "x", add_special_tokens=False)["input_ids"]
        return max(len(prefixed) - len(plain), 0)

    def encode(
        self, texts: Sequence[str], prefix: str, batch_size: int = 32
    ) -> tuple[Vectors, Vectors]:
        """The model's own sentence vectors (mean of the last layer) and the views, normalised."""
        import torch

        skip = self.prefix_length(prefix)
        dimension = int(self._transformer.config.hidden_size)
        vectors = np.zeros((len(texts), dimension), dtype=np.float32)
        views = np.zeros((len(texts), dimension), dtype=np.float32)
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
            with torch.inference_mode():
                states = self._transformer(**batch, output_hidden_states=True).hidden_states
            last = states[-1].float().numpy()
            lower = states[VIEW_LAYER].float().numpy()
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


def _normalise(vector: NDArray[np.float32]) -> NDArray[np.float32]:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)
