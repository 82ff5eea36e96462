"""The trained artifact: one folder holding weights (safetensors only), tokenizer and its own config.

    model.safetensors      encoder + heads
    framing_config.json    schema version, label lists, temperatures, base model, max length,
                           training config, corpus fingerprint, metrics, library versions
    tokenizer files        as saved by the tokenizer
    onnx/                  optional ONNX exports written by `framing export` (inference/export.py)
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoTokenizer, PreTrainedTokenizerBase

from inference.model import FramingModel
from labels.schema import load_schema

WEIGHTS = "model.safetensors"
CONFIG = "framing_config.json"
FORMAT_VERSION = 1
_PICKLE_NAMES = ("pytorch_model.bin", "model.bin", "model.pt", "model.pth", "model.pkl", "model.ckpt")


class ArtifactError(ValueError):
    """An artifact folder that cannot be loaded; the message says what to do."""


@dataclass
class Artifact:
    model: FramingModel
    tokenizer: PreTrainedTokenizerBase
    config: dict
    path: Path | None = None  # the folder it was loaded from; backends find their exported files there

    @property
    def version(self) -> str:
        return self.config["model_version"]


def library_versions() -> dict[str, str]:
    import sklearn
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "scikit-learn": sklearn.__version__}


def save_artifact(path: Path, model: FramingModel, tokenizer: PreTrainedTokenizerBase, config: dict) -> Path:
    """Write the folder atomically: build it beside the target, then swap it in."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS), metadata={"format": "pt"})
    tokenizer.save_pretrained(str(tmp))
    full = {
        "format_version": FORMAT_VERSION,
        "schema_version": load_schema().version,
        "axes": model.axes,
        "encoder_config": model.encoder.config.to_dict(),
        **config,
    }
    (tmp / CONFIG).write_text(json.dumps(full, indent=1, sort_keys=True), encoding="utf-8")
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path


def write_config(path: Path, config: dict) -> None:
    """Replace the folder's framing_config.json atomically (used by `framing export`)."""
    tmp = Path(path) / (CONFIG + ".tmp")
    tmp.write_text(json.dumps(config, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(Path(path) / CONFIG)


def read_config(path: Path) -> dict:
    """The artifact's config, after checking the folder is a loadable, compatible artifact."""
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"model folder {path} does not exist; train one with `framing train --out {path}`")
    if not (path / WEIGHTS).exists():
        pickles = [n for n in _PICKLE_NAMES if (path / n).exists()]
        hint = f" (found {', '.join(pickles)}: pickle checkpoints are never loaded, they can run code)" if pickles else ""
        raise ArtifactError(f"{path} has no {WEIGHTS}{hint}; only safetensors artifacts written by `framing train` load")
    if not (path / CONFIG).exists():
        raise ArtifactError(f"{path} has no {CONFIG}; it was not written by `framing train`")
    config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    schema = load_schema()
    if config.get("schema_version") != schema.version:
        raise ArtifactError(
            f"{path} was trained on label schema {config.get('schema_version')!r} but this code uses "
            f"{schema.version!r}; retrain with `framing train` (labels may have changed meaning)"
        )
    expected = {a.name: list(a.labels) for a in schema.axes}
    if config.get("axes") != expected:
        raise ArtifactError(f"{path} has label lists {config.get('axes')} but the schema says {expected}; retrain with `framing train`")
    return config


def load_artifact(path: Path) -> Artifact:
    """Load model, tokenizer and config from the folder alone, weights from safetensors only."""
    path = Path(path)
    config = read_config(path)
    enc = dict(config["encoder_config"])
    encoder_config = AutoConfig.for_model(enc.pop("model_type"), **enc)
    # JSON key order is not kept (sort_keys), so take axis order from the schema, which read_config matched.
    axes = {a.name: list(a.labels) for a in load_schema().axes}
    model = FramingModel.from_encoder_config(encoder_config, axes)
    state = load_file(str(path / WEIGHTS))
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Position-id buffers are rebuilt by the encoder; any real weight missing is an error.
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ArtifactError(f"{path / WEIGHTS} does not match its config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    return Artifact(model, tokenizer, config, path)


def folder_sha256(path: Path) -> str:
    """One sha256 over every file of a folder (relative names and contents): the artifact as shipped to other machines."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        content = hashlib.sha256()
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                content.update(block)
        digest.update(f"{file.relative_to(path).as_posix()}\0{content.hexdigest()}\n".encode())
    return digest.hexdigest()
