"""The BentoML model store: the model's name there, and registering an artifact folder under it.

`framing train` and `framing export` register the folder; `framing serve` finds it as `news-framing:latest`
(serving/config.py). bentoml and torch are imported only when a model is registered, so serving/config.py
can read the name cheaply.
"""

from __future__ import annotations

import shutil
from pathlib import Path

MODEL_NAME = "news-framing"
LATEST = f"{MODEL_NAME}:latest"


def register_bentoml(path: Path, name: str = MODEL_NAME) -> str:
    """Copy the artifact folder into the local BentoML model store; returns the tag."""
    import bentoml

    from inference.artifact import read_config

    config = read_config(path)
    with bentoml.models.create(name, metadata={"model_version": config["model_version"], "schema_version": config["schema_version"]}) as bento_model:
        for item in Path(path).iterdir():
            if item.is_file():
                shutil.copy2(item, Path(bento_model.path) / item.name)
            elif item.is_dir():  # onnx/ from `framing export`
                shutil.copytree(item, Path(bento_model.path) / item.name)
    return str(bento_model.tag)
