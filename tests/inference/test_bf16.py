"""The bf16-native and bf16-compiled backends: weights held in bf16, heads in fp32, compiled once when loaded."""

import numpy as np
import pytest
import torch

import inference.backends as backends
import inference.bf16 as bf16
from inference.artifact import load_artifact
from inference.predictor import Predictor

from ..conftest import PASSAGES

TEXTS = [t for t, _, _ in PASSAGES]
NEEDS_BF16 = pytest.mark.skipif(not backends.native_bf16(), reason="this CPU has no native bf16 (AVX512-BF16/AMX): "
                                "bf16-native and bf16-compiled are not offered here, so they are not run")
# bf16 keeps 8 bits of mantissa: the tiny model's logits move by a few thousandths.
TOLERANCE = 0.02


def _close_to_fp32(got: dict, reference: dict) -> None:
    for axis, z in reference.items():
        assert got[axis].dtype == np.float32
        assert np.abs(got[axis] - z).max() <= TOLERANCE, axis
        top2 = np.sort(z, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > 2 * TOLERANCE
        assert (got[axis].argmax(1) == z.argmax(1))[clear].all(), axis


@NEEDS_BF16
def test_bf16_native_holds_the_encoder_in_bf16_and_leaves_the_fp32_model_alone(tiny_artifact):
    artifact = load_artifact(tiny_artifact)
    forward = backends.open_backend("bf16-native", artifact, num_threads=1)
    assert {p.dtype for p in forward.module.encoder.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in forward.module.heads.parameters()} == {torch.float32}
    # The artifact's own model stays fp32: it is the reference export and the load check compare with.
    assert {p.dtype for p in artifact.model.parameters()} == {torch.float32}
    reference = Predictor(artifact, backend="fp32").logits(TEXTS)[0]
    predictor = Predictor(artifact, backend="bf16-native", require_qualified=False)
    got = predictor.logits(TEXTS)[0]
    _close_to_fp32(got, reference)
    assert max(np.abs(got[a] - reference[a]).max() for a in reference) > 0  # really computed in bf16
    assert predictor.warmup_s == 0.0
    assert all(set(o) == {*predictor.axes, "truncated", "model"} for o in predictor.predict(TEXTS[:2]))


@NEEDS_BF16
@pytest.mark.slow  # compiling the tiny model takes 5-40 s, depending on torch's on-disk cache
def test_compiled_warm_up_is_paid_once_when_loaded_and_never_per_request(tiny_artifact, monkeypatch):
    from torch._dynamo.utils import counters

    warm_ups = []
    real = bf16.warm_up
    monkeypatch.setattr(bf16, "warm_up", lambda forward, pad_id=0: warm_ups.append(pad_id) or real(forward, pad_id))
    artifact = load_artifact(tiny_artifact)
    reference = Predictor(artifact, backend="fp32").logits(TEXTS)[0]
    predictor = Predictor(artifact, backend="bf16-compiled", require_qualified=False)
    assert len(warm_ups) == 1 and predictor.warmup_s > 0
    compiled = {k: dict(v) for k, v in counters.items()}
    # One passage, several, padded or not, short or cut at max_length: no shape compiles anything new.
    for batch_size in (1, 2, 3, 4, 9):
        _close_to_fp32(predictor.logits(TEXTS, batch_size=batch_size)[0], reference)
    predictor.predict(["The convoy moved north. " * 40])
    predictor.predict_document("\n\n".join(TEXTS[:4]))
    assert {k: dict(v) for k, v in counters.items()} == compiled
    assert len(warm_ups) == 1


def test_the_bf16_backends_need_bf16_units_and_the_compiled_one_a_cpp_compiler(monkeypatch):
    monkeypatch.setattr(backends, "native_bf16", lambda: False)
    for name in ("bf16-native", "bf16-compiled"):
        assert "has no native bf16 matrix multiply" in backends.unavailable_reason(name, None)
    monkeypatch.setattr(backends, "native_bf16", lambda: True)
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(bf16.shutil, "which", lambda name: None)
    assert backends.unavailable_reason("bf16-native", None) is None
    assert "torch.compile needs a C++ compiler" in backends.unavailable_reason("bf16-compiled", None)
    monkeypatch.setattr(bf16.shutil, "which", lambda name: "/usr/bin/g++" if name == "g++" else None)
    assert backends.unavailable_reason("bf16-compiled", None) is None
