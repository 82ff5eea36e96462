"""Batch invariance: the service's backend gives a passage the same output whoever shares its batch; one that does not is kept out."""

import numpy as np
import pytest

from inference.artifact import read_config
from inference.backends import OPT_IN, BackendError, resolve_backend
from inference.invariance import MAX_PROB_DIFF, batch_invariance
from inference.predictor import Predictor

from ..conftest import PASSAGES

CLAUSES = ["officials said on Tuesday", "according to the ministry", "analysts in Seoul warned", "the report added"]


def texts(n: int = 300) -> list[str]:
    """n different passages of different lengths (so batches pad differently)."""
    return [f"Report {i}: {PASSAGES[i % len(PASSAGES)][0]} " + ", ".join(CLAUSES[: i % 5]) for i in range(n)]


def test_the_service_backend_is_batch_invariant_on_a_few_hundred_passages(exported):
    config = read_config(exported)
    backend = resolve_backend(config, exported, None, batch_invariant=True)
    assert backend == config["backends"]["serving_default"]
    result = batch_invariance(Predictor.from_artifact(exported, backend=backend), texts())
    assert result["passages"] == 300 and result["label_flips"] == 0 and result["max_prob_diff"] <= MAX_PROB_DIFF, result
    assert result["invariant"]


def test_export_records_invariance_and_the_serving_default_is_the_fastest_invariant_backend(exported):
    record = read_config(exported)["backends"]
    for name, r in record["results"].items():
        if r["available"]:
            assert r["batch_invariance"]["passages"] > 0 and isinstance(r["batch_invariance"]["invariant"], bool), name
    # bf16-compiled runs only when named (OPT_IN), in the service as elsewhere.
    fit = [n for n, r in record["results"].items() if r["passes"] and r["batch_invariance"]["invariant"] and n not in OPT_IN]
    assert record["serving_default"] == max(fit, key=lambda n: record["results"][n]["passages_per_s"])


def test_a_backend_whose_output_depends_on_its_batch_mates_is_caught(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact)
    forward = predictor._forward

    def scaled_by_the_batch(input_ids, attention_mask):
        # What dynamic quantisation does: one scale for the whole batch, set by its largest value.
        out = forward(input_ids, attention_mask)
        return {a: z * (1 + 0.05 * np.abs(z).max()) for a, z in out.items()}

    predictor._forward = scaled_by_the_batch
    result = batch_invariance(predictor, texts(60), rounds=1)
    assert not result["invariant"] and result["max_prob_diff"] > MAX_PROB_DIFF


def test_the_service_refuses_a_backend_that_is_not_batch_invariant(exported):
    config = read_config(exported)
    fast = config["backends"]["results"]["onnx-fp32"]
    fast.update(passages_per_s=1e9, batch_invariance={**fast["batch_invariance"], "invariant": False, "max_prob_diff": 0.02,
                                                      "label_flips": 3})
    config["backends"]["serving_default"] = "onnx-fp32"  # even if recorded as the default, it is not served
    assert resolve_backend(config, exported, None, batch_invariant=True) != "onnx-fp32"
    with pytest.raises(BackendError, match=r"'onnx-fp32'.*not batch-invariant.*up to 0\.02.*3 label changes.*choose one of"):
        resolve_backend(config, exported, "onnx-fp32", batch_invariant=True)
    del fast["batch_invariance"]  # exported before invariance was measured: not trusted behind the batcher
    with pytest.raises(BackendError, match="batch invariance was not measured; run `framing export` again"):
        resolve_backend(config, exported, "onnx-fp32", batch_invariant=True)
    never_exported = {k: v for k, v in config.items() if k != "backends"}
    assert resolve_backend(never_exported, exported, None, batch_invariant=True) == "fp32"  # the reference
