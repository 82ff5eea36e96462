"""The bf16-native and bf16-compiled forward passes: the encoder's weights held in bfloat16, heads in fp32.

Autocast (the `bf16` backend) keeps fp32 weights and casts them to bf16 at every matrix multiply, which
costs about a third of its time on an AMX CPU; holding the weights in bf16 skips the casts. Pooling,
the heads and (in the Predictor) the softmax stay fp32, so only the encoder's arithmetic changes precision.

`bf16-compiled` runs the same module through `torch.compile(dynamic=True)`. Compiling happens on the
first calls, so `compiled_forward` pays it at once (`warm_up`) on every shape family a prediction can
take: one passage (dynamic shapes specialise size 1), and several passages with and without padding.
After that no request compiles anything. The bf16 copy leaves the artifact's fp32 model untouched: it
stays the reference that export and the load-time check compare with.
"""

from __future__ import annotations

import copy
import os
import shutil
import time

import numpy as np
import torch
from torch import nn

# (passages, tokens, padded): the shape families a prediction takes; tokens >= 2 ([CLS] and [SEP]).
WARM_UP_SHAPES = ((1, 8, False), (2, 12, True), (3, 16, False))


class Bf16Encoder(nn.Module):
    """A FramingModel's encoder cast to bf16 (a copy), with its mean pooling and heads in fp32."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.encoder = copy.deepcopy(model.encoder).to(torch.bfloat16).eval()
        self.heads = model.heads  # shared with the fp32 model: fp32, and never trained here
        self.axes = list(model.axes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()
        # The same pooling as FramingModel.forward, in fp32 (its dropout is the identity in eval mode).
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return {name: self.heads[name](pooled) for name in self.axes}


class Bf16Forward:
    """A Forward over a Bf16Encoder (compiled or not); `warmup_s` is what compiling cost, once."""

    def __init__(self, module: nn.Module):
        self.module = module
        self.warmup_s = 0.0

    @torch.inference_mode()
    def __call__(self, input_ids, attention_mask) -> dict[str, np.ndarray]:
        out = self.module(torch.as_tensor(input_ids), torch.as_tensor(attention_mask))
        return {a: z.float().numpy() for a, z in out.items()}


def native_forward(model: nn.Module) -> Bf16Forward:
    """The model with its encoder held in bf16."""
    return Bf16Forward(Bf16Encoder(model))


def compiled_forward(model: nn.Module, pad_id: int = 0) -> Bf16Forward:
    """The bf16 model through torch.compile(dynamic=True), compiled now (see `warm_up`), not on a request."""
    forward = Bf16Forward(torch.compile(Bf16Encoder(model), dynamic=True))
    forward.warmup_s = warm_up(forward, pad_id)
    return forward


def warm_up(forward, pad_id: int = 0) -> float:
    """Run `forward` once on each shape family in WARM_UP_SHAPES; returns the seconds it took."""
    start = time.perf_counter()
    for n, tokens, padded in WARM_UP_SHAPES:
        input_ids = torch.full((n, tokens), 1000, dtype=torch.long)
        mask = torch.ones((n, tokens), dtype=torch.long)
        if padded:
            mask[0, tokens // 2:] = 0
            input_ids[0, tokens // 2:] = pad_id
        forward(input_ids, mask)
    # Unrounded: with torch's on-disk compile cache warm it can take well under 10 ms, and 0 would read as "none".
    return time.perf_counter() - start


def compiler_missing() -> str | None:
    """Why torch.compile cannot build CPU kernels here (it needs a C++ compiler), or None."""
    names = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    if any(name and shutil.which(name) for name in names):
        return None
    return "torch.compile needs a C++ compiler on PATH (g++, c++ or clang++; or set CXX), and none was found"
