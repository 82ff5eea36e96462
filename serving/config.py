"""Settings of the HTTP service, read from environment variables, and where the model comes from.

    FRAMING_MODEL               artifact folder, or BentoML model tag     (default: news-framing:latest)
    FRAMING_MAX_TEXTS           texts per /classify request               (default: 64)
    FRAMING_MAX_CHARS           characters per text                       (default: 20,000)
    FRAMING_MAX_DOCUMENT_CHARS  characters per /classify_document article (default: 200,000)
    FRAMING_MAX_BODY_BYTES      request body size; larger bodies get 413  (default: 2 MiB)
    FRAMING_MAX_CONCURRENCY     requests admitted at once, running or queued; more get 429 with Retry-After (default: 512)
    FRAMING_TIMEOUT             seconds per request, queueing included; slower ones get 504 (default: 60)
    FRAMING_GRACE_PERIOD        seconds a stopping server lets admitted requests finish (default: 30)
    FRAMING_MAX_BATCH_SIZE      texts the adaptive batcher merges into one predictor call (default: 128)
    FRAMING_BACKEND             fp32, bf16, bf16-native, bf16-compiled, onnx-fp32 or onnx-int8 (default: the fastest
                                that passed `framing export` and runs on this CPU; bf16-compiled only when named)

This module imports neither torch nor bentoml (inference.backends and serving.model_store load them only when called):
the `framing serve` wrapper reads it cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path

from pydantic import ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from inference.backends import BACKENDS
from serving.model_store import LATEST

DEFAULT_MODEL = LATEST
TRAIN_HINT = "train one with `framing train`"
ENV_PREFIX = "FRAMING_"
# Numeric settings: field -> (minimum, maximum); SECONDS are numbers of seconds, the others are counts.
LIMITS = {
    "max_texts": (1, 10_000),
    "max_chars": (1, 1_000_000),
    "max_document_chars": (1, 10_000_000),
    "max_body_bytes": (1024, 1 << 30),
    "max_concurrency": (1, 100_000),
    "timeout": (0.1, 3600.0),
    "grace_period": (0.0, 3600.0),
    "max_batch_size": (2, 4096),
}
SECONDS = ("timeout", "grace_period")
# Checked first, as before the numeric limits, when several settings are wrong at once.
_FIRST = ("model", "backend")


class ConfigError(ValueError):
    """A setting out of range or of the wrong type; the message names the variable and the valid range."""


class ModelNotFoundError(RuntimeError):
    """No loadable model at the configured source; the message is one line naming `framing train`."""


def env_var(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _trimmed(values: Mapping[str, object]) -> dict[str, object]:
    """Values with surrounding white space removed; blank ones left out, so they keep their defaults."""
    out = {}
    for name, value in values.items():
        value = value.strip() if isinstance(value, str) else value
        if value != "":
            out[name] = value
    return out


# The variables `Settings.from_env(environ)` reads instead of os.environ, while it builds the settings.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("framing_environ", default=None)


class _TrimmedEnv(EnvSettingsSource):
    """FRAMING_* variables as pydantic-settings reads them (from os.environ or a given mapping), trimmed."""

    def __init__(self, settings_cls, environ: Mapping[str, str] | None = None):
        super().__init__(settings_cls)
        if environ is not None:
            # Keyed as EnvSettingsSource keys os.environ when, as here, names are not case-sensitive.
            self.env_vars = {name.lower(): value for name, value in environ.items()}

    def __call__(self) -> dict:
        return _trimmed(super().__call__())


def _setting_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("framing_setting", "{message}", {"message": message})


def _range_message(name: str, value: object) -> str:
    low, high = LIMITS[name]
    if name in SECONDS:
        return f"{name} ({env_var(name)}) must be a number of seconds from {low:g} to {high:g}, got {value!r}"
    return f"{name} ({env_var(name)}) must be an integer from {low:,} to {high:,}, got {value!r}"


class Settings(BaseSettings):
    """The service's settings; each field is read from FRAMING_<FIELD> (see the module docstring)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    model: str = DEFAULT_MODEL
    max_texts: int = 64
    max_chars: int = 20_000
    max_document_chars: int = 200_000
    max_body_bytes: int = 2 * 1024 * 1024
    max_concurrency: int = 512  # holds 256 concurrent clients with room to spare
    timeout: float = 60.0
    grace_period: float = 30.0
    max_batch_size: int = 128
    backend: str = ""  # empty: the default recorded by `framing export` (fp32 if never exported)

    def __init__(self, **values) -> None:
        try:
            super().__init__(**values)
        except ValidationError as e:
            raise _config_error(e) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        return init_settings, _TrimmedEnv(settings_cls, _ENVIRON.get())

    @field_validator("model", mode="before")
    @classmethod
    def _model_named(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            raise _setting_error(f"model ({env_var('model')}) must be an artifact folder or a BentoML model tag, got an empty value")
        return value

    @field_validator("backend", mode="before")
    @classmethod
    def _known_backend(cls, value: object) -> object:
        if value not in ("", *BACKENDS):
            raise _setting_error(f"backend ({env_var('backend')}) must be one of {', '.join(BACKENDS)} or empty for the exported "
                                 f"default, got {value!r}")
        return value

    @field_validator(*LIMITS, mode="before")
    @classmethod
    def _in_range(cls, value: object, info: ValidationInfo) -> object:
        name = info.field_name
        number = float if name in SECONDS else int
        if isinstance(value, str):
            try:
                value = number(value.replace("_", ""))
            except ValueError:
                raise _setting_error(_range_message(name, value)) from None
        allowed = (int, float) if number is float else (int,)
        low, high = LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, allowed) or not low <= value <= high:
            raise _setting_error(_range_message(name, value))
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Settings from FRAMING_* variables (os.environ unless given); unset or blank ones keep their defaults."""
        token = _ENVIRON.set(environ)
        try:
            return cls()
        finally:
            _ENVIRON.reset(token)

    def replace(self, **changes) -> "Settings":
        """These settings with some fields changed, checked like any others."""
        return Settings(**{**self.model_dump(), **changes})

    def to_env(self) -> dict[str, str]:
        """The FRAMING_* variables that reproduce these settings in a child process."""
        return {env_var(name): str(value) for name, value in self.model_dump().items()}


def _config_error(error: ValidationError) -> ConfigError:
    """The first problem as one line: the model and backend first, then the limits in field order."""
    problems = sorted(error.errors(), key=lambda e: (e["loc"][:1] != (_FIRST[0],), e["loc"][:1] != (_FIRST[1],)))
    first = problems[0]
    return ConfigError(first["msg"] if first["type"] == "framing_setting" else f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


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


def model_reference(source: str):
    """A BentoML model reference for a model-store tag (so `bentoml build` packs the model), or None for a folder.

    Raises ModelNotFoundError (one line naming `framing train`) if the tag is not in the local store: BentoML
    would otherwise look for it on BentoCloud and fail with a message about a cloud context.
    """
    if _looks_like_path(source):
        return None
    import bentoml
    from bentoml.exceptions import BentoMLException, NotFound

    try:
        reference = bentoml.models.BentoModel(source)
    except (ValueError, BentoMLException) as e:
        raise ModelNotFoundError(f"{env_var('model')}={source!r} is neither an artifact folder nor a valid BentoML model tag "
                                 f"(name:version, e.g. news-framing:latest): {e}") from None
    try:
        bentoml.models.get(reference.tag)
    except NotFound:
        raise ModelNotFoundError(f"no trained model: {source} is not in the BentoML model store; {TRAIN_HINT} "
                                 "(it registers the model there) or set FRAMING_MODEL to an artifact folder") from None
    return reference
