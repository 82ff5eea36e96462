"""Shared fixtures: a handful of passages and a tiny randomly initialised BERT (nothing downloaded)."""

from __future__ import annotations

import pytest
from datasets import Dataset, DatasetDict
from transformers import AutoTokenizer, BertConfig

from inference.model import FramingModel
from labels.dataset import features
from labels.schema import load_schema
from training.base_model import resolve_base_model

RISK, MOTIVE = (a.labels for a in load_schema().axes)

# (text, risk index, motive index): a few passages per label so every class is present.
PASSAGES = [
    ("Pyongyang's soldiers could be the spark that drags the whole peninsula into a catastrophe within weeks.", 0, 2),
    ("The deal is simple: troops for hard currency, oil and missile know-how that makes the North far deadlier.", 0, 0),
    ("Moscow and Pyongyang are forging a bloc against the West, and the region may be sleepwalking toward war.", 0, 1),
    ("Analysts say a clash between the two Koreas remains unlikely because both sides want to avoid a war.", 1, 2),
    ("The few thousand troops are paid per head; their impact on the front line will be marginal at best.", 1, 0),
    ("The treaty is mostly symbolic posturing, and neither capital is preparing for a wider conflict.", 1, 1),
    ("The defence ministry said on Tuesday that roughly 11,000 soldiers had arrived in the Kursk region.", 2, 2),
    ("In return for the shells, Russia ships food and fuel, according to officials in Seoul.", 2, 0),
    ("The pact signed in June formalises an alliance meant to reshape the regional order, a professor said.", 2, 1),
]


SPLITS = ("train", "dev", "test", "seed", "coverage_dev", "coverage_test")


def source_kind(split: str) -> str:
    return "seed" if split == "seed" else "coverage" if split.startswith("coverage") else "authored"


def make_corpus(n_repeat: int = 1) -> DatasetDict:
    """A DatasetDict shaped like the real one: train/dev/test/seed/coverage_dev/coverage_test, ClassLabel columns."""
    def rows(split: str, offset: int) -> list[dict]:
        out = []
        for k in range(n_repeat):
            for i, (text, r, m) in enumerate(PASSAGES):
                out.append({"id": f"{split}-{k}-{i}", "doc_id": f"{split}-doc{i % 3}", "text": text if k == 0 else f"{text} ({k})",
                            "source_kind": source_kind(split), "outlet_style": "wire",
                            "topic": "nk_troops_ukraine", "split": split, "paragraph_index": i,
                            "risk_framing": r, "motive_framing": m, "hard_cases": []})
        return out
    feats = features()
    return DatasetDict({s: Dataset.from_list(rows(s, j), features=feats) for j, s in enumerate(SPLITS)})


def write_sources(root, docs: dict[str, list[str]]) -> None:
    """A miniature labels/sources tree: every fixture passage in every document of every split."""
    import json

    for split, doc_ids in docs.items():
        kind = source_kind(split)
        folder = root / "sources" / kind
        folder.mkdir(parents=True, exist_ok=True)
        for doc_id in doc_ids:
            body = "\n\n".join(f"{t} Noted in {doc_id}." for t, _, _ in PASSAGES)
            (folder / f"{doc_id}.txt").write_text(f"A Headline\n\n{body}\n")
            meta = {"doc_id": doc_id, "title": "A Headline", "outlet_style": "wire", "topic": "nk_troops_ukraine"}
            if kind == "coverage":  # coverage splits are frozen in the metadata, not hashed from the id
                meta.update(split=split, source_kind="coverage", source_url=f"https://example.org/{doc_id}")
            (folder / f"{doc_id}.json").write_text(json.dumps(meta))


@pytest.fixture(scope="session")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve_base_model())


def tiny_model(seed: int = 0) -> FramingModel:
    import torch

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    return FramingModel.from_encoder_config(config, {a.name: list(a.labels) for a in load_schema().axes})


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory, tokenizer):
    """A tiny model trained a few steps on the fixture passages and saved as a real artifact."""
    from training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("artifact") / "model"
    config = TrainConfig(base_model="tiny-random-bert", epochs=2, batch_size=4, max_length=32, num_threads=1)
    train(config, make_corpus(), out_dir=out, tokenizer=tokenizer, model=tiny_model(), progress=False,
          corpus_root=empty_labels_root(tmp_path_factory.mktemp("labels")))
    return out


def empty_labels_root(root):
    """A labels folder with a built corpus of no documents: no dev documents, so the default document rule."""
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    for name in ("passages.jsonl", "documents.jsonl"):
        (root / "corpus" / name).write_text("")
    return root
