"""`framing bench`: inference speed of every backend beside the transformers pipeline and the CPU's own limit.

In one process, on the same corpus passages, tokenisation included:
- the transformers `pipeline("text-classification")` on the same encoder (an AutoModelForSequenceClassification
  holding the artifact's encoder weights and one head, so a forward pass costs the same);
- each backend through the Predictor, at batch 1 (p50/p95 latency) and at the batch size that measures fastest;
- the machine's fp32, bf16 and int8 matrix-multiply rates, which turn into a ceiling in passages/s.
Each figure is also given as a ratio to the pipeline and as a fraction of the ceiling of its precision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from inference.artifact import load_artifact
from inference.backends import BACKENDS, REFERENCE, default_threads, offered, unavailable_reason
from inference.machine import machine_info
from inference.predictor import Predictor, token_budget, token_lengths
from labels.corpus import LABELS_DIR, read_jsonl

# The matrix unit each backend's heavy work runs on, to compare it with the right ceiling.
PRECISION = {"fp32": "fp32", "bf16": "bf16", "bf16-native": "bf16", "bf16-compiled": "bf16", "onnx-fp32": "fp32", "onnx-int8": "int8"}
# An FFN-shaped product (tokens x hidden x intermediate of MiniLM) and a square one; the faster sets the ceiling.
MATMUL_SHAPES = ((1024, 384, 1536), (1024, 1024, 1024))


@dataclass
class BenchConfig:
    """What `framing bench` runs; passages 0 means every corpus passage."""

    passages: int = 0
    latency_passages: int = 200
    search_passages: int = 128
    search_rounds: int = 3  # each batch size timed this many times, interleaved; its best counts
    batch_sizes: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    num_threads: int = 0  # 0: every CPU this process may use
    backends: tuple[str, ...] = ()  # empty: every backend that runs here
    pipeline: bool = True
    matmul_seconds: float = 0.5
    matmul_shapes: tuple[tuple[int, int, int], ...] = MATMUL_SHAPES

    def __post_init__(self):
        for name in ("passages", "num_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be 0 (all) or a positive integer, got {value!r}")
        for name in ("latency_passages", "search_passages", "search_rounds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        unknown = [b for b in self.backends if b not in BACKENDS]
        if unknown:
            raise ValueError(f"backends must be among {', '.join(BACKENDS)}; got {', '.join(unknown)}")
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise ValueError(f"batch_sizes must be positive integers, got {self.batch_sizes}")
        if not 0 < self.matmul_seconds <= 60:
            raise ValueError(f"matmul_seconds must be in (0, 60], got {self.matmul_seconds}")
        self.num_threads = self.num_threads or default_threads()


def passage_flops(n_tokens: int, encoder_config) -> float:
    """Multiply-add FLOPs of one encoder pass over n tokens: projections, FFN and attention (embeddings, heads negligible)."""
    h, i, layers = encoder_config.hidden_size, encoder_config.intermediate_size, encoder_config.num_hidden_layers
    return float(layers * (8 * n_tokens * h * h + 4 * n_tokens * h * i + 4 * n_tokens * n_tokens * h))


def _timed(run, seconds: float) -> float:
    """Seconds per call of `run`, repeated for about `seconds` after one warm-up call."""
    run()
    calls, start = 0, time.perf_counter()
    while True:
        run()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / calls


def matmul_rates(threads: int, seconds: float = 0.5, shapes=MATMUL_SHAPES) -> dict:
    """GFLOP/s of this CPU's fp32 and bf16 (PyTorch) and int8 (ONNX Runtime MatMulInteger) matrix multiplies."""
    import torch

    torch.set_num_threads(threads)
    rates: dict[str, dict] = {"fp32": {}, "bf16": {}, "int8": {}}
    for m, k, n in shapes:
        shape = f"{m}x{k}x{n}"
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
            with torch.inference_mode():
                rates[name][shape] = round(2 * m * k * n / _timed(lambda: torch.mm(a, b), seconds) / 1e9, 1)
        try:
            rates["int8"][shape] = round(2 * m * k * n / _int8_seconds(m, k, n, threads, seconds) / 1e9, 1)
        except ImportError:
            rates["int8"][shape] = None
    return {p: {"by_shape": r, "gflops": max((v for v in r.values() if v), default=None)} for p, r in rates.items()}


def _int8_seconds(m: int, k: int, n: int, threads: int, seconds: float) -> float:
    """uint8 activations x int8 weights, the kernel ONNX Runtime's dynamic int8 uses."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.integers(-127, 127, size=(k, n), dtype=np.int8), "B")
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "int8_matmul",
                              [helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])],
                              [helper.make_tensor_value_info("Y", TensorProto.INT32, [m, n])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    a = rng.integers(0, 255, size=(m, k), dtype=np.uint8)
    return _timed(lambda: session.run(None, {"A": a}), seconds)


def pipeline_model(artifact):
    """AutoModelForSequenceClassification with the artifact's encoder weights and its first head (same cost per pass)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    axis, labels = next(iter(artifact.model.axes.items()))
    enc = dict(artifact.config["encoder_config"])
    config = AutoConfig.for_model(enc.pop("model_type"), **{**enc, "num_labels": len(labels),
                                                            "id2label": dict(enumerate(labels)), "label2id": {l: i for i, l in enumerate(labels)}})
    model = AutoModelForSequenceClassification.from_config(config)
    encoder_state = {k[len("encoder."):]: v for k, v in artifact.model.state_dict().items() if k.startswith("encoder.")}
    missing, unexpected = model.base_model.load_state_dict(encoder_state, strict=False)
    if [k for k in missing if not k.endswith("position_ids")] or unexpected:
        raise ValueError(f"pipeline model does not take the encoder's weights: missing {missing[:3]}, unexpected {unexpected[:3]}")
    head = artifact.model.heads[axis]
    classifier = model.classifier
    classifier.weight.data.copy_(head.weight.data)
    classifier.bias.data.copy_(head.bias.data)
    return model.eval()


def latency(run_one, texts: list[str]) -> dict:
    """p50/p95 milliseconds and passages/s of `run_one` called on one text at a time."""
    times = []
    for text in texts:
        t0 = time.perf_counter()
        run_one(text)
        times.append(time.perf_counter() - t0)
    ms = 1000 * np.array(times)
    return {"n": len(texts), "p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "passages_per_s": round(len(texts) / float(np.sum(times)), 1)}


def bench_pipeline(artifact, texts: list[str], latency_texts: list[str]) -> dict:
    """The transformers pipeline as people usually call it: a list of texts, default batching, truncation on."""
    from transformers import pipeline

    pipe = pipeline("text-classification", model=pipeline_model(artifact), tokenizer=artifact.tokenizer, device="cpu")
    kwargs = {"truncation": True, "max_length": int(artifact.config["max_length"])}
    pipe(texts[:4], **kwargs)  # warm-up
    result = {"batch1": latency(lambda t: pipe([t], **kwargs), latency_texts)}
    start = time.perf_counter()
    pipe(texts, **kwargs)
    result["passages_per_s"] = round(len(texts) / (time.perf_counter() - start), 1)
    result["batch_size"] = pipe._batch_size or 1
    return result


def pick_batch_size(seconds_at, batch_sizes: tuple[int, ...], rounds: int, n_texts: int) -> tuple[int, dict[int, float]]:
    """The batch size with the best passages/s, each size's best over `rounds` interleaved timings.

    Interleaving and keeping each size's best means one slow moment on a shared machine slows one
    timing of one size, not a whole size's result, so it cannot pick the batch size.
    """
    rates = dict.fromkeys(batch_sizes, 0.0)
    for _ in range(rounds):
        for b in batch_sizes:
            rates[b] = max(rates[b], n_texts / seconds_at(b))
    return max(rates, key=rates.get), rates


def search_batch_size(predictor, texts: list[str], batch_sizes: tuple[int, ...], rounds: int) -> dict:
    """The one batch-size search (bench and export): `predictor.predict` on `texts` at each size, best of `rounds`.

    Returns the fastest batch size, the token budget that goes with it and passages/s at every size.
    """
    predictor.predict(texts[: max(batch_sizes)], batch_size=max(batch_sizes))  # warm-up: first calls allocate and pick kernels

    def seconds_at(b: int) -> float:
        start = time.perf_counter()
        predictor.predict(texts, batch_size=b)
        return time.perf_counter() - start

    best, rates = pick_batch_size(seconds_at, tuple(batch_sizes), rounds, len(texts))
    return {"batch_size": best, "max_batch_tokens": token_budget(best, predictor.token_lengths(texts)),
            "passages_per_s_at_best": round(rates[best], 1),
            "passages_per_s_by_batch_size": {str(b): round(r, 1) for b, r in rates.items()}}


def bench_backend(path: Path, name: str, texts: list[str], latency_texts: list[str], search_texts: list[str],
                  config: BenchConfig) -> tuple[dict, dict[str, np.ndarray]]:
    """Batch-1 latency, the fastest batch size on a sample, then every passage at that size; and the labels."""
    t0 = time.perf_counter()
    predictor = Predictor.from_artifact(path, backend=name, num_threads=config.num_threads, require_qualified=False)
    load_s = time.perf_counter() - t0
    predictor.predict(latency_texts[:4], batch_size=1)  # warm-up
    # load_s includes warmup_s: what a process starting this backend waits before its first answer.
    result = {"load_s": round(load_s, 2), "warmup_s": round(predictor.warmup_s, 3),
              "batch1": latency(lambda t: predictor.predict([t], batch_size=1), latency_texts)}
    search = search_batch_size(predictor, search_texts, config.batch_sizes, config.search_rounds)
    start = time.perf_counter()
    probabilities = predictor.probabilities(texts, batch_size=search["batch_size"], max_batch_tokens=search["max_batch_tokens"])
    result.update(batch_size=search["batch_size"], max_batch_tokens=search["max_batch_tokens"],
                  passages_per_s_by_batch_size=search["passages_per_s_by_batch_size"],
                  passages_per_s=round(len(texts) / (time.perf_counter() - start), 1))
    return result, {a: p.argmax(1) for a, p in probabilities.items()}


def corpus_texts(root: Path, n: int) -> list[str]:
    """Corpus passage texts; n > 0 takes a fixed random sample of n (the same one every run)."""
    texts = [rec["text"] for _, rec in read_jsonl(Path(root) / "corpus" / "passages.jsonl")]
    if not texts:
        raise ValueError(f"no passages in {root}/corpus/passages.jsonl; run `framing corpus build`")
    if 0 < n < len(texts):
        texts = [texts[i] for i in sorted(np.random.default_rng(0).choice(len(texts), size=n, replace=False))]
    return texts


def _backends_to_run(path: Path, config: BenchConfig) -> list[str]:
    """The backends asked for (default: every one that runs here), fp32 first: agreement is measured against it."""
    names = list(config.backends) or [n for n in BACKENDS if unavailable_reason(n, path) is None]
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    return sorted(names, key=lambda n: n != REFERENCE)


def _bench_backends(path: Path, result: dict, texts: list[str], config: BenchConfig, log) -> dict[str, dict]:
    """Each backend's record: speed, share of the ceilings, ratio to the pipeline, agreement with fp32."""
    why_not = offered(load_artifact(path).config)
    ceiling, best = result["ceiling_passages_per_s"], result["machine_ceiling_passages_per_s"]
    latency_texts, search_texts = texts[: config.latency_passages], texts[: config.search_passages]
    reference_labels, records = None, {}
    for name in _backends_to_run(path, config):
        why = unavailable_reason(name, path)
        if why:
            records[name] = {"available": False, "reason": why}
            log(f"{name}: not run: {why}")
            continue
        log(f"{name} ...")
        record, labels = bench_backend(path, name, texts, latency_texts, search_texts, config)
        if reference_labels is None:
            reference_labels = labels
        record.update(offered=why_not[name] is None, not_offered_because=why_not[name],
                      agreement={a: round(float((labels[a] == reference_labels[a]).mean()), 4) for a in labels},
                      fraction_of_ceiling=_fraction(record["passages_per_s"], ceiling[PRECISION[name]]),
                      fraction_of_machine_ceiling=_fraction(record["passages_per_s"], best),
                      precision=PRECISION[name])
        if "pipeline" in result:
            record["x_pipeline"] = round(record["passages_per_s"] / result["pipeline"]["passages_per_s"], 2)
            record["batch1"]["x_pipeline"] = round(record["batch1"]["passages_per_s"] / result["pipeline"]["batch1"]["passages_per_s"], 2)
        records[name] = record
    return records


def _machine_and_ceilings(artifact, path: Path, texts: list[str], config: BenchConfig, log) -> dict:
    """The passages' cost in FLOPs, the CPU's matrix-multiply rates and the ceilings in passages/s they give."""
    tokens = token_lengths(artifact.tokenizer, texts, int(artifact.config["max_length"]))
    encoder_config = artifact.model.encoder.config
    gflop = float(np.mean([passage_flops(n, encoder_config) for n in tokens])) / 1e9
    log(f"{len(texts)} passages, mean {np.mean(tokens):.0f} tokens, {gflop:.2f} GFLOP each; {config.num_threads} threads")
    matmul = matmul_rates(config.num_threads, config.matmul_seconds, config.matmul_shapes)
    ceiling = {p: (round(r["gflops"] / gflop, 1) if r["gflops"] else None) for p, r in matmul.items()}
    log("matmul GFLOP/s: " + ", ".join(f"{p} {r['gflops']}" for p, r in matmul.items()))
    return {
        "model_version": artifact.version, "model": str(path), "backend_default": artifact.config.get("backends", {}).get("default", REFERENCE),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(),
        "threads": config.num_threads, "passages": len(texts), "mean_tokens": round(float(np.mean(tokens)), 1),
        "gflop_per_passage": round(gflop, 3), "matmul_gflops": matmul, "ceiling_passages_per_s": ceiling,
        # The machine's ceiling: its fastest precision, whether or not a backend uses it well.
        "machine_ceiling_passages_per_s": max((v for v in ceiling.values() if v), default=None),
        "config": {k: v for k, v in vars(config).items()},
    }


def run_bench(path: Path, config: BenchConfig | None = None, *, root: Path = LABELS_DIR, log=print) -> dict:
    """Every measurement, as one JSON-ready dict."""
    import torch

    config = config or BenchConfig()
    path = Path(path)
    started = time.perf_counter()
    torch.set_num_threads(config.num_threads)
    artifact = load_artifact(path)
    texts = corpus_texts(root, config.passages)
    result = _machine_and_ceilings(artifact, path, texts, config, log)
    if config.pipeline:
        log("transformers pipeline ...")
        pipe = result["pipeline"] = bench_pipeline(artifact, texts, texts[: config.latency_passages])
        pipe.update(fraction_of_ceiling=_fraction(pipe["passages_per_s"], result["ceiling_passages_per_s"]["fp32"]),
                    fraction_of_machine_ceiling=_fraction(pipe["passages_per_s"], result["machine_ceiling_passages_per_s"]))
    del artifact  # each backend loads its own Predictor, as a user's process would
    result["backends"] = _bench_backends(path, result, texts, config, log)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _fraction(rate: float, ceiling: float | None) -> float | None:
    return round(rate / ceiling, 3) if ceiling else None


def format_bench(r: dict) -> str:
    """The benchmark as a table for the terminal (and the README)."""
    m = r["machine"]
    lines = [f"model {r['model_version']} on {m.get('cpu')} ({r['threads']} threads; flags: {', '.join(m.get('cpu_flags', [])) or 'none'})",
             f"{r['passages']} corpus passages, mean {r['mean_tokens']} tokens, {r['gflop_per_passage']} GFLOP each",
             "matmul GFLOP/s: " + ", ".join(f"{p} {v['gflops']}" for p, v in r["matmul_gflops"].items())
             + " -> ceiling passages/s: " + ", ".join(f"{p} {v}" for p, v in r["ceiling_passages_per_s"].items()),
             "",
             "b1: one passage per call (p50/p95 latency, passages/s); batch: the fastest batch size, all passages;",
             "of own: share of the ceiling of the backend's precision; of best: share of the machine's fastest precision",
             f"{'':<14}{'p50 ms':>8}{'p95 ms':>8}{'b1 /s':>8}{'batch':>7}{'/s':>8}{'x pipe':>8}{'of own':>8}{'of best':>8}  agreement with fp32",
             ]

    def pct(x):
        return f"{100 * x:.0f}%" if x is not None else "-"

    p = r.get("pipeline")
    if p:
        b1 = p["batch1"]
        lines.append(f"{'pipeline':<14}{b1['p50_ms']:>8}{b1['p95_ms']:>8}{b1['passages_per_s']:>8}{p['batch_size']:>7}"
                     f"{p['passages_per_s']:>8}{'1.00':>8}{pct(p['fraction_of_ceiling']):>8}{pct(p['fraction_of_machine_ceiling']):>8}  -")
    for name, b in r["backends"].items():
        if not b.get("available", True):
            lines.append(f"{name:<14}not run: {b['reason']}")
            continue
        b1 = b["batch1"]
        agree = ", ".join(f"{a} {v:.2%}" for a, v in b["agreement"].items())
        lines.append(f"{name:<14}{b1['p50_ms']:>8}{b1['p95_ms']:>8}{b1['passages_per_s']:>8}{b['batch_size']:>7}{b['passages_per_s']:>8}"
                     f"{b.get('x_pipeline', '-'):>8}{pct(b['fraction_of_ceiling']):>8}{pct(b['fraction_of_machine_ceiling']):>8}  {agree}"
                     + ("" if b["offered"] else f"  (not offered: {b['not_offered_because']})"))
    for name, b in r["backends"].items():
        if b.get("warmup_s"):
            lines.append(f"{name}: compiled in {b['warmup_s']:.1f} s when loaded (once per process; {b['load_s']:.1f} s to load in all)")
    lines.append(f"default backend recorded by `framing export`: {r['backend_default']}; bench took {r['seconds']:.0f} s")
    return "\n".join(lines)
