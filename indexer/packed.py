"""The torch runtime's float32 linear layers, on oneDNN with their weights laid out once.

Why: torch runs a ``Linear`` through MKL's matrix product, which takes the weight as it lies on
every call. At a question's size (about 20 tokens, 384 wide) that call is most of a pass, and on
AMD CPUs MKL takes a slower code path. oneDNN's inner product with the weight reordered once into
its blocked layout (what ``torch.compile`` does for frozen float32 layers) took a question's
pass from 26 to 31 ms down to 16 to 20 ms (one thread, the demo questions, an AMD EPYC with
AVX-512, ad hoc) and a batch of 32 passages from 4.6 to 3.8 s. The vectors are the same to a
cosine of 0.9999998 (another order of summation).

How: each ``torch.nn.Linear`` of the transformer becomes a TorchScript module holding the
reordered weight and calling ``torch.ops.mkldnn._linear_pointwise``. Scripted, because torch's
tracer cannot record that call (its list of optional scalars) while a scripted module stays one
C++ call in the trace: no Python, and so no global lock, during a pass (``indexer.views``). The
original weights are let go. A torch built without oneDNN keeps its layers as they are.

A feed-forward block's first layer (``dense`` followed by an exact GELU, ``intermediate_act_fn``,
as in BERT and XLM-RoBERTa) gets the GELU in the same oneDNN call, applied to each tile of the
product while it is still in cache, instead of one more pass over a tensor four times the
model's width: a question's pass 2 to 4 % faster, a batch of 32 passages 4 to 7 % (one thread,
the demo questions, ad hoc); the outputs agree with the plain layers to 2e-6.
"""

from __future__ import annotations

import logging
from typing import TypeGuard

import torch

# Rows oneDNN lays the weights out for: a hint, any count works (a question has ~20 tokens).
ROWS_HINT = 32
_log = logging.getLogger(__name__)


class PackedLinear(torch.nn.Module):
    """A ``Linear`` whose weight oneDNN reordered once; the same function, or with ``gelu`` the
    layer followed by the exact (erf) GELU."""

    __constants__ = ["activation", "algorithm"]  # TorchScript: fixed at scripting

    def __init__(self, linear: torch.nn.Linear, *, gelu: bool = False) -> None:
        super().__init__()
        with torch.no_grad():
            weight = linear.weight.detach().contiguous()
            bias = linear.bias if linear.bias is not None else torch.zeros(weight.shape[0])
            self.register_buffer(
                "weight", torch.ops.mkldnn._reorder_linear_weight(weight, ROWS_HINT)
            )
            self.register_buffer("bias", bias.detach().clone())
        self.in_features, self.out_features = linear.in_features, linear.out_features
        # oneDNN's names: the post-op, and its variant ("none": erf, not the tanh estimate)
        self.activation, self.algorithm = ("gelu", "none") if gelu else ("none", "")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = torch.ops.mkldnn._linear_pointwise(
            x, self.weight, self.bias, self.activation, [], self.algorithm
        )
        return out


def pack_linear_layers(module: torch.nn.Module) -> int:
    """Replace ``module``'s float32 ``Linear`` layers in place, feed-forward ones with their
    GELU (module docs); returns how many. A layer whose packed form fails or disagrees with it
    on a test input (a platform where oneDNN lacks this path) stays as it is."""
    if not available():
        return 0
    packed = 0
    for parent in list(module.modules()):
        packed += _fuse_feed_forward(parent)
        for name, child in list(parent.named_children()):
            if _plain_float32(child):
                replacement = _checked(child)
                if replacement is not None:
                    setattr(parent, name, replacement)
                    packed += 1
    return packed


def _plain_float32(module: object) -> TypeGuard[torch.nn.Linear]:
    return type(module) is torch.nn.Linear and module.weight.dtype == torch.float32


def _fuse_feed_forward(block: torch.nn.Module) -> int:
    """1 if ``block`` is a feed-forward block's first half (Hugging Face's ``*Intermediate``:
    ``dense``, then ``intermediate_act_fn`` the exact GELU) and now runs as one packed layer
    with its GELU; 0 if not, or if the block then fails or disagrees with itself (it stays)."""
    dense, act = getattr(block, "dense", None), getattr(block, "intermediate_act_fn", None)
    exact_gelu = getattr(act, "act", None) is torch.nn.functional.gelu or (
        isinstance(act, torch.nn.GELU) and act.approximate == "none"
    )
    if not (exact_gelu and _plain_float32(dense)):
        return 0
    # Checked as a whole: the block must compute what it did, so a forward that uses the two
    # parts otherwise than layer-then-activation is caught along with a wrong oneDNN result.
    probe = torch.randn(3, dense.in_features, generator=torch.Generator().manual_seed(0))
    try:
        fused = torch.jit.script(PackedLinear(dense, gelu=True))
        with torch.inference_mode():
            before = block(probe)
            block.dense, block.intermediate_act_fn = fused, torch.nn.Identity()
            same = torch.allclose(block(probe), before, rtol=1e-4, atol=1e-4)
    except (RuntimeError, TypeError):  # no oneDNN path, or a forward of more than one tensor
        same = False
    if not same:  # put the two parts back; the layer is then packed plain
        _log.warning("a feed-forward block disagreed with its GELU fused; it stays unfused")
        setattr(block, "dense", dense)  # noqa: B010 - the attributes' own types, not Module's
        setattr(block, "intermediate_act_fn", act)  # noqa: B010
        return 0
    return 1


def _checked(linear: torch.nn.Linear) -> torch.nn.Module | None:
    try:
        replacement = torch.jit.script(PackedLinear(linear))
        probe = torch.randn(3, linear.in_features, generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            same = torch.allclose(replacement(probe), linear(probe), rtol=1e-4, atol=1e-4)
    except RuntimeError:
        _log.warning("a linear layer could not run on oneDNN; it stays as it is", exc_info=True)
        return None
    if not same:
        _log.warning("a linear layer gave other results on oneDNN; it stays as it is")
        return None
    return replacement


def available() -> bool:
    """Whether this torch has oneDNN and the two operators."""
    try:
        mkldnn = bool(torch.backends.mkldnn.is_available())  # type: ignore[no-untyped-call]
        return mkldnn and all(
            hasattr(torch.ops.mkldnn, op) for op in ("_linear_pointwise", "_reorder_linear_weight")
        )
    except (AttributeError, RuntimeError):  # an operator namespace torch was built without
        return False
