"""Tests for indexer.fusion: z-score fusion and confidence."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.fusion import confidence, fuse, zscore

RNG = np.random.default_rng(7)


def ranking(scores: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-scores, kind="stable")]


def test_all_zero_keyword_leaves_dense_order_unchanged() -> None:
    dense = RNG.uniform(0.7, 0.95, size=50).astype(np.float32)
    fused = fuse(dense, np.zeros(50, dtype=np.float32))
    assert ranking(fused) == ranking(dense)


@pytest.mark.parametrize("weight", [0.0, 0.2, 1.0, 5.0])
def test_constant_keyword_leaves_dense_order_unchanged(weight: float) -> None:
    dense = RNG.uniform(0.7, 0.95, size=20).astype(np.float32)
    fused = fuse(dense, np.full(20, 3.5, dtype=np.float32), keyword_weight=weight)
    assert ranking(fused) == ranking(dense)


def test_keyword_evidence_breaks_a_dense_near_tie() -> None:
    dense = np.array([0.90, 0.899, 0.70, 0.71], dtype=np.float32)
    keyword = np.array([0.0, 6.0, 0.0, 0.0], dtype=np.float32)
    assert ranking(fuse(dense, keyword))[0] == 1


def test_strong_dense_winner_survives_a_lone_keyword_match() -> None:
    # One rare-word match has a huge keyword z-score in a big corpus; the cap keeps it
    # from outvoting a clear dense winner on its own.
    dense = np.full(10_000, 0.80, dtype=np.float32) + RNG.normal(0, 0.01, 10_000).astype(np.float32)
    dense[0] = 0.95
    keyword = np.zeros(10_000, dtype=np.float32)
    keyword[1] = 9.0
    assert ranking(fuse(dense, keyword))[0] == 0


def test_output_is_float32_and_finite() -> None:
    fused = fuse(np.zeros(5, dtype=np.float32), np.zeros(5, dtype=np.float32))
    assert fused.dtype == np.float32 and np.isfinite(fused).all()


@pytest.mark.parametrize(
    "vector",
    [np.zeros(4), np.full(4, 0.8), np.array([1.0]), np.array([]), np.array([np.nan, np.nan])],
)
def test_zscore_edge_cases_give_zeros_not_nan(vector: np.ndarray) -> None:
    result = zscore(vector)
    assert result.shape == vector.shape
    assert not np.isnan(result).any() and not result.any()


def test_zscore_ignores_minus_infinity_floor() -> None:
    result = zscore(np.array([1.0, 2.0, 3.0, -np.inf]))
    assert np.isfinite(result).all()
    assert result[2] > result[1] > result[0]


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        fuse(np.zeros(3, dtype=np.float32), np.zeros(4, dtype=np.float32))


def test_empty_vectors() -> None:
    assert fuse(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)).shape == (0,)


def test_confidence_rises_with_cosine_and_stays_in_range() -> None:
    values = [confidence(c) for c in (-1.0, 0.70, 0.80, 0.815, 0.85, 0.95, 5.0)]
    assert values == sorted(values)
    assert confidence(0.815) == pytest.approx(0.5)
    assert 0.0 <= values[0] < 0.01 and 0.99 < values[-1] <= 1.0


def test_confidence_midpoint_is_a_parameter() -> None:
    assert confidence(0.6, midpoint=0.6) == pytest.approx(0.5)
