"""Backends behind the one Predictor: same labels as fp32, exports refused when tampered or diverging, clear choices."""

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import inference.backends as backends
import inference.machine as machine
from inference.artifact import ArtifactError, load_artifact, read_config, write_config
from inference.backends import BACKENDS, BackendError, qualification_failure, resolve_backend, sha256
from inference.predictor import Predictor, plan_batches
from serving.config import ConfigError, Settings

from ..conftest import PASSAGES

TEXTS = [t for t, _, _ in PASSAGES]
REPO = Path(__file__).resolve().parents[2]
NEEDS_BF16 = pytest.mark.skipif(not backends.native_bf16(), reason="this CPU has no native bf16 (AVX512-BF16/AMX): "
                                "bf16-native and bf16-compiled are not offered here, so they are not run")


@pytest.fixture
def copy_of(tmp_path):
    def copy(folder):
        target = tmp_path / "copy"
        shutil.copytree(folder, target)
        return target
    return copy


def _set_backends(folder, edit):
    config = read_config(folder)
    edit(config["backends"])
    write_config(folder, config)


def test_export_records_every_backend_and_picks_the_fastest_that_passes(exported):
    record = read_config(exported)["backends"]
    assert set(record["results"]) == set(BACKENDS)
    flags = machine.cpu_flags() or frozenset()
    for name, r in record["results"].items():
        if not r["available"]:
            assert r["reason"] and not r["passes"]
            continue
        assert set(r["agreement"]) == set(read_config(exported)["axes"])
        assert r["batch_size"] >= 1 and r["passages_per_s"] > 0 and "dev_macro_f1_drop_points" in r
        # Issue 15's stricter bar for the weights held in bf16; issue 7's for the others.
        least, most = (0.995, 0.5) if name in ("bf16-native", "bf16-compiled") else (0.99, 1.0)
        assert r["passes"] == (min(r["agreement"].values()) >= least and r["dev_macro_f1_drop_points"] <= most)
        # The CPU it was qualified on: the flags of this machine that choose its kernels.
        bf16 = ["avx512_bf16", "amx_bf16"]
        wanted = {"bf16": bf16, "bf16-native": bf16, "bf16-compiled": bf16,
                  "onnx-int8": ["avx2", "avx_vnni", "avx512_vnni", "amx_int8"]}.get(name, [])
        assert r["cpu_flags"] == [f for f in wanted if f in flags]
        if name.startswith("onnx"):
            assert sha256(exported / r["file"]) == r["sha256"]
    assert record["results"]["fp32"]["agreement"] == {a: 1.0 for a in record["results"]["fp32"]["agreement"]}
    assert record["machine"]["cpu"] and "cpu_flags" in record["machine"]
    passing = [n for n, r in record["results"].items() if r["passes"] and n != "bf16-compiled"]
    assert record["default"] == max(passing, key=lambda n: record["results"][n]["passages_per_s"])


def test_predictor_default_is_the_recorded_backend(exported, copy_of):
    predictor = Predictor.from_artifact(exported)
    recorded = read_config(exported)["backends"]
    assert predictor.backend == recorded["default"]
    assert predictor.batch_size == recorded["results"][predictor.backend]["batch_size"]
    folder = copy_of(exported)
    for name in ("onnx-fp32", "fp32"):
        _set_backends(folder, lambda b: b.update(default=name))
        assert Predictor.from_artifact(folder).backend == name
    assert Predictor.from_artifact(folder, batch_size=3).batch_size == 3


def test_a_recorded_default_that_cannot_run_here_falls_back_to_the_fastest_that_can(exported, copy_of, monkeypatch):
    folder = copy_of(exported)

    def bf16_was_fastest(b):
        b["results"]["bf16"] = {**b["results"]["fp32"], "passages_per_s": 10 ** 6}
        b["results"]["onnx-fp32"]["passages_per_s"] = 10 ** 5
        b["default"] = "bf16"
    _set_backends(folder, bf16_was_fastest)
    monkeypatch.setattr(backends, "native_bf16", lambda: False)
    assert Predictor.from_artifact(folder).backend == "onnx-fp32"


def _qualified_on(flag_name: str, name: str, next_fastest: str = "onnx-fp32"):
    """An edit making `name` the passing, fastest, default backend, qualified on a CPU with `flag_name`."""
    def edit(b):
        for record in b["results"].values():
            record["passages_per_s"] = 1.0
        b["results"][name].update(agreement={a: 1.0 for a in b["results"]["fp32"]["agreement"]}, dev_macro_f1_drop_points=0.0,
                                  passages_per_s=10 ** 6, cpu_flags=[flag_name])
        b["results"][next_fastest]["passages_per_s"] = 10 ** 5
        b["default"] = name
    return edit


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("name, flag", [("onnx-int8", "amx_int8"), pytest.param("bf16-native", "amx_bf16", marks=NEEDS_BF16)])
def test_a_default_qualified_on_cpu_flags_this_cpu_lacks_falls_back_with_one_log_line(exported, copy_of, monkeypatch, caplog, name, flag):
    folder = copy_of(exported)
    _set_backends(folder, _qualified_on(flag, name))
    monkeypatch.setattr(machine, "cpu_flags", lambda: frozenset({"avx2", "fpu"}))
    with caplog.at_level(logging.INFO):
        predictor = Predictor.from_artifact(folder)
    assert predictor.backend == "onnx-fp32"
    assert len(_warnings(caplog)) == 1 and predictor.fallback_reason == _warnings(caplog)[0]
    assert f"default backend {name} not used: {name} was qualified on a CPU with {flag}, which this CPU lacks" in predictor.fallback_reason
    assert "using onnx-fp32" in predictor.fallback_reason
    caplog.clear()
    # The pre-flight checks (`framing serve`, BentoML's on_deployment) choose the same backend and log nothing.
    assert resolve_backend(read_config(folder), folder) == "onnx-fp32" and not caplog.records
    with pytest.raises(BackendError, match=f"'{name}' is not available.*qualified on a CPU with {flag}.*choose one of"):
        Predictor.from_artifact(folder, backend=name)
    # On a CPU with the flag, or one whose flags cannot be read, the recorded default runs and nothing is logged.
    for flags in (frozenset({"avx2", flag}), None):
        monkeypatch.setattr(machine, "cpu_flags", lambda flags=flags: flags)
        with caplog.at_level(logging.INFO):
            assert Predictor.from_artifact(folder).backend == name
        assert not _warnings(caplog)


def test_the_bar_is_stricter_for_weights_held_in_bf16():
    close = {"available": True, "agreement": {"risk": 0.993, "motive": 1.0}, "dev_macro_f1_drop_points": 0.2}
    assert qualification_failure(close, "onnx-int8") is None
    assert qualification_failure(close, "bf16-native") == "label agreement with fp32 below 99.5% (risk 99.30%)"
    assert qualification_failure({**close, "agreement": {"risk": 0.996, "motive": 0.995}}, "bf16-compiled") is None
    dropped = {**close, "agreement": {"risk": 1.0, "motive": 1.0}, "dev_macro_f1_drop_points": 0.7}
    assert qualification_failure(dropped, "bf16") is None
    assert qualification_failure(dropped, "bf16-compiled") == "dev macro-F1 drop 0.7 points exceeds 0.5"
    assert qualification_failure({**close, "agreement": {"risk": 0.98}}, "onnx-int8") == "label agreement with fp32 below 99% (risk 98.00%)"


def test_the_default_is_the_fastest_that_passes_and_never_the_compiled_one():
    from inference.export import pick_default

    def record(speed, passes=True):
        return {"available": True, "passes": passes, "passages_per_s": speed}
    results = {"fp32": record(100), "bf16": record(200), "bf16-native": record(330), "bf16-compiled": record(380),
               "onnx-fp32": record(150), "onnx-int8": record(240)}
    assert pick_default(results) == "bf16-native"
    results["bf16-native"] = record(330, passes=False)
    assert pick_default(results) == "onnx-int8"
    assert pick_default({"fp32": record(100), "onnx-int8": record(500, passes=False),
                         "bf16-native": {"available": False, "passes": False}}) == "fp32"


def test_agreement_is_the_share_of_passages_with_the_fp32_label_per_axis_and_split():
    from inference.export import qualify

    axes = {"risk": ["a", "b", "c"], "motive": ["x", "y"]}
    reference = {"risk": np.eye(3)[[0, 1, 2, 0]] * 3, "motive": np.eye(2)[[0, 1, 0, 1]]}
    mine = {a: z.copy() for a, z in reference.items()}
    mine["risk"][1] = [0, 0, 5]  # one passage of four changes its risk label
    splits = {"dev": np.array([0, 1]), "test": np.array([2, 3])}
    gold = {"risk": np.array([0, 1]), "motive": np.array([0, 1])}
    got = qualify(mine, reference, splits, gold, axes)
    assert got["agreement"] == {"risk": 0.75, "motive": 1.0} and got["agreement_n"] == 4
    assert got["agreement_by_split"] == {"dev": {"risk": 0.5, "motive": 1.0}, "test": {"risk": 1.0, "motive": 1.0}}
    assert got["max_logit_diff"] == 5.0
    assert got["dev_macro_f1"]["risk"] < qualify(reference, reference, splits, gold, axes)["dev_macro_f1"]["risk"]


def test_an_artifact_never_exported_runs_fp32(tiny_artifact):
    assert Predictor.from_artifact(tiny_artifact).backend == "fp32"


@pytest.mark.parametrize("name", ["bf16", pytest.param("bf16-native", marks=NEEDS_BF16),
                                  pytest.param("bf16-compiled", marks=[NEEDS_BF16, pytest.mark.slow]), "onnx-fp32", "onnx-int8"])
def test_each_backend_gives_the_fp32_labels_within_tolerance(exported, monkeypatch, name):
    # bf16 autocast computes the same numbers on CPUs without bf16 units, only slower: test it everywhere.
    monkeypatch.setattr(backends, "native_bf16", lambda: True)
    reference = Predictor.from_artifact(exported, backend="fp32").logits(TEXTS)[0]
    predictor = Predictor.from_artifact(exported, backend=name, require_qualified=False)
    got = predictor.logits(TEXTS)[0]
    recorded = read_config(exported)["backends"]["results"][name]
    tolerance = {"bf16": 0.02, "bf16-native": 0.02, "bf16-compiled": 0.02, "onnx-fp32": 1e-4}.get(name) or recorded["load_tolerance"]
    for axis, z in reference.items():
        assert np.abs(got[axis] - z).max() <= tolerance, axis
        top2 = np.sort(z, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > 2 * tolerance  # passages whose fp32 label no error within tolerance can flip
        assert (got[axis].argmax(1) == z.argmax(1))[clear].all(), axis
    assert all(set(o) == {*predictor.axes, "truncated", "model"} for o in predictor.predict(TEXTS[:2]))


def test_a_tampered_onnx_file_is_refused(exported, copy_of):
    folder = copy_of(exported)
    file = folder / "onnx" / "model.fp32.onnx"
    data = bytearray(file.read_bytes())
    data[-100] ^= 0xFF  # one byte of a weight
    file.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        Predictor.from_artifact(folder, backend="onnx-fp32")


def test_an_export_whose_outputs_diverge_is_refused(exported, copy_of, tmp_path):
    from inference.export import export_onnx, fuse

    folder = copy_of(exported)
    artifact = load_artifact(folder)
    heads = artifact.model.heads
    first, second = list(heads)
    # An exporter that mixes up the heads: a file that loads, has the right names and computes the wrong thing.
    heads[first].weight.data, heads[second].weight.data = heads[second].weight.data.clone(), heads[first].weight.data.clone()
    export_onnx(artifact.model, tmp_path / "raw.onnx")
    fuse(tmp_path / "raw.onnx", folder / "onnx" / "model.fp32.onnx", artifact.model.encoder.config)
    _set_backends(folder, lambda b: b["results"]["onnx-fp32"].update(sha256=sha256(folder / "onnx" / "model.fp32.onnx")))
    with pytest.raises(ArtifactError, match="diverge"):
        Predictor.from_artifact(folder, backend="onnx-fp32")
    _set_backends(folder, lambda b: b.update(default="onnx-fp32"))
    with pytest.raises(ArtifactError, match="diverge"):
        Predictor.from_artifact(folder)


def test_unknown_unqualified_and_unavailable_backends_give_clear_errors(exported, copy_of, tiny_artifact, monkeypatch):
    with pytest.raises(BackendError, match="backend must be one of fp32, bf16, bf16-native, bf16-compiled, onnx-fp32, onnx-int8; got 'fp16'"):
        Predictor.from_artifact(exported, backend="fp16")
    folder = copy_of(exported)
    _set_backends(folder, lambda b: b["results"]["onnx-int8"]["agreement"].update({a: 0.5 for a in b["results"]["onnx-int8"]["agreement"]}))
    with pytest.raises(BackendError, match=r"'onnx-int8' is not available.*agreement with fp32 below 99%.*choose one of .*fp32"):
        Predictor.from_artifact(folder, backend="onnx-int8")
    monkeypatch.setattr(backends, "native_bf16", lambda: False)
    with pytest.raises(BackendError, match="'bf16' is not available.*no native bf16.*choose one of"):
        Predictor.from_artifact(exported, backend="bf16")
    with pytest.raises(BackendError, match=r"model\.fp32\.onnx does not exist; run `framing export.*choose one of fp32$"):
        Predictor.from_artifact(tiny_artifact, backend="onnx-fp32")


def test_backend_setting_for_the_service_and_the_cli(exported, tmp_path, capsys):
    from framing.cli import main

    assert Settings.from_env({"FRAMING_BACKEND": "onnx-int8"}).backend == "onnx-int8"
    assert Settings.from_env({}).backend == ""
    assert Settings.from_env(Settings(backend="fp32").to_env()).backend == "fp32"
    with pytest.raises(ConfigError, match=r"backend \(FRAMING_BACKEND\) must be one of fp32, bf16, bf16-native, bf16-compiled, onnx-fp32, onnx-int8"):
        Settings.from_env({"FRAMING_BACKEND": "int4"})
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    assert main(["score", str(src), str(tmp_path / "out.jsonl"), "--model", str(exported), "--backend", "int4"]) == 2
    assert "backend must be one of" in capsys.readouterr().err
    assert main(["score", str(src), str(tmp_path / "out.jsonl"), "--model", str(exported), "--backend", "onnx-fp32"]) == 0
    assert "backend onnx-fp32" in capsys.readouterr().err
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == len(TEXTS)


def test_batches_are_sorted_capped_and_bucketed_by_tokens():
    lengths = [5, 50, 7, 48, 6, 49, 8, 47, 100]
    batches = plan_batches(lengths, batch_size=3, max_tokens=120)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)
    assert all(len(b) <= 3 for b in batches)
    assert all(len(b) * max(lengths[i] for i in b) <= 120 for b in batches if len(b) > 1)
    assert [len(b) for b in batches] == [3, 2, 2, 1, 1]  # long passages go in smaller batches
    assert plan_batches(lengths, batch_size=4) == [[0, 4, 2, 6], [7, 3, 5, 1], [8]]


def test_bench_runs_every_backend_beside_the_pipeline(exported):
    from inference.bench import BenchConfig, format_bench, run_bench

    config = BenchConfig(passages=12, latency_passages=4, search_passages=8, batch_sizes=(2, 4), num_threads=1,
                         matmul_seconds=0.02, matmul_shapes=((64, 64, 64),))
    result = run_bench(exported, config, log=lambda line: None)
    assert result["passages"] == 12 and result["pipeline"]["passages_per_s"] > 0
    assert set(result["matmul_gflops"]) == {"fp32", "bf16", "int8"}
    fp32 = result["backends"]["fp32"]
    assert fp32["agreement"] == {a: 1.0 for a in fp32["agreement"]}
    for name, b in result["backends"].items():
        if b.get("available", True):
            assert b["batch1"]["p50_ms"] <= b["batch1"]["p95_ms"] and b["x_pipeline"] > 0 and b["batch_size"] in (2, 4)
    assert "x pipe" in format_bench(result) and result["machine"]["onnxruntime"] and "cpu_flags" in result["machine"]
    if backends.native_bf16():
        for name in ("bf16-native", "bf16-compiled"):
            b = result["backends"][name]
            assert b["precision"] == "bf16" and b["fraction_of_ceiling"] > 0 and set(b["agreement"]) == set(fp32["agreement"])
        assert result["backends"]["bf16-compiled"]["warmup_s"] > 0 and result["backends"]["bf16-native"]["warmup_s"] == 0
        assert "bf16-compiled: compiled in" in format_bench(result)
    else:  # bench runs only the backends that run here
        assert not {"bf16", "bf16-native", "bf16-compiled"} & set(result["backends"])


def test_bench_config_is_validated():
    from inference.bench import BenchConfig

    with pytest.raises(ValueError, match="search_rounds"):
        BenchConfig(search_rounds=0)
    with pytest.raises(ValueError, match="backends must be among"):
        BenchConfig(backends=("fp16",))


def test_one_slow_timing_does_not_pick_the_batch_size():
    from inference.bench import pick_batch_size

    # Batch 16 is truly fastest (1 s) but its first and last timings hit busy moments (10 s); batch 8 takes 2 s.
    timings = {8: iter([2.0, 2.0, 2.0]), 16: iter([10.0, 1.0, 10.0])}
    best, rates = pick_batch_size(lambda b: next(timings[b]), (8, 16), 3, 100)
    assert best == 16 and rates == {8: 50.0, 16: 100.0}
    # A single round has nothing to recover from: the slow moment decides.
    timings = {8: iter([2.0]), 16: iter([10.0])}
    assert pick_batch_size(lambda b: next(timings[b]), (8, 16), 1, 100)[0] == 8


def test_serve_refuses_a_backend_the_model_does_not_offer_before_starting(exported, copy_of):
    folder = copy_of(exported)
    _set_backends(folder, lambda b: b["results"]["onnx-int8"]["agreement"].update({a: 0.5 for a in b["results"]["onnx-int8"]["agreement"]}))
    run = subprocess.run([sys.executable, "-m", "framing", "serve", "--model", str(folder), "--backend", "onnx-int8", "--port", "1"],
                         cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, "FRAMING_BACKEND": ""})
    assert run.returncode == 2
    assert "backend 'onnx-int8' is not available" in run.stderr and "choose one of" in run.stderr


@pytest.mark.slow
def test_the_service_serves_through_the_chosen_backend(exported, tmp_path):
    import httpx

    from serving.run import BackgroundServer

    server = BackgroundServer(args=["--model", str(exported)], env={"FRAMING_BACKEND": "onnx-fp32"}, log=tmp_path / "server.log")
    try:
        server.wait_ready()
        answer = httpx.post(server.url + "/classify", json={"texts": TEXTS[:3]}, timeout=60).json()
    finally:
        server.stop()
    expected = Predictor.from_artifact(exported, backend="onnx-fp32").predict(TEXTS[:3])
    for got, want in zip(answer, expected, strict=True):
        for axis in read_config(exported)["axes"]:
            assert got[axis]["label"] == want[axis]["label"]
            np.testing.assert_allclose(list(got[axis]["probs"].values()), list(want[axis]["probs"].values()), atol=1e-4)
    assert "backend onnx-fp32" in (tmp_path / "server.log").read_text()


@NEEDS_BF16
@pytest.mark.slow
def test_the_service_compiles_before_it_is_ready(exported, copy_of, tmp_path):
    import httpx

    from serving.run import BackgroundServer

    folder = copy_of(exported)
    # Whether the tiny model's bf16 clears the agreement and invariance bars is luck; this test is about when compiling happens.
    _set_backends(folder, lambda b: b["results"]["bf16-compiled"].update(
        agreement={a: 1.0 for a in b["results"]["fp32"]["agreement"]}, dev_macro_f1_drop_points=0.0,
        batch_invariance={**b["results"]["bf16-compiled"]["batch_invariance"], "invariant": True}))
    server = BackgroundServer(args=["--model", str(folder)], env={"FRAMING_BACKEND": "bf16-compiled"}, log=tmp_path / "server.log")
    try:
        server.wait_ready()
        # The warm-up is logged by the worker before /readyz answers 200, not on the first request.
        assert "backend bf16-compiled" in server.log_when_ready and "compiled in" in server.log_when_ready
        answers = [httpx.post(server.url + "/classify", json={"texts": TEXTS[:k]}, timeout=60).json() for k in (1, 3)]
    finally:
        server.stop()
    expected = Predictor.from_artifact(exported, backend="fp32").predict(TEXTS[:3])
    for got, want in zip(answers[1], expected, strict=True):
        for axis in read_config(exported)["axes"]:
            np.testing.assert_allclose(list(got[axis]["probs"].values()), list(want[axis]["probs"].values()), atol=0.02)
    assert (tmp_path / "server.log").read_text().count("compiled in") == 1


@NEEDS_BF16
@pytest.mark.slow
def test_a_batch_run_compiles_once_before_its_first_row(exported, copy_of, tmp_path, capsys, monkeypatch):
    import inference.bf16 as bf16
    from framing.cli import main

    folder = copy_of(exported)
    # Whether the tiny model's bf16 labels clear 99.5% is luck; this test is about when compiling happens.
    _set_backends(folder, lambda b: b["results"]["bf16-compiled"].update(
        agreement={a: 1.0 for a in b["results"]["fp32"]["agreement"]}, dev_macro_f1_drop_points=0.0))
    warm_ups = []
    real = bf16.warm_up
    monkeypatch.setattr(bf16, "warm_up", lambda forward, pad_id=0: warm_ups.append(pad_id) or real(forward, pad_id))
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": TEXTS[i % len(TEXTS)]}) + "\n" for i in range(30)))
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), str(out), "--model", str(folder), "--backend", "bf16-compiled", "--chunk-size", "4"]) == 0
    err = capsys.readouterr().err
    assert "backend bf16-compiled" in err and err.count("compiled in") == 1 and len(warm_ups) == 1
    assert len(out.read_text().splitlines()) == 30
