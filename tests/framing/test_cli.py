"""The command line: user errors end with one line and exit code 2; bugs are not hidden behind that line."""

import subprocess
import sys

import pytest

import labels.stats
from framing.cli import main


def test_a_user_error_is_one_line_and_exit_code_2(monkeypatch, capsys):
    def bad_input(root):
        raise ValueError("labels/corpus/passages.jsonl:3: invalid JSON")

    monkeypatch.setattr(labels.stats, "corpus_stats", bad_input)
    assert main(["corpus", "stats"]) == 2
    assert capsys.readouterr().err == "error: labels/corpus/passages.jsonl:3: invalid JSON\n"


def test_a_type_error_is_a_bug_and_keeps_its_traceback(monkeypatch):
    def bug(root):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(labels.stats, "corpus_stats", bug)
    with pytest.raises(TypeError, match="unsupported operand"):
        main(["corpus", "stats"])


def test_validate_reads_the_held_out_list_it_is_given(tmp_path, capsys):
    from labels.corpus import build

    from ..labels.test_validate import coverage_root

    root = coverage_root(tmp_path, {"cov-x001": {"source_url": "https://www.example.org/held/"}})
    build(root)
    listed = tmp_path / "held-out.txt"
    listed.write_text("example.org/held\n")
    assert main(["corpus", "validate", "--root", str(root), "--held-out", str(listed)]) == 1
    assert "cov-x001.json: source_url https://www.example.org/held/ is held out" in capsys.readouterr().err
    assert main(["corpus", "validate", "--root", str(root), "--held-out", str(tmp_path / "none.txt")]) == 1  # no gold yet
    assert "held-out list not found" in capsys.readouterr().err


def test_corpus_commands_do_not_import_the_model_stack():
    """`framing corpus ...` runs often (annotators, writers): building the parser must not pull in torch or transformers."""
    code = ("import sys; from framing.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize("given, expected", [([], 15.0), (["--time-budget", "none"], None), (["--time-budget", "40"], 40.0)])
def test_train_passes_the_time_budget_and_none_lifts_it(monkeypatch, tmp_path, given, expected):
    import training.train

    seen = {}

    def fake_train(config, corpus, **kwargs):
        seen["budget"] = config.time_budget_minutes
        raise KeyboardInterrupt  # stop before anything is trained

    monkeypatch.setattr(training.train, "train", fake_train)
    with pytest.raises(KeyboardInterrupt):
        main(["train", "--out", str(tmp_path / "m"), "--no-register", *given])
    assert seen["budget"] == expected


def test_a_bad_time_budget_is_refused_with_the_fix(capsys):
    for bad in ("0", "-3", "soon"):
        with pytest.raises(SystemExit):
            main(["train", "--time-budget", bad])
        assert "--time-budget" in capsys.readouterr().err


@pytest.mark.parametrize("given, expected", [([], "auto"), (["--document-rule", "weighted"], "weighted"),
                                             (["--document-rule", "learned"], "learned")])
def test_train_passes_the_document_rule_family(monkeypatch, tmp_path, given, expected):
    import training.train

    seen = {}

    def fake_train(config, corpus, **kwargs):
        seen["family"] = config.document_rule
        raise KeyboardInterrupt

    monkeypatch.setattr(training.train, "train", fake_train)
    with pytest.raises(KeyboardInterrupt):
        main(["train", "--out", str(tmp_path / "m"), "--no-register", *given])
    assert seen["family"] == expected


def test_an_unknown_document_rule_family_lists_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--document-rule", "neural"])
    assert "auto" in capsys.readouterr().err
