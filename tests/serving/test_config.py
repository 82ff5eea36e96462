"""Service settings: FRAMING_* variables, their defaults, and one-line messages naming the variable and range."""

import pytest

from serving.config import ConfigError, Settings

DEFAULTS = {"model": "news-framing:latest", "max_texts": 64, "max_chars": 20_000, "max_document_chars": 200_000,
            "max_body_bytes": 2 * 1024 * 1024, "max_concurrency": 512, "timeout": 60.0, "grace_period": 30.0, "max_batch_size": 128,
            "backend": ""}


def test_defaults_and_blank_variables():
    assert Settings.from_env({}).model_dump() == DEFAULTS
    blank = {"FRAMING_MODEL": "  ", "FRAMING_MAX_TEXTS": "", "FRAMING_TIMEOUT": " "}
    assert Settings.from_env(blank).model_dump() == DEFAULTS


def test_values_are_read_trimmed_and_round_trip_through_the_environment():
    env = {"FRAMING_MODEL": " artifacts/model ", "FRAMING_MAX_TEXTS": " 1_000 ", "FRAMING_TIMEOUT": "1e2",
           "FRAMING_BACKEND": "onnx-int8", "FRAMING_UNRELATED": "x", "PATH": "/bin"}
    settings = Settings.from_env(env)
    assert (settings.model, settings.max_texts, settings.timeout, settings.backend) == ("artifacts/model", 1000, 100.0, "onnx-int8")
    assert Settings.from_env(settings.to_env()) == settings
    assert settings.to_env()["FRAMING_MAX_BODY_BYTES"] == "2097152"


def test_the_process_environment_is_read_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("FRAMING_MAX_CONCURRENCY", "3")
    assert Settings.from_env().max_concurrency == 3 and Settings().max_concurrency == 3
    assert Settings.from_env({}).max_concurrency == 512  # a given mapping replaces the environment


@pytest.mark.parametrize("env, message", [
    ({"FRAMING_MAX_TEXTS": "0"}, "max_texts (FRAMING_MAX_TEXTS) must be an integer from 1 to 10,000, got 0"),
    ({"FRAMING_MAX_TEXTS": "abc"}, "max_texts (FRAMING_MAX_TEXTS) must be an integer from 1 to 10,000, got 'abc'"),
    ({"FRAMING_MAX_TEXTS": "1.5"}, "max_texts (FRAMING_MAX_TEXTS) must be an integer from 1 to 10,000, got '1.5'"),
    ({"FRAMING_MAX_BODY_BYTES": "10"}, "max_body_bytes (FRAMING_MAX_BODY_BYTES) must be an integer from 1,024 to 1,073,741,824, got 10"),
    ({"FRAMING_MAX_BATCH_SIZE": "1"}, "max_batch_size (FRAMING_MAX_BATCH_SIZE) must be an integer from 2 to 4,096, got 1"),
    ({"FRAMING_TIMEOUT": "0.01"}, "timeout (FRAMING_TIMEOUT) must be a number of seconds from 0.1 to 3600, got 0.01"),
    ({"FRAMING_GRACE_PERIOD": "-1"}, "grace_period (FRAMING_GRACE_PERIOD) must be a number of seconds from 0 to 3600, got -1"),
    ({"FRAMING_TIMEOUT": "nan"}, "timeout (FRAMING_TIMEOUT) must be a number of seconds from 0.1 to 3600, got nan"),
    ({"FRAMING_BACKEND": "int4"}, "backend (FRAMING_BACKEND) must be one of fp32, bf16, bf16-native, bf16-compiled, onnx-fp32, onnx-int8 or empty for the exported default, got 'int4'"),
    # Several wrong: the backend is named first, as before.
    ({"FRAMING_MAX_TEXTS": "0", "FRAMING_BACKEND": "int4"}, "backend (FRAMING_BACKEND) must be one of"),
])
def test_a_bad_variable_gets_one_line_naming_it_and_its_range(env, message):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert str(info.value).startswith(message)


def test_settings_made_or_changed_in_code_are_checked_the_same_way():
    with pytest.raises(ConfigError, match=r"model \(FRAMING_MODEL\) must be an artifact folder or a BentoML model tag, got an empty value"):
        Settings(model="")
    with pytest.raises(ConfigError, match=r"max_texts \(FRAMING_MAX_TEXTS\) must be an integer"):
        Settings(max_texts=True)
    settings = Settings.from_env({})
    assert settings.replace(model="elsewhere").model == "elsewhere" and settings.model == DEFAULTS["model"]
    with pytest.raises(ConfigError, match="FRAMING_BACKEND"):
        settings.replace(backend="int4")
