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
"""

from __future__ import annotations

import logging

import torch

# Rows oneDNN lays the weights out for: a hint, any count works (a question has ~20 tokens).
ROWS_HINT = 32
_log = logging.getLogger(__name__)


class PackedLinear(torch.nn.Module):
    """A ``Linear`` whose weight oneDNN reordered once; the same function."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        with torch.no_grad():
            weight = linear.weight.detach().contiguous()
            bias = linear.bias if linear.bias is not None else torch.zeros(weight.shape[0])
            self.register_buffer(
                "weight", torch.ops.mkldnn._reorder_linear_weight(weight, ROWS_HINT)
            )
            self.register_buffer("bias", bias.detach().clone())
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = torch.ops.mkldnn._linear_pointwise(
            x, self.weight, self.bias, "none", [], ""
        )
        return out


def pack_linear_layers(module: torch.nn.Module) -> int:
    """Replace ``module``'s float32 ``Linear`` layers in place; returns how many. A layer whose
    packed form fails or disagrees with it on a test input (a platform where oneDNN lacks this
    path) stays as it is."""
    if not available():
        return 0
    packed = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.Linear and child.weight.dtype == torch.float32:
                replacement = _checked(child)
                if replacement is not None:
                    setattr(parent, name, replacement)
                    packed += 1
    return packed


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
