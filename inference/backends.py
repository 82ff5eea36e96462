"""Inference backends behind the one Predictor: each only turns (input_ids, attention_mask) into per-axis logits.

    fp32           PyTorch, full precision: the reference every other backend is measured against
    bf16           PyTorch autocast to bfloat16, offered only on CPUs with native bf16 matrix units
    bf16-native    the encoder's weights held in bfloat16, heads in fp32 (inference/bf16.py); native bf16 only
    bf16-compiled  bf16-native through torch.compile(dynamic=True); compiled once when it is loaded, and
                   never the automatic default (its warm-up would be paid by every short command): name it
    onnx-fp32      ONNX Runtime on the graph-optimised (fused) export
    onnx-int8      ONNX Runtime on the same graph with dynamic per-channel int8 weights; the matrix multiplies
                   most sensitive to int8 stay fp32 where that is what keeps agreement

`framing export` (inference/export.py) writes the ONNX files into the artifact's onnx/ folder and records,
per backend, its label agreement with fp32, its dev macro-F1, its speed, its measured batch size and the
CPU flags that chose its kernels, in framing_config.json under "backends". Only backends that pass the bar
there are offered; one qualified on CPU flags this CPU lacks is not used here (the default falls back).

Tokenisation, batching and decoding stay in inference/predictor.py. This module imports torch and
onnxruntime only inside functions, so serving/config.py can read BACKENDS without loading either.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BACKENDS = ("fp32", "bf16", "bf16-native", "bf16-compiled", "onnx-fp32", "onnx-int8")
REFERENCE = "fp32"
NATIVE_BF16 = ("bf16", "bf16-native", "bf16-compiled")
# Offered when qualified, but run only when named: compiling takes half a minute on MiniLM.
OPT_IN = ("bf16-compiled",)
ONNX_DIR = "onnx"
ONNX_FILES = {"onnx-fp32": "model.fp32.onnx", "onnx-int8": "model.int8.onnx"}
INPUT_NAMES = ("input_ids", "attention_mask")
# The bar a backend must clear against fp32 to be offered (issue 7).
MIN_AGREEMENT = 0.99
MAX_MACRO_F1_DROP_POINTS = 1.0
# Held-in-bf16 backends clear the stricter bar issue 15 set for them; the others keep issue 7's, so
# nothing changes on CPUs without bf16 units (an int8 export there keeps the same fp32 islands).
STRICT_BAR = {"min_agreement": 0.995, "max_dev_macro_f1_drop_points": 0.5}
BARS = {"bf16-native": STRICT_BAR, "bf16-compiled": STRICT_BAR}
# CPU flags that choose a backend's matrix kernels where they change its numbers: bf16 dot products,
# int8 dot products (AVX2 without VNNI can saturate). fp32 results do not depend on them.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
KERNEL_FLAGS = {"fp32": (), "onnx-fp32": (), "onnx-int8": ("avx2", "avx_vnni", "avx512_vnni", "amx_int8"),
                **{name: BF16_FLAGS for name in NATIVE_BF16}}

Forward = Callable[["object", "object"], dict[str, np.ndarray]]


class BackendError(ValueError):
    """A backend that does not exist, did not qualify or cannot run here; the message lists the valid choices."""


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def onnx_file(path: Path | None, name: str) -> Path | None:
    return Path(path) / ONNX_DIR / ONNX_FILES[name] if path is not None and name in ONNX_FILES else None


def unavailable_reason(name: str, path: Path | None) -> str | None:
    """Why `name` cannot run on this machine for the artifact at `path`, or None if it can."""
    if name in NATIVE_BF16 and not native_bf16():
        return f"this CPU has no native bf16 matrix multiply (AVX512-BF16/AMX), so {name} would be slower than fp32"
    if name == "bf16-compiled":
        from inference.bf16 import compiler_missing

        return compiler_missing()
    if name in ONNX_FILES:
        if importlib.util.find_spec("onnxruntime") is None:
            return "onnxruntime is not installed (pip install onnxruntime)"
        file = onnx_file(path, name)
        if file is None:
            return "the model was not loaded from an artifact folder, so it has no ONNX export"
        if not file.exists():
            return f"{file} does not exist; run `framing export --model {path}`"
    return None


def bar(name: str) -> dict[str, float]:
    """The agreement and dev macro-F1 bar backend `name` must clear against fp32."""
    return BARS.get(name, {"min_agreement": MIN_AGREEMENT, "max_dev_macro_f1_drop_points": MAX_MACRO_F1_DROP_POINTS})


def qualification_failure(record: dict, name: str | None = None) -> str | None:
    """Why a backend's export record does not clear its bar (`bar(name)`), or None if it does."""
    if not record.get("available", False):
        return record.get("reason", "it was not available when the artifact was exported")
    need = bar(name or "")
    agreement = record.get("agreement", {})
    low = {a: v for a, v in agreement.items() if v < need["min_agreement"]}
    if not agreement or low:
        shown = ", ".join(f"{a} {v:.2%}" for a, v in low.items()) or "not measured"
        return f"label agreement with fp32 below {100 * need['min_agreement']:g}% ({shown})"
    drop = record.get("dev_macro_f1_drop_points")
    if drop is None or drop > need["max_dev_macro_f1_drop_points"]:
        return f"dev macro-F1 drop {drop} points exceeds {need['max_dev_macro_f1_drop_points']:g}"
    return None


def qualified_flags(name: str) -> list[str]:
    """The flags in KERNEL_FLAGS[name] this CPU has: what export records as the CPU `name` was qualified on."""
    from inference import machine

    flags = machine.cpu_flags() or frozenset()
    return [f for f in KERNEL_FLAGS.get(name, ()) if f in flags]


def flags_missing(config: dict, name: str) -> str | None:
    """Why `name` was not qualified for this CPU (recorded flags it lacks), or None.

    Records written before flags were recorded, and CPUs whose flags cannot be read, are not refused:
    there is nothing to compare, and the bf16 backends are still guarded by native_bf16().
    """
    from inference import machine

    wanted = _records(config).get(name, {}).get("cpu_flags")
    flags = machine.cpu_flags()
    if not wanted or flags is None:
        return None
    missing = [f for f in wanted if f not in flags]
    if not missing:
        return None
    return (f"{name} was qualified on a CPU with {', '.join(missing)}, which this CPU lacks; "
            f"run `framing export` on this machine to qualify it here")


def _records(config: dict) -> dict[str, dict]:
    return config.get("backends", {}).get("results", {})


def offered(config: dict) -> dict[str, str | None]:
    """Every backend name -> None if the artifact offers it, else why not (fp32 is always offered)."""
    records = _records(config)
    out: dict[str, str | None] = {}
    for name in BACKENDS:
        if name == REFERENCE:
            out[name] = None
        elif name not in records:
            out[name] = "not exported; run `framing export`"
        else:
            out[name] = qualification_failure(records[name], name)
    return out


def usable_reason(config: dict, path: Path | None, name: str, *, batch_invariant: bool = False) -> str | None:
    """Why this artifact cannot use `name` here (not offered, cannot run, other CPU flags, batch-dependent), or None."""
    why = offered(config)[name] or unavailable_reason(name, path) or flags_missing(config, name)
    if why is None and batch_invariant:
        why = batch_variance(config, name)
    return why


def choices(config: dict, path: Path | None, *, batch_invariant: bool = False) -> list[str]:
    """Backends this artifact offers and this machine can run as qualified (batch-invariant ones only if asked), fastest first."""
    records = _records(config)
    names = [n for n in BACKENDS if usable_reason(config, path, n, batch_invariant=batch_invariant) is None]
    return sorted(names, key=lambda n: -float(records.get(n, {}).get("passages_per_s") or 0.0))


def batch_variance(config: dict, name: str) -> str | None:
    """Why `name` may give a passage other outputs with other batch-mates, or None if export measured it invariant.

    fp32 without a measurement (never exported, or exported before it was measured) counts as invariant:
    it is the reference, and padding moves its outputs by rounding only.
    """
    from inference.invariance import MAX_PROB_DIFF

    measured = _records(config).get(name, {}).get("batch_invariance")
    if measured is None:
        return None if name == REFERENCE else "its batch invariance was not measured; run `framing export` again"
    if measured["invariant"]:
        return None
    return (f"it is not batch-invariant: a passage's probabilities moved by up to {measured['max_prob_diff']:.2g} with other "
            f"passages in its batch ({measured['label_flips']} label changes; the bar is {MAX_PROB_DIFF:g} and none)")


@dataclass(frozen=True)
class Choice:
    """The backend to run and, when it is not the one export recorded as default, why not."""

    name: str
    fallback_reason: str | None = None


def choose_backend(config: dict, path: Path | None, requested: str | None = None, *, require_qualified: bool = True,
                   batch_invariant: bool = False) -> Choice:
    """The backend to run: `requested`, or the recorded default, or (if that cannot be used here) the next fastest.

    `batch_invariant` (the service, which batches callers together): only backends whose output for a passage
    does not depend on its batch-mates. A named backend that cannot be used raises BackendError naming it and
    listing the valid choices; the default falls back instead, and `fallback_reason` says why, for the one log
    line the caller writes.
    """
    if requested is None or requested == "":
        return _default_backend(config, path, batch_invariant)
    if not isinstance(requested, str):
        raise BackendError(f"backend must be a string, one of {', '.join(BACKENDS)}; got {type(requested).__name__}")
    if requested not in BACKENDS:
        raise BackendError(f"backend must be one of {', '.join(BACKENDS)}; got {requested!r}")
    why = unavailable_reason(requested, path)
    if why is None and require_qualified:
        why = offered(config)[requested] or flags_missing(config, requested)
    if why is None and batch_invariant:
        why = batch_variance(config, requested)
        if why is not None:
            why += ", and the service merges callers' passages into shared batches"
    if why is not None:
        valid = (choices(config, path, batch_invariant=batch_invariant) if require_qualified
                 else [n for n in BACKENDS if unavailable_reason(n, path) is None])
        raise BackendError(f"backend {requested!r} is not available for this model: {why}; choose one of {', '.join(valid)}")
    return Choice(requested)


def _default_backend(config: dict, path: Path | None, batch_invariant: bool = False) -> Choice:
    recorded = config.get("backends", {}).get("serving_default" if batch_invariant else "default")
    valid = [n for n in choices(config, path, batch_invariant=batch_invariant) if n not in OPT_IN]
    if recorded is None or recorded in valid:
        return Choice(recorded or REFERENCE)
    # The recorded default was measured on another machine (e.g. one with bf16 units or other int8 kernels).
    fallback = valid[0] if valid else REFERENCE
    if recorded not in BACKENDS:
        why = f"{recorded!r} is not a backend this code knows"
    else:
        why = usable_reason(config, path, recorded, batch_invariant=batch_invariant) or f"{recorded} runs only when named"
    return Choice(fallback, f"default backend {recorded} not used: {why}; using {fallback}, the next fastest qualified backend")


def resolve_backend(config: dict, path: Path | None, requested: str | None = None, *, require_qualified: bool = True,
                    batch_invariant: bool = False) -> str:
    """The name `choose_backend` picks (for callers that only check, without logging a fallback)."""
    return choose_backend(config, path, requested, require_qualified=require_qualified, batch_invariant=batch_invariant).name


def sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def torch_forward(model, *, bf16: bool = False) -> Forward:
    """The PyTorch model as a Forward; bf16 runs it under CPU autocast (weights stay fp32, matmuls in bf16)."""
    import torch

    model.eval()

    @torch.inference_mode()
    def forward(input_ids, attention_mask) -> dict[str, np.ndarray]:
        input_ids, attention_mask = torch.as_tensor(input_ids), torch.as_tensor(attention_mask)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(input_ids=input_ids, attention_mask=attention_mask)
        return {a: z.float().numpy() for a, z in out.items()}

    return forward


def onnx_session(file: Path, num_threads: int):
    """An ONNX Runtime CPU session with threads set explicitly and full graph optimisation."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = num_threads
    # One request at a time per session: parallelism inside each operator, not across operators.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def onnx_forward(session, axes: list[str]) -> Forward:
    """An ONNX Runtime session as a Forward; outputs are fetched by axis name, so their order cannot mix heads."""
    outputs = list(axes)

    def forward(input_ids, attention_mask) -> dict[str, np.ndarray]:
        feeds = {"input_ids": np.asarray(input_ids, dtype=np.int64), "attention_mask": np.asarray(attention_mask, dtype=np.int64)}
        return {a: np.asarray(z, dtype=np.float32) for a, z in zip(outputs, session.run(outputs, feeds))}

    return forward


def open_backend(name: str, artifact, num_threads: int) -> Forward:
    """The Forward for backend `name` on `artifact`; an ONNX file that is not the exported one is refused."""
    from inference.artifact import ArtifactError

    if name == "fp32":
        return torch_forward(artifact.model)
    if name == "bf16":
        return torch_forward(artifact.model, bf16=True)
    if name in ("bf16-native", "bf16-compiled"):
        from inference import bf16

        model = artifact.model.eval()
        return bf16.native_forward(model) if name == "bf16-native" else bf16.compiled_forward(model, artifact.tokenizer.pad_token_id or 0)
    file = onnx_file(artifact.path, name)
    record = _records(artifact.config).get(name, {})
    if not record.get("sha256"):
        raise ArtifactError(f"framing_config.json records no sha256 for {file}; run `framing export --model {artifact.path}` again")
    if sha256(file) != record["sha256"]:
        raise ArtifactError(f"{file} is not the file `framing export` wrote (its sha256 differs from framing_config.json); "
                            f"refusing to load it; run `framing export --model {artifact.path}` again")
    session = onnx_session(file, num_threads)
    axes = list(artifact.model.axes)
    names_in = sorted(i.name for i in session.get_inputs())
    names_out = sorted(o.name for o in session.get_outputs())
    if names_in != sorted(INPUT_NAMES) or names_out != sorted(axes):
        raise ArtifactError(f"{file} has inputs {names_in} and outputs {names_out}; expected {sorted(INPUT_NAMES)} and {sorted(axes)}; "
                            f"run `framing export --model {artifact.path}` again")
    return onnx_forward(session, axes)


def default_threads() -> int:
    """CPUs this process may run on (cgroup/affinity aware where the OS says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
