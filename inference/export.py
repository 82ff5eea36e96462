"""`framing export`: write ONNX exports into a trained artifact, qualify every backend against fp32, time them.

For each backend (inference/backends.py) the artifact's config gets, under "backends":
label agreement with fp32 per axis on every corpus passage, dev macro-F1 and its drop in points,
passages/s at each batch size on this machine, the fastest batch size and token budget, the CPU flags
that chose its kernels (KERNEL_FLAGS), for bf16-compiled its warm-up, for ONNX files their sha256 and the
logit tolerance the load-time check allows, and its batch invariance (inference/invariance.py). A backend
below its bar (backends.bar: agreement and dev macro-F1 drop) is recorded but not offered; the default is
the fastest one that passes, bf16-compiled excepted (it runs only when named), and the serving default the
fastest one that passes and is batch-invariant (the service batches callers together).

int8: dynamic per-channel quantisation of every MatMul/Attention first. If that loses agreement, the
matrix multiplies whose quantisation moves the logits most (measured one at a time on training
passages) stay fp32, a few more at each step, until agreement is kept. Static quantisation
calibrated on corpus passages was tried on the preliminary model and agreed less than dynamic.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from inference.artifact import load_artifact, write_config
from inference.backends import (BACKENDS, MAX_MACRO_F1_DROP_POINTS, MIN_AGREEMENT, NATIVE_BF16, ONNX_DIR, ONNX_FILES, OPT_IN,
                               REFERENCE, bar, default_threads, onnx_forward, onnx_session, qualification_failure,
                               qualified_flags, sha256, unavailable_reason)
from inference.bench import latency, search_batch_size
from inference.invariance import batch_invariance
from inference.machine import machine_info
from inference.predictor import Predictor
from labels.dataset import corpus_rows, gold_ids
from training.metrics import macro_f1

BATCH_SIZES = (1, 2, 4, 8, 16, 32)
CHECK_TEXTS = 8
QUALIFY_BATCH_SIZE = 16
# Fractions of the quantisable nodes kept in fp32, tried in turn while int8 loses agreement.
KEEP_FP32_STEPS = (0.0, 0.1, 0.2, 0.35, 0.5)


@dataclass
class ExportConfig:
    """What an export measures; defaults fit a 2-core CPU and the MiniLM encoder (about a minute or two)."""

    num_threads: int = 0  # 0: every CPU this process may use
    speed_passages: int = 64
    sensitivity_passages: int = 48
    invariance_passages: int = 200
    search_rounds: int = 3  # each batch size timed this many times, interleaved; its best counts
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    opset: int = 17

    def __post_init__(self):
        if isinstance(self.num_threads, bool) or not isinstance(self.num_threads, int) or self.num_threads < 0:
            raise ValueError(f"num_threads must be 0 (all CPUs) or a positive integer, got {self.num_threads!r}")
        self.num_threads = self.num_threads or default_threads()
        for name in ("speed_passages", "sensitivity_passages", "invariance_passages", "search_rounds", "opset"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        self.batch_sizes = tuple(sorted(set(self.batch_sizes)))
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise ValueError(f"batch_sizes must be positive integers, got {self.batch_sizes}")


@contextlib.contextmanager
def _quiet():
    """Exporter and quantiser warnings (tracer, deprecation, 'consider pre-processing') are noise to a user."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def export_onnx(model, file: Path, opset: int = 17) -> None:
    """The model as ONNX (TorchScript exporter: dynamic batch and sequence axes); outputs named by axis."""
    import torch

    axes = list(model.axes)

    class Heads(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            return tuple(out[a] for a in axes)

    encoder = model.encoder
    previous = getattr(encoder.config, "_attn_implementation", None)
    # ONNX Runtime fuses attention only from the eager implementation's graph.
    if previous and previous != "eager" and hasattr(encoder, "set_attn_implementation"):
        encoder.set_attn_implementation("eager")
    # The wrapper must be in eval mode: the exporter restores the wrapper's mode onto the whole model afterwards.
    wrapper = Heads(model).eval()
    example = (torch.tensor([[101, 2023, 2003, 102], [101, 2023, 102, 0]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    dynamic = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
               **{a: {0: "batch"} for a in axes}}
    try:
        with _quiet():
            # dynamo=False: the dynamo exporter ignores dynamic_axes and its graphs do not fuse.
            torch.onnx.export(wrapper, example, str(file), input_names=["input_ids", "attention_mask"], output_names=axes,
                              dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    finally:
        if previous and previous != "eager" and hasattr(encoder, "set_attn_implementation"):
            encoder.set_attn_implementation(previous)
        model.eval()


def fuse(raw: Path, out: Path, encoder_config) -> dict:
    """ONNX Runtime's transformer graph fusions (attention, layer norm, GELU); returns fused-op counts."""
    from onnxruntime.transformers.optimizer import optimize_model

    model_type = "bert" if encoder_config.model_type in ("bert", "roberta", "distilbert") else encoder_config.model_type
    with _quiet():
        optimised = optimize_model(str(raw), model_type=model_type, num_heads=encoder_config.num_attention_heads,
                                   hidden_size=encoder_config.hidden_size, opt_level=1, use_gpu=False)
        optimised.save_model_to_file(str(out))
    return {k: v for k, v in optimised.get_fused_operator_statistics().items() if v}


def quantisable_nodes(file: Path) -> list[str]:
    import onnx

    return [n.name for n in onnx.load(str(file), load_external_data=False).graph.node if n.op_type in ("MatMul", "Attention")]


def quantise_int8(src: Path, out: Path, *, exclude: list[str] = (), only: list[str] | None = None) -> None:
    """Dynamic int8: weights per output channel, activations per tensor at run time; `exclude` stays fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        # Embeddings and the small heads stay fp32: quantising them costs accuracy and saves no time.
        quantize_dynamic(str(src), str(out), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=list(exclude),
                         nodes_to_quantize=list(only) if only else None,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _labels(logits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {a: z.argmax(1) for a, z in logits.items()}


def qualify(logits: dict[str, np.ndarray], reference: dict[str, np.ndarray], splits: dict[str, np.ndarray],
            dev_gold: dict[str, np.ndarray], axes: dict[str, list[str]]) -> dict:
    """Agreement with the reference labels (all passages and per split) and dev macro-F1 per axis."""
    mine, ref = _labels(logits), _labels(reference)
    dev = splits.get("dev", np.array([], dtype=int))
    return {
        "agreement": {a: float((mine[a] == ref[a]).mean()) for a in axes},
        "agreement_by_split": {s: {a: float((mine[a][i] == ref[a][i]).mean()) for a in axes} for s, i in splits.items() if len(i)},
        "agreement_n": int(len(ref[next(iter(axes))])),
        "max_logit_diff": float(max(np.abs(logits[a] - reference[a]).max() for a in axes)),
        "dev_macro_f1": {a: macro_f1(dev_gold[a], mine[a][dev], len(labels)) for a, labels in axes.items()} if len(dev) else {},
    }


def measure_speed(predictor: Predictor, texts: list[str], config: ExportConfig) -> dict:
    """Passages/s at each batch size through the one batch-size search (inference/bench.py), and batch-1 latency."""
    search = search_batch_size(predictor, texts, config.batch_sizes, config.search_rounds)
    batch1 = latency(lambda text: predictor.predict([text], batch_size=1), texts)
    return {
        "batch_size": search["batch_size"],
        "max_batch_tokens": search["max_batch_tokens"],
        "passages_per_s": search["passages_per_s_at_best"],
        "passages_per_s_by_batch_size": search["passages_per_s_by_batch_size"],
        "p50_ms_batch1": batch1["p50_ms"],
    }


def _invariance_note(record: dict) -> str:
    if record["invariant"]:
        return "batch-invariant"
    return (f"NOT batch-invariant (probabilities move by up to {record['max_prob_diff']:.2g} with other batch-mates, "
            f"{record['label_flips']} label changes): not served behind the service's batcher")


def _check_texts(texts: list[str], lengths: list[int], n: int) -> list[str]:
    """n passages spread over the length range, longest included, so the load check covers padding and truncation."""
    order = np.argsort(lengths, kind="stable")
    picks = np.unique(np.linspace(0, len(order) - 1, num=min(n, len(order))).round().astype(int))
    return [texts[order[i]] for i in picks]


def _sample(texts: list[str], n: int) -> list[str]:
    return texts[:: max(1, len(texts) // n)][:n]


def _start_clean(path: Path, artifact) -> None:
    """Drop earlier exports: an export that stops half-way leaves an fp32-only artifact, nothing half-trusted."""
    artifact.config.pop("backends", None)
    write_config(path, artifact.config)
    shutil.rmtree(path / ONNX_DIR, ignore_errors=True)
    (path / ONNX_DIR).mkdir()


def _split_indices(rows, dev_split: str) -> dict[str, np.ndarray]:
    """Row indices per split, the dev split under the name "dev" (where qualify() reads it)."""
    split_of = np.array([r.split for r in rows])
    splits = {s: np.flatnonzero(split_of == s) for s in sorted(set(split_of))}
    splits["dev"] = splits.pop(dev_split, np.array([], dtype=int))
    return splits


class _Export:
    """One `framing export` run: the fp32 reference on every corpus passage, and each backend timed and qualified against it."""

    def __init__(self, path: Path, artifact, corpus, config: ExportConfig, dev_split: str, train_splits: tuple[str, ...], log):
        self.path, self.artifact, self.config, self.log = path, artifact, config, log
        self.axes = artifact.model.axes
        rows = corpus_rows(corpus, tuple(corpus))
        if not rows:
            raise ValueError("the corpus has no passages to qualify backends on; run `framing corpus build`")
        self.texts = [r.text for r in rows]
        self.splits = _split_indices(rows, dev_split)
        self.dev_gold = gold_ids([r for r in rows if r.split == dev_split], self.axes)
        self.calibration = _sample([r.text for r in rows if r.split in train_splits] or self.texts, config.sensitivity_passages)
        self.speed_texts = _sample(self.texts, config.speed_passages)
        self.invariance_texts = _sample(self.texts, config.invariance_passages)
        self.reference = Predictor(artifact, backend=REFERENCE, num_threads=config.num_threads, batch_size=QUALIFY_BATCH_SIZE)
        self.ref_logits, _ = self.reference.logits(self.texts)
        self.check = _check_texts(self.texts, self.reference.token_lengths(self.texts), CHECK_TEXTS)
        self.ref_check, _ = self.reference.logits(self.check, batch_size=len(self.check))
        self.f1_ref = qualify(self.ref_logits, self.ref_logits, self.splits, self.dev_gold, self.axes)["dev_macro_f1"]
        self.results: dict[str, dict] = {}
        self.backends = {"exported": datetime.now(timezone.utc).isoformat(timespec="seconds"), "threads": config.num_threads,
                         "reference": REFERENCE, "check_texts": self.check, "results": self.results,
                         "bar": {"min_agreement": MIN_AGREEMENT, "max_dev_macro_f1_drop_points": MAX_MACRO_F1_DROP_POINTS},
                         "machine": machine_info()}
        log(f"fp32 reference on {len(self.texts)} passages ({len(self.splits['dev'])} dev), {config.num_threads} threads")

    def candidate(self, name: str, extra: dict | None = None) -> dict:
        """Time backend `name` (its file, if any, already in place), then qualify it at the batch size it will run at."""
        # The flags are recorded before the run: they describe the CPU the figures below come from.
        record = {"available": True, "cpu_flags": qualified_flags(name), "bar": bar(name), **(extra or {})}
        if name in ONNX_FILES:
            record.update(file=f"{ONNX_DIR}/{ONNX_FILES[name]}", sha256=sha256(self.path / ONNX_DIR / ONNX_FILES[name]))
        self.results[name] = record
        self.artifact.config["backends"] = self.backends
        predictor = Predictor(self.artifact, backend=name, num_threads=self.config.num_threads, require_qualified=False)
        if predictor.warmup_s:
            record["warmup_s"] = round(predictor.warmup_s, 3)
        record.update(measure_speed(predictor, self.speed_texts, self.config))
        # Dynamic int8 scales activations per batch, so labels can depend on batching: qualify as it will be served.
        logits, _ = predictor.logits(self.texts, batch_size=record["batch_size"], max_batch_tokens=record["max_batch_tokens"])
        record.update(qualify(logits, self.ref_logits, self.splits, self.dev_gold, self.axes))
        # Per axis: a head that loses a point is not saved by the other head gaining one.
        record["dev_macro_f1_drop_points"] = round(max((100 * (self.f1_ref[a] - record["dev_macro_f1"][a]) for a in self.f1_ref),
                                                       default=0.0), 3)
        got, _ = predictor.logits(self.check, batch_size=len(self.check))
        diff = max(float(np.abs(got[a] - self.ref_check[a]).max()) for a in self.axes)
        # Room for thread-count and CPU-kernel differences; an export that computes something else is far outside it.
        record["load_tolerance"] = round(2 * diff + 0.01, 4)
        failure = qualification_failure(record, name)
        record.update(passes=failure is None, failure=failure)
        record["batch_invariance"] = batch_invariance(predictor, self.invariance_texts)
        return record

    def report(self, name: str, record: dict) -> None:
        agree = ", ".join(f"{a} {v:.2%}" for a, v in record["agreement"].items())
        warm = f" (compiled in {record['warmup_s']:.1f} s when loaded)" if record.get("warmup_s") else ""
        self.log(f"{name:<13} agreement {agree}; dev macro-F1 drop {record['dev_macro_f1_drop_points']:.2f} pt; "
                 f"{record['passages_per_s']} passages/s at batch {record['batch_size']}{warm}; "
                 f"{'offered' if record['passes'] else 'NOT offered: ' + str(record['failure'])}; "
                 + _invariance_note(record["batch_invariance"]))

    def not_available(self, names, shown: str, why: str) -> None:
        for name in names:
            self.results[name] = {"available": False, "reason": why, "passes": False, "failure": why}
        self.log(f"{shown:<13} not available: {why}")

    def bf16(self) -> None:
        """bf16 autocast, then the weights held in bf16, then those compiled: each where this CPU can run it."""
        extras = {"bf16": {"autocast": "torch.bfloat16"}, "bf16-native": {"weights": "encoder in torch.bfloat16, heads fp32"},
                  "bf16-compiled": {"weights": "encoder in torch.bfloat16, heads fp32", "compile": "torch.compile(dynamic=True)"}}
        for name in NATIVE_BF16:
            why = unavailable_reason(name, self.path)
            if why:
                self.not_available([name], name, why)
            else:
                self.report(name, self.candidate(name, extras[name]))

    def onnx(self) -> None:
        """onnx-fp32 from the fused export, then onnx-int8 from the same graph."""
        missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
        if missing:
            self.not_available(ONNX_FILES, "onnx", f"{' and '.join(missing)} not installed (pip install {' '.join(missing)})")
            return
        with tempfile.TemporaryDirectory(prefix="framing-export-") as tmp:
            raw, fused_file = Path(tmp) / "raw.onnx", self.path / ONNX_DIR / ONNX_FILES["onnx-fp32"]
            export_onnx(self.artifact.model, raw, self.config.opset)
            fused = fuse(raw, fused_file, self.artifact.model.encoder.config)
            self.report("onnx-fp32", self.candidate("onnx-fp32", {"fused_operators": fused, "opset": self.config.opset}))
            self.report("onnx-int8", _export_int8(self.path, fused_file, Path(tmp), self.calibration, self.reference, self.candidate, self.log))

    def finish(self, started: float) -> dict:
        """Record the default (the fastest backend that passes) and save the config."""
        self.backends["default"] = pick_default(self.results)
        passing = [n for n in BACKENDS if self.results.get(n, {}).get("passes") and n not in OPT_IN]
        invariant = [n for n in passing if self.results[n]["batch_invariance"]["invariant"]] or [REFERENCE]
        self.backends["serving_default"] = max(invariant, key=lambda n: self.results.get(n, {}).get("passages_per_s") or 0.0)
        self.backends["seconds"] = round(time.perf_counter() - started, 1)
        self.artifact.config["backends"] = self.backends
        write_config(self.path, self.artifact.config)
        self.log(f"default backend: {self.backends['default']} (fastest that passes); for the service: "
                 f"{self.backends['serving_default']} (fastest that passes and is batch-invariant); "
                 f"export took {self.backends['seconds']:.0f} s")
        return self.backends


def pick_default(results: dict[str, dict]) -> str:
    """The fastest backend that passed, among those that run without being named (not OPT_IN); fp32 always passes."""
    passing = [n for n in BACKENDS if results.get(n, {}).get("passes") and n not in OPT_IN]
    return max(passing, key=lambda n: results[n]["passages_per_s"], default=REFERENCE)


def export_backends(path: Path, corpus, config: ExportConfig | None = None, *, dev_split: str | None = None,
                    log=print) -> dict:
    """Export, qualify and time every backend for the artifact at `path`; returns (and saves) its "backends" record."""
    config = config or ExportConfig()
    path = Path(path)
    started = time.perf_counter()
    artifact = load_artifact(path)
    training_config = artifact.config.get("training_config", {})
    _start_clean(path, artifact)
    run = _Export(path, artifact, corpus, config, dev_split or training_config.get("dev_split", "dev"),
                  tuple(training_config.get("train_splits", ("train",))), log)
    run.report("fp32", run.candidate("fp32"))
    run.bf16()
    run.onnx()
    return run.finish(started)


def _export_int8(path: Path, fused: Path, tmp: Path, calibration: list[str], reference: Predictor, candidate, log) -> dict:
    """int8 from the fused graph: all matrix multiplies first, then keep the most sensitive ones fp32 until it qualifies."""
    out = path / ONNX_DIR / ONNX_FILES["onnx-int8"]
    nodes = quantisable_nodes(fused)
    axes = list(reference.axes)
    ranked: list[str] | None = None
    attempts = []
    for share in KEEP_FP32_STEPS:
        keep = int(round(share * len(nodes)))
        if keep and ranked is None:
            ranked = _sensitivity(fused, tmp, nodes, calibration, reference, axes)
        if attempts and keep <= attempts[-1]["kept_fp32"]:
            continue
        quantise_int8(fused, out, exclude=(ranked or [])[:keep])
        record = candidate("onnx-int8", {"quantization": "dynamic int8, per-channel weights", "kept_fp32": keep,
                                                    "kept_fp32_nodes": (ranked or [])[:keep], "quantisable_nodes": len(nodes)})
        attempts.append({k: record[k] for k in ("kept_fp32", "agreement", "dev_macro_f1_drop_points", "passages_per_s", "passes")})
        log(f"onnx-int8  {keep}/{len(nodes)} matrix multiplies kept fp32: agreement "
            + ", ".join(f"{a} {v:.2%}" for a, v in record["agreement"].items())
            + f", dev macro-F1 drop {record['dev_macro_f1_drop_points']:.2f} pt")
        if record["passes"]:
            break
    record["attempts"] = attempts
    return record


def _sensitivity(fused: Path, tmp: Path, nodes: list[str], texts: list[str], reference: Predictor, axes: list[str]) -> list[str]:
    """Nodes ranked by how far quantising only that one moves the logits (mean squared difference), most first."""
    ref, _ = reference.logits(texts, batch_size=QUALIFY_BATCH_SIZE)
    scores = {}
    for k, node in enumerate(nodes):
        one = tmp / f"one-{k}.onnx"
        quantise_int8(fused, one, only=[node])
        forward = onnx_forward(onnx_session(one, reference.num_threads), axes)
        got, _ = reference.logits(texts, batch_size=QUALIFY_BATCH_SIZE, forward=forward)
        scores[node] = sum(float(((got[a] - ref[a]) ** 2).mean()) for a in axes)
        one.unlink()
    return sorted(nodes, key=lambda n: -scores[n])
