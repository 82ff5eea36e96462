"""Fine-tune the two-head classifier on the corpus, calibrate it on dev, save the artifact.

One readable flow: load splits -> build model -> train with early stopping on dev mean macro-F1
-> fit one temperature per head on dev -> choose the document rule on dev documents -> measure dev
and test -> save a self-contained folder. Dev and test are the coverage splits (real published text,
paraphrased); authored and coverage training passages train together.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from inference.artifact import Artifact, library_versions, save_artifact
from inference.backends import native_bf16
from inference.machine import machine_info
from inference.model import FramingModel
from inference.predictor import Predictor, encode, pad_batch, softmax
from labels.corpus import LABELS_DIR
from labels.dataset import CorpusRow, corpus_fingerprint, corpus_rows, documents_of, gold_ids
from labels.schema import load_schema
from training.base_model import DEFAULT_BASE_MODEL, resolve_base_model
from training.calibration import expected_calibration_error, fit_temperature, nll
from training.distill import META_FILE, TEACHER_DIR, Teacher, choose_views, load_teacher, text_key
from training.document_rule import RULE_FAMILIES, fit_document_rule
from training.metrics import axis_report, macro_f1


PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved inside the artifact."""

    base_model: str = DEFAULT_BASE_MODEL
    max_length: int = 256
    batch_size: int = 16
    # 4 epochs with half the teacher's views per epoch: about 9 min where bf16 is native (third round's corpus),
    # about 35 min in fp32 (AVX2 only) on the fifth round's;
    # 3 epochs with a quarter of the views took 16 min in fp32 and scored 0.9 lower on coverage dev (model_card.md).
    epochs: int = 4
    learning_rate: float = 1.2e-4  # chosen on dev mean macro-F1 among 5e-5, 8e-5, 1.2e-4 (model_card.md)
    head_learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    dropout: float = 0.1
    patience: int = 1  # stops after two epochs without a gain; on the 3,600-passage corpus the best epoch was 4 of 6 (4 epochs max: -2.8 dev points)
    class_weights: bool = True
    seed: int = 13
    train_splits: tuple[str, ...] = ("train", "seed")
    dev_split: str = "coverage_dev"
    test_split: str = "coverage_test"
    # The document rule is chosen on the real-coverage articles of these splits. Coverage dev alone has 28 articles
    # (one is 3.6 points) for 36 rules, and its pick overfitted: dev motive 0.893 -> test 0.677 (model_card.md).
    document_rule_splits: tuple[str, ...] = ("coverage_dev", "train")
    # "auto": the learned rule where it wins 5-fold cross-validation on those articles, else the weighted grid's pick
    # (training/document_rule.py); "weighted" or "learned" forces a family.
    document_rule: str = "auto"
    exclude_docs: tuple[str, ...] = field(default_factory=tuple)  # for leave-one-article-out runs
    num_threads: int = 2
    # "auto": bf16 autocast where the CPU multiplies bf16 natively (AMX, AVX512-BF16), fp32 elsewhere,
    # where emulated bf16 would be slower than fp32.
    precision: str = "auto"
    # Distillation (training/distill.py): "auto" learns from labels/teacher/ when `framing teach` has written it,
    # "none" from the gold labels only; or a teacher folder.
    teacher: str = "auto"
    distill_alpha: float = 0.5  # weight of the gold labels' loss; the teacher's soft labels get 1 - alpha
    distill_temperature: float = 2.0
    distill_views: int = 3  # views per training passage from the teacher's transfer set (coverage dev: 3 > 1, model_card.md)
    # Share of those views each epoch sees (a fresh random draw per epoch; every gold passage is seen every epoch):
    # the lever that keeps training inside the 15-minute budget as coverage train grows.
    view_fraction: float = 0.5
    # Wall-clock budget of the whole run in minutes (None: no limit). Before training, a few timed steps measure this
    # machine's seconds per example; when the planned epochs would not fit, each epoch sees fewer teacher views, then
    # a fresh random share of the gold passages; each epoch's measured time plans the rest again. 15 minutes: the
    # budget of a default `framing train` on 2 cores.
    time_budget_minutes: float | None = 15.0

    def __post_init__(self):
        for name in ("max_length", "batch_size", "epochs", "num_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be at least 8 tokens, got {self.max_length}")
        for name in ("learning_rate", "head_learning_rate"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.patience < 0:
            raise ValueError(f"patience must be 0 or more, got {self.patience}")
        self.train_splits = tuple(self.train_splits)
        self.exclude_docs = tuple(self.exclude_docs)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not 0 <= self.distill_alpha <= 1:
            raise ValueError(f"distill_alpha must be in [0, 1], got {self.distill_alpha}")
        if not self.distill_temperature > 0:
            raise ValueError(f"distill_temperature must be above 0, got {self.distill_temperature}")
        if self.distill_views < 0:
            raise ValueError(f"distill_views must be 0 or more, got {self.distill_views}")
        if not 0 < self.view_fraction <= 1:
            raise ValueError(f"view_fraction must be in (0, 1], got {self.view_fraction}")
        if self.time_budget_minutes is not None and not self.time_budget_minutes > 0:
            raise ValueError(f"time_budget_minutes must be above 0 (or None for no limit), got {self.time_budget_minutes}")
        if self.dev_split in self.train_splits or self.test_split in self.train_splits:
            raise ValueError(f"train_splits {self.train_splits} must not include the dev or test split")
        self.document_rule_splits = tuple(self.document_rule_splits)
        if self.document_rule not in RULE_FAMILIES:
            raise ValueError(f"document_rule must be one of {', '.join(RULE_FAMILIES)}, got {self.document_rule!r}")
        if self.test_split in self.document_rule_splits:
            raise ValueError(f"document_rule_splits {self.document_rule_splits} must not include the test split "
                             f"{self.test_split!r}: the rule would be chosen on what it is measured on")


def saved_config(training_config: dict) -> TrainConfig:
    """The TrainConfig an artifact recorded, to retrain its recipe; settings added since it was saved keep the
    behaviour it was trained with (no time budget before `time_budget_minutes` existed)."""
    return TrainConfig(**{"time_budget_minutes": None, **training_config})


def rule_documents(config: TrainConfig, corpus_root: Path) -> list[dict]:
    """The real-coverage articles the document rule is chosen on (never the test split's, never excluded ones)."""
    return [d for split in config.document_rule_splits for d in documents_of(split, corpus_root)
            if d["source_kind"] == "coverage" and d["id"] not in config.exclude_docs]


def choose_document_rule(predictor: Predictor, config: TrainConfig, corpus_root: Path) -> tuple:
    """The document rule for `predictor`, chosen on `rule_documents`, and the record of the fit (with its splits)."""
    rule, fit = fit_document_rule(predictor, rule_documents(config, corpus_root), family=config.document_rule)
    return rule, {**fit, "splits": list(config.document_rule_splits)}


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def evaluate_rows(predictor: Predictor, rows: list[CorpusRow]) -> dict:
    """Per-axis report for rows, through the predictor (the same path the service uses)."""
    if not rows:
        return {}
    probs = predictor.probabilities([r.text for r in rows])
    gold = gold_ids(rows, predictor.axes)
    return {a: axis_report(gold[a], probs[a].argmax(1), labels) for a, labels in predictor.axes.items()}


def _mean_macro_f1(predictor: Predictor, rows: list[CorpusRow]) -> float:
    probs = predictor.probabilities([r.text for r in rows])
    gold = gold_ids(rows, predictor.axes)
    return float(np.mean([macro_f1(gold[a], probs[a].argmax(1), len(labels)) for a, labels in predictor.axes.items()]))


def _split_rows(config: TrainConfig, corpus) -> tuple[list[CorpusRow], list[CorpusRow], list[CorpusRow]]:
    """Train, dev and test rows of the run (minus excluded documents); train and dev must not be empty."""
    train_rows = corpus_rows(corpus, config.train_splits, config.exclude_docs)
    dev_rows = corpus_rows(corpus, (config.dev_split,), config.exclude_docs)
    test_rows = corpus_rows(corpus, (config.test_split,), config.exclude_docs)
    if not train_rows:
        raise ValueError(f"no training passages in splits {config.train_splits}; run `framing corpus build` and check the annotations")
    if not dev_rows:
        raise ValueError(f"no passages in dev split {config.dev_split!r}: early stopping and calibration need one")
    return train_rows, dev_rows, test_rows


def _base(config: TrainConfig, axes: dict[str, list[str]], tokenizer, model) -> tuple[PreTrainedTokenizerBase, FramingModel]:
    """The tokenizer and model to start from: the ones given, else the base model's."""
    base_path = resolve_base_model(config.base_model) if model is None or tokenizer is None else config.base_model
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(base_path)
    model = model or FramingModel.from_pretrained_encoder(base_path, axes, config.dropout)
    return tokenizer, model


def _loss_functions(gold: dict[str, np.ndarray], axes: dict[str, list[str]], class_weights: bool) -> dict:
    """Cross-entropy per head, classes weighted inversely to their frequency when `class_weights`."""
    loss_fns = {}
    for a, labels in axes.items():
        weight = None
        if class_weights:
            counts = np.bincount(gold[a], minlength=len(labels)).astype(float)
            weight = torch.tensor(len(gold[a]) / (len(labels) * np.maximum(counts, 1.0)), dtype=torch.float32)
        loss_fns[a] = torch.nn.CrossEntropyLoss(weight=weight)
    return loss_fns


def _optimizer(model: FramingModel, config: TrainConfig, n_passages: int):
    """AdamW with one learning rate for the encoder and one for the heads, a linear warm-up and decay schedule, and
    the schedule's step counts (a re-plan moves "total")."""
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    enc_params = [p for n, p in model.named_parameters() if n.startswith("encoder.")]
    optimizer = torch.optim.AdamW(
        [{"params": enc_params, "lr": config.learning_rate}, {"params": head_params, "lr": config.head_learning_rate}],
        weight_decay=config.weight_decay,
    )
    total = _steps(n_passages, config.batch_size) * config.epochs
    steps = {"warmup": int(config.warmup_ratio * total), "total": total}

    def factor(step: int) -> float:
        # transformers' linear warm-up and decay, with an end that a re-plan of the time budget may move
        if step < steps["warmup"]:
            return step / max(1, steps["warmup"])
        return max(0.0, (steps["total"] - step) / max(1, steps["total"] - steps["warmup"]))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor), steps


def _steps(n_examples: int, batch_size: int) -> int:
    return (n_examples + batch_size - 1) // batch_size


def _length_bucketed_batches(ids: list[list[int]], batch_size: int, generator: np.random.Generator,
                             subset: np.ndarray | None = None) -> list[list[int]]:
    """Batches of similar length (shuffled within length buckets), in random order: little compute spent on padding."""
    order = generator.permutation(len(ids)) if subset is None else generator.permutation(subset)
    chunks = [order[i:i + batch_size * 8] for i in range(0, len(order), batch_size * 8)]
    batches = []
    for chunk in chunks:
        chunk = sorted(chunk, key=lambda i: len(ids[i]))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in generator.permutation(len(batches))]


@dataclass
class _Run:
    """What one fine-tuning run keeps besides the weights: per-epoch history and where it was best."""

    history: list[dict] = field(default_factory=list)
    plan: _Plan | None = None
    best_epoch: int = 0
    seconds: float = 0.0
    precision: str = "fp32"


def _uncalibrated(model: FramingModel, tokenizer, max_length: int) -> Predictor:
    """The model being trained, scored through the Predictor (temperature 1) for early stopping and calibration."""
    return Predictor(Artifact(model, tokenizer, {"model_version": "training", "max_length": max_length, "temperatures": {}}), batch_size=64)


def training_precision(precision: str) -> str:
    """The precision a run uses: "auto" resolves to bf16 where the CPU has native bf16, else fp32."""
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision


@dataclass
class _Examples:
    """What the model trains on: texts, gold ids per axis (-1 for a view, which has none), teacher logits (NaN where none)."""

    texts: list[str]
    gold: dict[str, np.ndarray]
    soft: dict[str, np.ndarray] | None = None
    views: int = 0
    with_teacher: int = 0


def _examples(train_rows: list[CorpusRow], axes: dict[str, list[str]], teacher: Teacher | None, config: TrainConfig) -> _Examples:
    """The gold rows, plus the teacher's views of them and its logits on both when there is a teacher."""
    gold = gold_ids(train_rows, axes)
    if teacher is None:
        return _Examples([r.text for r in train_rows], gold)
    views = choose_views(teacher, train_rows, per_passage=config.distill_views, seed=config.seed)
    missing = {a: np.full(len(labels), np.nan, dtype=np.float32) for a, labels in axes.items()}
    row_logits = [teacher.by_key.get(text_key(r.text), missing) for r in train_rows]
    soft = {a: np.stack([lg[a] for lg in row_logits] + [v["logits"][a] for v in views]).astype(np.float32) for a in axes}
    gold = {a: np.concatenate([gold[a], np.full(len(views), -1, dtype=np.int64)]) for a in axes}
    with_teacher = sum(lg is not missing for lg in row_logits)
    if not with_teacher and not views:  # a teacher of another corpus: nothing to learn from it
        return _Examples([r.text for r in train_rows], gold_ids(train_rows, axes))
    return _Examples([r.text for r in train_rows] + [v["text"] for v in views], gold, soft, len(views), with_teacher)


def _epoch_examples(examples: _Examples, n_views: int, generator: np.random.Generator, n_gold: int | None = None) -> np.ndarray:
    """The example indices one epoch trains on: the gold passages (all, or a fresh random `n_gold` of them) and a fresh
    random `n_views` of the teacher's views."""
    n_rows = len(examples.texts) - examples.views
    gold = np.arange(n_rows) if n_gold is None or n_gold >= n_rows else np.sort(generator.permutation(n_rows)[:n_gold])
    if n_views >= examples.views:
        return np.concatenate([gold, np.arange(n_rows, len(examples.texts))])
    return np.concatenate([gold, n_rows + np.sort(generator.permutation(examples.views)[:n_views])])


@dataclass
class _Plan:
    """How many gold passages and teacher views each epoch trains on, and why (recorded in the artifact)."""

    gold: int
    views: int
    seconds_per_example: float | None = None
    seconds_per_scored_passage: float | None = None
    budget_s: float | None = None
    note: str = "no time budget"
    # After each epoch the rest is planned again from the measured time: a probe of a few batches can be a third off
    # on a machine whose speed varies from minute to minute.
    replanned: list[dict] = field(default_factory=list)


def _probe_seconds(model: FramingModel, ids, examples: _Examples, loss_fns, config: TrainConfig, bf16: bool,
                   pad: int, n_gold: int) -> tuple[float, float]:
    """This machine's seconds per training example and per scored passage, timed on a few batches of the run's own texts.

    Gradients are cleared and the random state restored afterwards, so the run is the same as without the probe.
    """
    rng_state = torch.get_rng_state()
    sample = np.random.default_rng(config.seed).permutation(len(ids))[:config.batch_size * 4]
    batches = _length_bucketed_batches([ids[i] for i in sample], config.batch_size, np.random.default_rng(0))
    batches = [[int(sample[i]) for i in b] for b in batches]
    model.train()
    elapsed, counted = 0.0, 0
    for k, batch in enumerate(batches):
        started = time.perf_counter()
        input_ids, mask = pad_batch([ids[i] for i in batch], pad)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(input_ids=input_ids, attention_mask=mask)
        loss = _batch_loss(out, batch, examples, loss_fns, config)
        if loss.requires_grad:
            loss.backward()
        if k:  # the first batch warms up the kernels
            elapsed, counted = elapsed + time.perf_counter() - started, counted + len(batch)
    model.zero_grad(set_to_none=True)
    model.eval()
    # What is scored after training is gold-like passages (dev, test, articles), in length-sorted batches.
    gold = sorted((ids[i] for i in np.random.default_rng(config.seed).permutation(n_gold)[:64]), key=len)
    started = time.perf_counter()
    with torch.no_grad():
        for at in range(0, len(gold), 16):
            input_ids, mask = pad_batch(gold[at:at + 16], pad)
            model(input_ids=input_ids, attention_mask=mask)
    scoring = (time.perf_counter() - started) / max(len(gold), 1)
    torch.set_rng_state(rng_state)
    # The optimizer step and gradient clipping are not timed: a quarter more per example in a full run (MiniLM, 2
    # cores, fp32: 58 ms probed, 73 ms per example over four epochs).
    return 1.25 * elapsed / max(counted, 1), scoring


def _plan_epochs(n_gold: int, n_views: int, config: TrainConfig, seconds_per_example: float | None, budget_s: float | None) -> _Plan:
    """Examples per epoch: all gold and the configured share of views, cut to fit `budget_s` (views first, then gold)."""
    views = round(config.view_fraction * n_views)
    if seconds_per_example is None or budget_s is None:
        return _Plan(n_gold, views)
    per_epoch = max(budget_s, 0.0) / seconds_per_example / config.epochs
    plan = _Plan(n_gold, views, seconds_per_example=seconds_per_example, budget_s=budget_s, note="fits the time budget")
    if n_gold + views <= per_epoch:
        return plan
    if n_gold <= per_epoch:
        plan.views, plan.note = int(per_epoch - n_gold), f"fewer teacher views per epoch ({views} planned) to fit the time budget"
        return plan
    plan.views, plan.gold = 0, max(config.batch_size, int(per_epoch))
    plan.note = f"a random {plan.gold} of the {n_gold} gold passages per epoch and no teacher views, to fit the time budget"
    return plan


def _training_time_left(deadline: float, passages_to_score: int, seconds_per_passage: float) -> float:
    """Seconds left for training steps: the time to the deadline, less a 3% margin and the scoring still to do."""
    return 0.97 * (deadline - time.perf_counter()) - max(passages_to_score, 0) * seconds_per_passage


def _replan(plan: _Plan, current: tuple[int, int], n_gold: int, n_views: int, config: TrainConfig, epoch: int,
            seconds_per_example: float, budget_s: float, steps: dict) -> tuple[int, int]:
    """(gold, views) per epoch after `epoch`, from its measured seconds per example and the budget left for training:
    fewer when the run is behind, more (up to the whole recipe) when it is ahead. A change is recorded in the plan and
    moves the end of the learning-rate schedule to the new last step."""
    left = config.epochs - epoch
    new = _plan_epochs(n_gold, n_views, replace(config, epochs=left), seconds_per_example, budget_s)
    if (new.gold, new.views) == current:
        return current
    plan.replanned.append({"after_epoch": epoch, "gold": new.gold, "views": new.views,
                           "seconds_per_example": round(seconds_per_example, 4), "budget_s": round(budget_s, 1)})
    steps["total"] = steps["done"] + left * _steps(new.gold + new.views, config.batch_size)
    return new.gold, new.views


def _batch_loss(out: dict, batch: list[int], examples: _Examples, loss_fns: dict, config: TrainConfig) -> torch.Tensor:
    """Cross-entropy on the gold labels; with a teacher, mixed with the KL divergence to its softened logits."""
    alpha, t = (config.distill_alpha, config.distill_temperature) if examples.soft is not None else (1.0, 1.0)
    loss = torch.zeros(())
    for a, loss_fn in loss_fns.items():
        logits = out[a].float()
        gold = torch.as_tensor(examples.gold[a][batch])
        has_gold = gold >= 0
        if alpha > 0 and has_gold.any():
            loss = loss + alpha * loss_fn(logits[has_gold], gold[has_gold])
        if examples.soft is None or alpha == 1:
            continue
        soft = torch.as_tensor(examples.soft[a][batch])
        has_soft = ~torch.isnan(soft).any(dim=1)
        if has_soft.any():
            target = torch.softmax(soft[has_soft] / t, dim=1)
            log_student = torch.log_softmax(logits[has_soft] / t, dim=1)
            # Scaled by t^2 so the soft term's gradients keep their size as t changes (Hinton et al., 2015).
            kd = torch.nn.functional.kl_div(log_student, target, reduction="batchmean") * t * t
            loss = loss + (1 - alpha) * kd
    return loss


def _train_epoch(model: FramingModel, ids, examples: _Examples, loss_fns, optimizer, scheduler, batches, pad: int, bar,
                 config: TrainConfig, bf16: bool) -> float:
    """One pass over the batches (forward under bf16 autocast when asked; weights and optimizer stay fp32)."""
    model.train()
    running = 0.0
    for step, batch in enumerate(bar, 1):
        input_ids, mask = pad_batch([ids[i] for i in batch], pad)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(input_ids=input_ids, attention_mask=mask)
        loss = _batch_loss(out, batch, examples, loss_fns, config)
        if not loss.requires_grad:  # views only, and the teacher's weight is 0: nothing to learn from this batch
            scheduler.step()  # the schedule still counts it, so the learning rate decays as planned
            continue
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        running += loss.item()
        bar.set_postfix(loss=f"{running / step:.3f}")
    model.eval()
    return running / max(1, len(batches))


def _fit(model: FramingModel, tokenizer, examples: _Examples, dev_rows: list[CorpusRow], axes: dict[str, list[str]],
         config: TrainConfig, progress: bool, deadline: float | None = None, overhead_passages: int = 0) -> _Run:
    """Fine-tune with early stopping on dev mean macro-F1; the model ends with its best epoch's weights.

    `deadline`: the `time.perf_counter()` by which this and everything after it (scoring `overhead_passages`
    passages) should be done, or None for no limit.
    """
    ids, _ = encode(tokenizer, examples.texts, config.max_length)
    loss_fns = _loss_functions({a: g[g >= 0] for a, g in examples.gold.items()}, axes, config.class_weights)
    pad = tokenizer.pad_token_id or 0
    run, best_score, best_state, stale = _Run(precision=training_precision(config.precision)), -1.0, None, 0
    n_gold = len(ids) - examples.views
    seconds_per_example = budget_s = None
    if deadline is not None:
        seconds_per_example, scoring = _probe_seconds(model, ids, examples, loss_fns, config, run.precision == "bf16", pad, n_gold)
        budget_s = _training_time_left(deadline, overhead_passages, scoring)
    run.plan = _plan_epochs(n_gold, examples.views, config, seconds_per_example, budget_s)
    if deadline is not None:
        run.plan.seconds_per_scored_passage = scoring
    if progress and run.plan.note != "no time budget":
        tqdm.write(f"{seconds_per_example * 1000:.0f} ms per training example here: {run.plan.gold} gold passages and "
                   f"{run.plan.views} teacher views per epoch ({run.plan.note})")
    optimizer, scheduler, steps = _optimizer(model, config, run.plan.gold + run.plan.views)
    predictor = _uncalibrated(model, tokenizer, config.max_length)
    generator = np.random.default_rng(config.seed)
    started, steps["done"], (gold, views) = time.perf_counter(), 0, (run.plan.gold, run.plan.views)
    for epoch in range(1, config.epochs + 1):
        whole = gold >= n_gold and views >= examples.views
        subset = None if whole else _epoch_examples(examples, views, generator, gold)
        batches = _length_bucketed_batches(ids, config.batch_size, generator, subset)
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=not progress, leave=False)
        epoch_started = time.perf_counter()
        loss = _train_epoch(model, ids, examples, loss_fns, optimizer, scheduler, batches, pad, bar, config, run.precision == "bf16")
        epoch_s, steps["done"], scoring_started = time.perf_counter() - epoch_started, steps["done"] + len(batches), time.perf_counter()
        score = _mean_macro_f1(predictor, dev_rows)
        if deadline is not None and epoch < config.epochs:  # still to score: the rest, at this dev pass's rate
            left = _training_time_left(deadline, overhead_passages - epoch * len(dev_rows),
                                       (time.perf_counter() - scoring_started) / max(len(dev_rows), 1))
            new = _replan(run.plan, (gold, views), n_gold, examples.views, config, epoch,
                          epoch_s / sum(map(len, batches)), left, steps)
            if progress and new != (gold, views):
                tqdm.write(f"re-planned from the measured epoch: {new[0]} gold passages and {new[1]} views per epoch")
            gold, views = new
        run.history.append({"epoch": epoch, "train_loss": loss, "dev_mean_macro_f1": score, "elapsed_s": round(time.perf_counter() - started, 1)})
        if progress:
            tqdm.write(f"epoch {epoch}: train loss {loss:.3f}, dev mean macro-F1 {score:.3f}")
        if score > best_score:
            best_score, run.best_epoch, stale = score, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            continue
        stale += 1
        if stale > config.patience:
            if progress:
                tqdm.write(f"early stop: no dev improvement for {stale} epochs")
            break
    model.load_state_dict(best_state)
    model.eval()
    run.seconds = time.perf_counter() - started
    return run


def _calibrate(model: FramingModel, tokenizer, dev_rows: list[CorpusRow], axes: dict[str, list[str]],
               max_length: int) -> tuple[dict[str, float], dict[str, dict]]:
    """One temperature per head, fitted on dev; and each head's ECE and NLL before and after."""
    predictor = _uncalibrated(model, tokenizer, max_length)
    dev_logits, _ = predictor.logits([r.text for r in dev_rows])
    dev_gold = gold_ids(dev_rows, axes)
    temperatures, calibration = {}, {}
    for a in axes:
        t = fit_temperature(dev_logits[a], dev_gold[a])
        before, after = softmax(dev_logits[a]), softmax(dev_logits[a], t)
        temperatures[a] = t
        calibration[a] = {"temperature": t, "ece_before": expected_calibration_error(before, dev_gold[a]),
                          "ece_after": expected_calibration_error(after, dev_gold[a]),
                          "nll_before": nll(before, dev_gold[a]), "nll_after": nll(after, dev_gold[a]), "n": len(dev_rows)}
    return temperatures, calibration


def _artifact_config(config: TrainConfig, run: _Run, temperatures: dict, calibration: dict, n_train: int, fingerprint: str) -> dict:
    """Everything the artifact records about the run (its metrics are added once the calibrated model is scored)."""
    stamp = datetime.now(timezone.utc)
    return {
        "model_version": f"framing-{stamp:%Y%m%d-%H%M%S}-{fingerprint[:8]}",
        "created": stamp.isoformat(timespec="seconds"),
        "base_model": config.base_model,
        "max_length": config.max_length,
        "temperatures": temperatures,
        "training_config": asdict(config),
        "corpus_fingerprint": fingerprint,
        "train_passages": n_train,
        "history": run.history,
        "best_epoch": run.best_epoch,
        "train_seconds": round(run.seconds, 1),
        "train_precision": run.precision,
        "machine": machine_info(),
        "calibration": calibration,
        "versions": library_versions(),
    }


def teacher_folder(config: TrainConfig, corpus_root: Path = LABELS_DIR) -> Path | None:
    """The teacher folder a run reads: none for "none"; under "auto" the corpus's teacher/ if `framing teach` wrote one."""
    if config.teacher == "none":
        return None
    if config.teacher == "auto":
        folder = Path(corpus_root) / TEACHER_DIR.name
        return folder if (folder / META_FILE).exists() else None
    return Path(config.teacher)


def resolve_teacher(config: TrainConfig, axes: dict[str, list[str]], corpus_root: Path = LABELS_DIR) -> Teacher | None:
    """The teacher a run learns from (see `teacher_folder`), read and checked against the schema's axes."""
    folder = teacher_folder(config, corpus_root)
    return None if folder is None else load_teacher(folder, axes)


def _distillation_record(teacher: Teacher | None, examples: _Examples, config: TrainConfig, corpus_root: Path) -> dict | None:
    """What the artifact records of its teacher: which one, how much of the training data it covered."""
    if teacher is None or examples.soft is None:
        return None
    return {"teacher_version": teacher.meta.get("teacher_version"), "teacher_base_model": teacher.meta.get("base_model"),
            "folder": str(teacher.folder), "alpha": config.distill_alpha, "temperature": config.distill_temperature,
            "views": examples.views, "passages_with_teacher_logits": examples.with_teacher,
            "teacher_corpus_fingerprint": teacher.meta.get("corpus_fingerprint"),
            "same_corpus": teacher.meta.get("corpus_fingerprint") == corpus_fingerprint(corpus_root)}


def train(config: TrainConfig, corpus, *, out_dir: Path | None = None, tokenizer: PreTrainedTokenizerBase | None = None,
          model: FramingModel | None = None, progress: bool = True, corpus_root: Path = LABELS_DIR) -> Predictor:
    """Train, calibrate and (if out_dir is given) save; returns a Predictor over the trained model.

    `tokenizer` and `model` override the base model (tests pass a tiny random BERT).
    """
    started = time.perf_counter()
    set_seed(config.seed)
    fingerprint = corpus_fingerprint(corpus_root)  # now, while `corpus` is what is on disk: a rebuild mid-run must not rename the data
    torch.set_num_threads(config.num_threads)
    axes = {a.name: list(a.labels) for a in load_schema().axes}
    train_rows, dev_rows, test_rows = _split_rows(config, corpus)
    tokenizer, model = _base(config, axes, tokenizer, model)
    teacher = resolve_teacher(config, axes, corpus_root)
    examples = _examples(train_rows, axes, teacher, config)
    distillation = _distillation_record(teacher, examples, config, corpus_root)
    if progress and distillation:
        tqdm.write(f"distilling from {distillation['teacher_version']}: teacher logits on {examples.with_teacher} of "
                   f"{len(train_rows)} passages, plus {examples.views} views"
                   + ("" if distillation["same_corpus"] else " (the corpus changed since `framing teach`: run it again)"))
    deadline = None if config.time_budget_minutes is None else started + 60 * config.time_budget_minutes
    # What is scored after the training steps: dev after each epoch and for calibration, the document rule's
    # articles (passages and headlines), then dev and test for the metrics.
    rule_rows = [d for split in config.document_rule_splits if split in corpus
                 for d, k in zip(corpus[split]["doc_id"], corpus[split]["source_kind"]) if k == "coverage"]
    rule_passages = len(rule_rows) + len(set(rule_rows))  # each article's passages and its headline
    overhead = (config.epochs + 2) * len(dev_rows) + len(test_rows) + rule_passages
    run = _fit(model, tokenizer, examples, dev_rows, axes, config, progress, deadline, overhead)
    temperatures, calibration = _calibrate(model, tokenizer, dev_rows, axes, config.max_length)
    artifact_config = _artifact_config(config, run, temperatures, calibration, len(train_rows), fingerprint)
    artifact_config["distillation"] = distillation
    artifact_config["epoch_plan"] = asdict(run.plan)
    predictor = Predictor(Artifact(model, tokenizer, artifact_config), batch_size=64)
    rule, rule_fit = choose_document_rule(predictor, config, corpus_root)
    artifact_config["document_rule"], artifact_config["document_rule_fit"] = rule.as_config(), rule_fit
    predictor.document_rule = rule
    artifact_config["metrics"] = {"dev": evaluate_rows(predictor, dev_rows), "test": evaluate_rows(predictor, test_rows)}
    artifact_config["run_seconds"] = round(time.perf_counter() - started, 1)  # the whole run but the saving
    if out_dir is not None:
        save_artifact(Path(out_dir), model, tokenizer, artifact_config)
        if progress:
            tqdm.write(f"saved {out_dir} ({artifact_config['model_version']}) after {run.seconds:.0f} s")
    return predictor


def summary(config: dict) -> str:
    """One short paragraph of the artifact's key figures, for the terminal."""
    lines = [f"model {config['model_version']}: trained {config['train_seconds']} s, best epoch {config['best_epoch']}"]
    for split in ("dev", "test"):
        for axis, rep in config.get("metrics", {}).get(split, {}).items():
            lo, hi = rep["macro_f1_ci95"]
            lines.append(f"  {split:<5}{axis:<16}macro-F1 {rep['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]  accuracy {rep['accuracy']:.3f}  n={rep['n']}")
    for axis, c in config.get("calibration", {}).items():
        lines.append(f"  calibration {axis:<16}T={c['temperature']:.2f}  ECE {c['ece_before']:.3f} -> {c['ece_after']:.3f}")
    return "\n".join(lines)
