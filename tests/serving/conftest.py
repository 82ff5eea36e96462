"""Shared by the batch scorers' tests: a Predictor over the tiny artifact, and JSONL input files."""

import json

import pytest

from inference.predictor import Predictor


@pytest.fixture(scope="module")
def predictor(tiny_artifact):
    return Predictor.from_artifact(tiny_artifact)


def write_jsonl(path, rows):
    """Rows as JSONL lines (a str row is written as it is, for malformed lines); returns the path."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path
