"""``indexer.packed``: linear layers on oneDNN, and the plain layer kept where that fails."""

from __future__ import annotations

import pytest
import torch

from indexer import packed

pytestmark = pytest.mark.skipif(not packed.available(), reason="torch without oneDNN")


def _model() -> torch.nn.Module:
    torch.manual_seed(3)
    return torch.nn.Sequential(
        torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 8, bias=False)
    ).eval()


def test_linear_layers_are_packed_and_compute_the_same() -> None:
    model = _model()
    x = torch.randn(2, 5, 16)
    with torch.inference_mode():
        before = model(x)
        assert packed.pack_linear_layers(model) == 2
        after = model(x)
        traced = torch.jit.trace(model, (x,), check_trace=False)  # type: ignore[no-untyped-call]
        assert torch.allclose(traced(x), before, atol=1e-5)
    assert not any(type(m) is torch.nn.Linear for m in model.modules())
    assert torch.allclose(after, before, atol=1e-5)


def test_a_layer_that_fails_or_disagrees_on_onednn_stays_plain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Wrong(torch.nn.Module):
        def __init__(self, linear: torch.nn.Linear, **_: bool) -> None:
            super().__init__()
            self.out = linear.out_features

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.zeros(x.shape[0], self.out)

    class Failing(torch.nn.Module):
        def __init__(self, linear: torch.nn.Linear, **_: bool) -> None:
            raise RuntimeError("no oneDNN path for this layer")

    for replacement in (Wrong, Failing):
        monkeypatch.setattr(packed, "PackedLinear", replacement)
        model = _model()
        assert packed.pack_linear_layers(model) == 0
        assert sum(type(m) is torch.nn.Linear for m in model.modules()) == 2
        block = _Intermediate(torch.nn.GELU()).eval()  # the fused path, checked the same way
        act = block.intermediate_act_fn
        assert packed.pack_linear_layers(block) == 0
        assert type(block.dense) is torch.nn.Linear and block.intermediate_act_fn is act


class _Intermediate(torch.nn.Module):
    """Hugging Face's feed-forward first half: a layer, then its activation."""

    def __init__(self, act: torch.nn.Module, act_first: bool = False) -> None:
        super().__init__()
        self.dense = torch.nn.Linear(16, 64)
        self.intermediate_act_fn = act
        self.act_first = act_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_first:
            return self.dense(self.intermediate_act_fn(x))  # type: ignore[no-any-return]
        return self.intermediate_act_fn(self.dense(x))  # type: ignore[no-any-return]


def test_a_feed_forward_layer_gets_its_exact_gelu_in_the_same_call() -> None:
    torch.manual_seed(5)
    block = _Intermediate(torch.nn.GELU()).eval()
    x = torch.randn(2, 7, 16)
    with torch.inference_mode():
        before = block(x)
        assert packed.pack_linear_layers(block) == 1
        traced = torch.jit.trace(block, (x,), check_trace=False)  # type: ignore[no-untyped-call]
        assert torch.allclose(traced(x), before, atol=1e-5)
    assert type(block.intermediate_act_fn) is torch.nn.Identity
    assert block.dense.activation == "gelu"


@pytest.mark.parametrize(
    "block",
    [
        _Intermediate(torch.nn.GELU(approximate="tanh")),  # not the GELU oneDNN would apply
        _Intermediate(torch.nn.ReLU()),
        _Intermediate(torch.nn.GELU(), act_first=True),  # the same parts, another function
    ],
    ids=["tanh-gelu", "relu", "activation-first"],
)
def test_other_blocks_keep_their_activation_and_a_plain_packed_layer(
    block: torch.nn.Module,
) -> None:
    block.eval()
    act = block.intermediate_act_fn
    x = torch.randn(2, 7, 16)
    with torch.inference_mode():
        before = block(x)
        assert packed.pack_linear_layers(block) == 1
        assert torch.allclose(block(x), before, atol=1e-5)
    assert block.intermediate_act_fn is act
    assert block.dense.activation == "none"
