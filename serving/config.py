"""Settings of the HTTP service, read from environment variables, and where the model comes from.

    FRAMING_MODEL               artifact folder, or BentoML model tag     (default: news-framing:latest)
    FRAMING_MAX_TEXTS           texts per /classify request               (default: 64)
    FRAMING_MAX_CHARS           characters per text                       (default: 20,000)
    FRAMING_MAX_DOCUMENT_CHARS  characters per /classify_document article (default: 200,000)
    FRAMING_MAX_BODY_BYTES      request body size; larger bodies get 413  (default: 2 MiB)
    FRAMING_MAX_CONCURRENCY     requests in flight; more get 429          (default: 32)
    FRAMING_TIMEOUT             seconds per request; slower ones get 504  (default: 60)
    FRAMING_MAX_BATCH_SIZE      texts the adaptive batcher merges into one predictor call (default: 128)
    FRAMING_BACKEND             fp32, bf16, onnx-fp32 or onnx-int8 (default: the fastest that passed `framing export`)

This module imports neither torch nor bentoml (inference.backends and serving.model_store load them only when called):
the `framing serve` wrapper reads it cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from inference.backends import BACKENDS
from serving.model_store import LATEST

DEFAULT_MODEL = LATEST
TRAIN_HINT = "train one with `framing train`"


class ConfigError(ValueError):
    """A setting out of range or of the wrong type; the message names the variable and the valid range."""


class ModelNotFoundError(RuntimeError):
    """No loadable model at the configured source; the message is one line naming `framing train`."""


# field name -> (environment variable, minimum, maximum)
_ENV = {
    "model": ("FRAMING_MODEL", None, None),
    "max_texts": ("FRAMING_MAX_TEXTS", 1, 10_000),
    "max_chars": ("FRAMING_MAX_CHARS", 1, 1_000_000),
    "max_document_chars": ("FRAMING_MAX_DOCUMENT_CHARS", 1, 10_000_000),
    "max_body_bytes": ("FRAMING_MAX_BODY_BYTES", 1024, 1 << 30),
    "max_concurrency": ("FRAMING_MAX_CONCURRENCY", 1, 10_000),
    "timeout": ("FRAMING_TIMEOUT", 0.1, 3600.0),
    "max_batch_size": ("FRAMING_MAX_BATCH_SIZE", 2, 4096),
    "backend": ("FRAMING_BACKEND", None, None),
}
_TEXT_FIELDS = ("model", "backend")


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    max_texts: int = 64
    max_chars: int = 20_000
    max_document_chars: int = 200_000
    max_body_bytes: int = 2 * 1024 * 1024
    max_concurrency: int = 32
    timeout: float = 60.0
    max_batch_size: int = 128
    backend: str = ""  # empty: the default recorded by `framing export` (fp32 if never exported)

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError("model (FRAMING_MODEL) must be an artifact folder or a BentoML model tag, got an empty value")
        if self.backend not in ("", *BACKENDS):
            raise ConfigError(f"backend (FRAMING_BACKEND) must be one of {', '.join(BACKENDS)} or empty for the exported default, "
                              f"got {self.backend!r}")
        for f in fields(self):
            if f.name in _TEXT_FIELDS:
                continue
            _, low, high = _ENV[f.name]
            value = getattr(self, f.name)
            allowed = (int, float) if f.type == "float" else (int,)
            if isinstance(value, bool) or not isinstance(value, allowed) or not low <= value <= high:
                raise ConfigError(_range_message(f.name, f.type, value))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Settings from FRAMING_* variables; unset or empty ones keep their defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(_ENV[f.name][0], "").strip()
            if not raw:
                continue
            if f.name in _TEXT_FIELDS:
                values[f.name] = raw
                continue
            try:
                values[f.name] = (float if f.type == "float" else int)(raw.replace("_", ""))
            except ValueError:
                raise ConfigError(_range_message(f.name, f.type, raw)) from None
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The FRAMING_* variables that reproduce these settings in a child process."""
        return {_ENV[f.name][0]: str(getattr(self, f.name)) for f in fields(self)}


def _range_message(name: str, type_name: str, value: object) -> str:
    var, low, high = _ENV[name]
    if type_name == "float":
        return f"{name} ({var}) must be a number of seconds from {low:g} to {high:g}, got {value!r}"
    return f"{name} ({var}) must be an integer from {low:,} to {high:,}, got {value!r}"


def _looks_like_path(source: str) -> bool:
    return os.sep in source or "/" in source or source.startswith((".", "~")) or Path(source).exists()


def locate_model(source: str) -> Path:
    """The artifact folder for `source` (a folder, or a tag in the local BentoML model store), checked loadable.

    Raises ModelNotFoundError with one line that says what is missing and names `framing train`.
    Imports torch (through inference.artifact): call it where the model is about to be loaded anyway.
    """
    from inference.artifact import ArtifactError, read_config

    if _looks_like_path(source):
        path = Path(source).expanduser()
        if not path.is_dir():
            raise ModelNotFoundError(f"no trained model: {path} does not exist; {TRAIN_HINT} --out {path}")
        if not any(path.iterdir()):
            raise ModelNotFoundError(f"no trained model: {path} is empty; {TRAIN_HINT} --out {path}")
    else:
        import bentoml
        from bentoml.exceptions import BentoMLException, NotFound

        try:
            path = Path(bentoml.models.get(source).path)
        except NotFound:
            raise ModelNotFoundError(
                f"no trained model: {source} is not in the BentoML model store; {TRAIN_HINT} "
                "(it registers the model there) or set FRAMING_MODEL to an artifact folder") from None
        except BentoMLException as e:
            raise ModelNotFoundError(f"no trained model: cannot read {source} from the BentoML model store ({e}); {TRAIN_HINT}") from None
    try:
        read_config(path)
    except ArtifactError as e:
        raise ModelNotFoundError(f"no usable model: {e}") from None
    return path
