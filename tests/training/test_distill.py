"""Distillation: views of passages, stored teacher logits, and a student that learns from them and reloads intact."""

import json

import numpy as np
import pytest

from inference.predictor import Predictor
from labels.dataset import CorpusRow, corpus_rows
from training.distill import TeacherFileError, load_teacher, passage_views, sentences, teach, transfer_views
from training.metrics import macro_f1
from training.train import TrainConfig, train

from ..conftest import PASSAGES, RISK, make_corpus, tiny_model

TINY = dict(base_model="tiny-random-bert", batch_size=4, max_length=32, num_threads=1)
AXES = {"risk_framing": list(RISK)}


def _train_rows(corpus):
    return corpus_rows(corpus, ("train", "seed"))


def test_views_cut_sentences_and_join_the_next_passage():
    text = "Seoul said 11,000 troops had arrived. Moscow denied it. “It is a lie,” an aide said. Analysts doubt that."
    assert sentences(text)[2] == "“It is a lie,” an aide said."
    views = passage_views(text, next_text="The talks resume in May.")
    assert views["drop_lead"].startswith("Moscow denied it.") and views["window"] == "Moscow denied it. “It is a lie,” an aide said."
    assert views["join_next"].endswith("Analysts doubt that. The talks resume in May.")
    assert passage_views("One sentence only.", next_text=None) == {}


def test_transfer_views_are_reproducible_and_capped_per_passage():
    texts = [t for t, _, _ in PASSAGES]
    rows = [CorpusRow.from_names(id=f"p{i}", doc_id=f"d{i % 2}", text=" ".join(texts[i:i + 4]), split="train", paragraph_index=i,
                                 labels={"risk_framing": "neutral", "motive_framing": "none"}) for i in range(len(texts) - 3)]
    first, again = (transfer_views(rows, per_passage=1, seed=3) for _ in range(2))
    assert first == again and first
    assert max(sum(v["source_id"] == r.id for v in first) for r in rows) == 1
    assert len(transfer_views(rows, per_passage=3, seed=3)) > len(first)


def test_teach_refuses_dev_and_test_passages(tokenizer, tmp_path):
    predictor = train(TrainConfig(epochs=1, teacher="none", **TINY), make_corpus(), tokenizer=tokenizer, model=tiny_model(), progress=False)
    with pytest.raises(ValueError, match="training passages only"):
        teach(predictor, corpus_rows(make_corpus(), ("train", "coverage_dev")), tmp_path, progress=False)


@pytest.fixture(scope="module")
def teacher_folder(tokenizer, tmp_path_factory):
    """A tiny 'teacher' trained and taught: its logits stored as `framing teach` stores them."""
    corpus = make_corpus(n_repeat=2)
    predictor = train(TrainConfig(epochs=1, teacher="none", **TINY), corpus, tokenizer=tokenizer, model=tiny_model(seed=5), progress=False)
    folder = tmp_path_factory.mktemp("teacher")
    teach(predictor, _train_rows(corpus), folder, views_per_passage=2, progress=False)
    return folder, predictor


def test_stored_logits_are_the_teachers(teacher_folder):
    folder, predictor = teacher_folder
    teacher = load_teacher(folder, predictor.axes)
    assert teacher.meta["teacher_version"] == predictor.version and teacher.views
    view = teacher.views[0]
    expected, _ = predictor.logits([view["text"]])
    np.testing.assert_allclose(view["logits"]["risk_framing"], expected["risk_framing"][0], atol=1e-4)


def test_an_ensemble_stores_the_mean_of_its_teachers_logits(teacher_folder, tokenizer, tmp_path):
    folder, first = teacher_folder
    corpus = make_corpus(n_repeat=2)
    second = train(TrainConfig(epochs=1, teacher="none", seed=3, **TINY), corpus, tokenizer=tokenizer, model=tiny_model(seed=9),
                   progress=False)
    dev = corpus_rows(corpus, ("coverage_dev",))
    teach([first, second], _train_rows(corpus), tmp_path, views_per_passage=2, progress=False, dev_rows=dev)
    ensemble = load_teacher(tmp_path, first.axes)
    gold = [r.label_ids["risk_framing"] for r in dev]
    mean = (first.logits([r.text for r in dev])[0]["risk_framing"] + second.logits([r.text for r in dev])[0]["risk_framing"]) / 2
    scores = ensemble.meta["dev"]
    assert set(scores["members"]) == {first.version, second.version} and scores["n"] == len(dev)
    assert scores["stored"]["risk_framing"] == round(macro_f1(np.array(gold), mean.argmax(1), len(RISK)), 4)
    assert ensemble.meta["teacher_version"] == f"{first.version}+{second.version}"
    assert [(m["teacher_version"], m["backend"]) for m in ensemble.meta["teachers"]] == [(first.version, first.backend),
                                                                                          (second.version, second.backend)]
    view = ensemble.views[0]
    a, _ = first.logits([view["text"]])
    b, _ = second.logits([view["text"]])
    assert not np.allclose(a["risk_framing"], b["risk_framing"], atol=1e-3)  # two different teachers, or the test proves nothing
    np.testing.assert_allclose(view["logits"]["risk_framing"], (a["risk_framing"][0] + b["risk_framing"][0]) / 2, atol=1e-4)


def test_a_bad_teacher_file_names_file_and_line(teacher_folder, tmp_path):
    folder, predictor = teacher_folder
    with pytest.raises(TeacherFileError, match="axes"):
        load_teacher(folder, AXES)
    lines = (folder / "logits.jsonl").read_text().splitlines()
    (tmp_path / "teacher.json").write_text((folder / "teacher.json").read_text())
    (tmp_path / "logits.jsonl").write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    with pytest.raises(TeacherFileError, match=r"logits.jsonl:2"):
        load_teacher(tmp_path, predictor.axes)


def test_student_from_stored_teacher_logits_reloads_to_identical_outputs(teacher_folder, tokenizer, tmp_path):
    folder, teacher = teacher_folder
    config = TrainConfig(epochs=2, teacher=str(folder), distill_views=1, **TINY)
    student = train(config, make_corpus(n_repeat=2), tokenizer=tokenizer, model=tiny_model(), out_dir=tmp_path / "student", progress=False)
    record = student.config["distillation"]
    assert record["teacher_version"] == teacher.version and record["views"] > 0 and record["passages_with_teacher_logits"] > 0
    texts = [r.text for r in _train_rows(make_corpus(n_repeat=2))]
    reloaded = Predictor.from_artifact(tmp_path / "student")
    for axis in student.axes:  # float noise only: the same weights, temperatures and labels
        got, expected = reloaded.probabilities(texts)[axis], student.probabilities(texts)[axis]
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert (got.argmax(1) == expected.argmax(1)).all()
    saved = json.loads((tmp_path / "student" / "framing_config.json").read_text())
    assert saved["distillation"]["temperature"] == config.distill_temperature


def test_the_student_learns_what_the_teacher_says_not_only_the_gold(teacher_folder, tokenizer, tmp_path):
    """A teacher that calls every training passage 'alarmist' pulls a soft-label-only student (alpha 0) there."""
    folder, teacher = teacher_folder
    for name in ("teacher.json", "logits.jsonl"):
        (tmp_path / name).write_text((folder / name).read_text())
    records = [json.loads(line) for line in (tmp_path / "logits.jsonl").read_text().splitlines()]
    for rec in records:
        rec["logits"]["risk_framing"] = [8.0, -8.0, -8.0]
    (tmp_path / "logits.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    corpus = make_corpus(n_repeat=2)
    texts = [r.text for r in _train_rows(corpus)]
    runs = {}
    for alpha in (0.0, 1.0):
        config = TrainConfig(epochs=4, learning_rate=5e-3, head_learning_rate=5e-2, teacher=str(tmp_path), distill_alpha=alpha, **TINY)
        student = train(config, corpus, tokenizer=tokenizer, model=tiny_model(), progress=False)
        runs[alpha] = (student.probabilities(texts)["risk_framing"].argmax(1) == RISK.index("alarmist")).mean()
    assert runs[0.0] > 0.9 and runs[1.0] < 0.7


def test_each_epoch_keeps_every_gold_passage_and_a_fresh_share_of_the_views():
    from training.train import _epoch_examples, _Examples

    gold = {"risk_framing": np.array([0, 1, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1])}
    examples = _Examples(texts=[f"t{i}" for i in range(13)], gold=gold, views=10)
    rng = np.random.default_rng(0)
    first, second = _epoch_examples(examples, 5, rng), _epoch_examples(examples, 5, rng)
    for chosen in (first, second):
        assert set(range(3)) <= set(chosen.tolist()) and len(chosen) == 3 + 5
        assert len(set(chosen.tolist())) == len(chosen) and all(0 <= i < 13 for i in chosen)
    assert set(first.tolist()) != set(second.tolist())  # a new draw each epoch, so every view is seen over the run
    assert len(_epoch_examples(examples, 10, rng)) == 13
    # under a tight time budget, a fresh share of the gold passages too
    draws = [_epoch_examples(examples, 0, rng, n_gold=2) for _ in range(6)]
    assert all(len(d) == 2 and all(0 <= i < 3 for i in d) for d in draws)
    assert len({tuple(d.tolist()) for d in draws}) > 1


def test_view_fraction_must_be_a_share():
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="view_fraction"):
            TrainConfig(view_fraction=bad)


def test_a_student_trained_on_a_share_of_the_views_records_it(teacher_folder, tokenizer, tmp_path):
    folder, _ = teacher_folder
    config = TrainConfig(epochs=2, teacher=str(folder), distill_views=3, view_fraction=0.5, **TINY)
    student = train(config, make_corpus(n_repeat=2), tokenizer=tokenizer, model=tiny_model(), out_dir=tmp_path / "s", progress=False)
    saved = json.loads((tmp_path / "s" / "framing_config.json").read_text())
    assert saved["training_config"]["view_fraction"] == 0.5 and student.config["distillation"]["views"] > 0
