"""The command line: user errors end with one line and exit code 2; bugs are not hidden behind that line."""

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
