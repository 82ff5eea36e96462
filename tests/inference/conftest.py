"""The tiny artifact exported once for every inference test module that needs its backends."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def exported(tiny_artifact, tmp_path_factory):
    """The tiny artifact after `framing export`, run the way a user runs it."""
    folder = tmp_path_factory.mktemp("exported") / "model"
    shutil.copytree(tiny_artifact, folder)
    run = subprocess.run([sys.executable, "-m", "framing", "export", "--model", str(folder), "--no-register", "--threads", "1"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "default backend:" in run.stderr
    return folder
