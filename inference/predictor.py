"""The one prediction path: evaluation, the HTTP service and the batch scorer all call `Predictor`.

Tokenisation, truncation, batching, temperature scaling, label decoding and document aggregation
live here and nowhere else, so what is measured is what is served. A backend (inference/backends.py)
replaces only the forward pass from padded token ids to per-axis logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from inference.artifact import Artifact, ArtifactError, load_artifact
from inference.backends import ONNX_FILES, Forward, open_backend, resolve_backend, torch_forward
from labels.schema import load_schema
from labels.segment import Dropped, Segmentation, segment

SUPPORTING_PASSAGES = 3


@dataclass(frozen=True)
class DocumentRule:
    """How an article's passage probabilities add up to its labels (guidelines 1.4: headline, lead, conclusion).

    The artifact records the rule chosen on its dev documents (training/document_rule.py); an artifact
    without one uses these defaults, chosen on the 25 authored dev documents of the first round: the lead
    and the conclusion weigh double; the headline counts like one body passage (mean accuracy 0.72 without
    it, 0.78 at weight 1 and 2, the smaller wins the tie); an axis's "no signal" label (schema
    `absent_label`) needs 70% of the weighted probability, since an article that explains motives in two
    passages out of six still rests on that explanation (motive accuracy 0.36 with a plain argmax, 0.72).
    """

    lead_conclusion_weight: float = 2.0
    headline_weight: float = 1.0
    absent_share: float = 0.7

    def __post_init__(self):
        if self.lead_conclusion_weight <= 0 or self.headline_weight < 0:
            raise ValueError("lead_conclusion_weight must be above 0 and headline_weight 0 or more")
        if not 0 < self.absent_share <= 1:
            raise ValueError(f"absent_share must be in (0, 1], got {self.absent_share}")

    @classmethod
    def from_config(cls, config: dict) -> "DocumentRule":
        """The rule an artifact recorded, or the defaults."""
        return cls(**config.get("document_rule", {}))

    def weights(self, n_body: int, has_headline: bool) -> np.ndarray:
        """Normalised weights of the body passages, then the headline if any."""
        weights = np.ones(n_body + int(has_headline))
        weights[0] = weights[n_body - 1] = self.lead_conclusion_weight
        if has_headline:
            weights[-1] = self.headline_weight
        return weights / weights.sum()

    def labels(self, matrices: dict[str, np.ndarray], n_body: int, has_headline: bool, axes: dict[str, list[str]],
               absent_labels: dict[str, str]) -> dict[str, tuple[str, np.ndarray]]:
        """Per axis, (label, weighted mean probabilities) from the passages' probability matrix."""
        w = self.weights(n_body, has_headline)
        out = {}
        for a, labels in axes.items():
            mean = w @ matrices[a]
            out[a] = (document_label(mean, labels, absent_labels.get(a), self.absent_share), mean)
        return out


# Used when the artifact records no measured batch size (not exported) and the caller gives none.
DEFAULT_BATCH_SIZE = 32


class InputError(ValueError):
    """A text the predictor cannot score; the message names the item index."""


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def check_texts(texts: object) -> list[str]:
    """A list of non-empty strings, or an InputError naming the first bad item."""
    if isinstance(texts, str):
        raise InputError("texts must be a list of strings, not one string; wrap it in a list")
    if not isinstance(texts, (list, tuple)):
        raise InputError(f"texts must be a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputError(f"texts[{i}] must be a string, got {type(t).__name__}")
        if not t.strip():
            raise InputError(f"texts[{i}] is empty or whitespace only")
    return list(texts)


def encode(tokenizer, texts: list[str], max_length: int) -> tuple[list[list[int]], list[bool]]:
    """Token ids per text, cut to max_length (keeping the final [SEP]), and whether each was cut.

    Tokenising once without truncation tells us which texts were cut, at no extra cost.
    """
    ids = tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    out, truncated = [], []
    for seq in ids:
        cut = len(seq) > max_length
        if cut:
            seq = seq[: max_length - 1] + [seq[-1]]
        out.append(seq)
        truncated.append(cut)
    return out, truncated


def token_lengths(tokenizer, texts: list[str], max_length: int) -> list[int]:
    """Tokens per text as the model reads it: the one place token counts come from."""
    return [len(seq) for seq in encode(tokenizer, texts, max_length)[0]]


def token_budget(batch_size: int, lengths: list[int]) -> int:
    """The padded-token budget that goes with a batch size: that many passages of median length."""
    ordered = sorted(lengths)
    return int(batch_size * ordered[len(ordered) // 2])


def plan_batches(lengths: list[int], batch_size: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices in batches: sorted by length, each at most `batch_size` texts and `max_tokens` padded tokens.

    Sorting means each batch pads only to its own longest text; the token budget buckets long texts
    into smaller batches, so every batch stays near the size that measured fastest on this CPU.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        # Ascending order: the text being added is the batch's longest, so padded size = count × its length.
        full = len(current) >= batch_size or (max_tokens is not None and (len(current) + 1) * lengths[i] > max_tokens)
        if current and full:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def pad_batch(ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad a batch to its longest sequence; returns (input_ids, attention_mask)."""
    width = max(len(seq) for seq in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return input_ids, mask


def headline(seg: Segmentation) -> Dropped | None:
    """The article's title: its first heading line above the first passage, if it has one.

    Lines under six words are not headings to the segmenter (they may be bylines or datelines), so a
    very short title is not counted.
    """
    if not seg.passages:
        return None
    return min((d for d in seg.dropped if d.reason == "heading" and d.end <= seg.passages[0].start),
               key=lambda d: d.start, default=None)


def document_texts(spans: list, title: Dropped | None) -> list[str]:
    """What a document is scored on: its passages, then its headline if it has one."""
    return [s.text for s in spans] + ([title.text] if title else [])


def document_label(mean: np.ndarray, labels: list[str], absent: str | None, absent_share: float = DocumentRule.absent_share) -> str:
    """The document's label from its weighted-mean probabilities: the absent label needs `absent_share`."""
    if absent is None or mean[labels.index(absent)] >= absent_share:
        return labels[int(mean.argmax())]
    others = [i for i, lab in enumerate(labels) if lab != absent]
    return labels[max(others, key=lambda i: mean[i])]


class Predictor:
    """Scores passages and documents with a trained artifact, through one backend."""

    def __init__(self, artifact: Artifact, *, batch_size: int | None = None, num_threads: int | None = None,
                 backend: str | None = None, require_qualified: bool = True):
        """`backend` None: the fastest backend that qualified at export and runs here (fp32 if none was exported).

        `batch_size` None: the one measured fastest for that backend at export. `require_qualified=False`
        lets export and benchmark run backends that did not (or not yet) clear the agreement bar.
        """
        for name, value in (("batch_size", batch_size), ("num_threads", num_threads)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer of at least 1, got {value!r}")
        self.artifact = artifact
        self.model = artifact.model.eval()
        self.tokenizer = artifact.tokenizer
        self.config = artifact.config
        self.axes: dict[str, list[str]] = artifact.model.axes
        self.temperatures: dict[str, float] = {a: float(artifact.config.get("temperatures", {}).get(a, 1.0)) for a in self.axes}
        self.max_length = int(artifact.config["max_length"])
        self.absent_labels = {ax.name: ax.absent_label for ax in load_schema().axes if ax.absent_label in self.axes.get(ax.name, ())}
        self.document_rule = DocumentRule.from_config(artifact.config)
        if num_threads:
            torch.set_num_threads(num_threads)
        # Both engines get the same explicit thread count (ONNX Runtime would otherwise pick its own).
        self.num_threads = num_threads or torch.get_num_threads()
        self.backend = resolve_backend(self.config, artifact.path, backend, require_qualified=require_qualified)
        record = self.config.get("backends", {}).get("results", {}).get(self.backend, {})
        self.batch_size = batch_size or int(record.get("batch_size") or DEFAULT_BATCH_SIZE)
        # The measured token budget belongs with the measured batch size, not with one the caller chose.
        self.max_batch_tokens = None if batch_size else record.get("max_batch_tokens")
        self._forward = open_backend(self.backend, artifact, self.num_threads)
        if self.backend in ONNX_FILES:
            self._refuse_if_diverging(record, require_qualified)

    @classmethod
    def from_artifact(cls, path: str | Path, **kwargs) -> "Predictor":
        """Load the artifact folder (safetensors only, ONNX files only as exported) and wrap it."""
        return cls(load_artifact(Path(path)), **kwargs)

    @property
    def version(self) -> str:
        return self.artifact.version

    def _refuse_if_diverging(self, record: dict, required: bool) -> None:
        """Run the recorded check passages through this backend and fp32; refuse the backend if they differ."""
        texts = self.config.get("backends", {}).get("check_texts")
        tolerance = record.get("load_tolerance")
        if not texts or tolerance is None:
            if required:
                raise ArtifactError(f"{self.artifact.path}: framing_config.json records no load check for {self.backend}; "
                                    f"run `framing export --model {self.artifact.path}` again")
            return
        reference, _ = self._logits(texts, torch_forward(self.model), len(texts))
        got, _ = self._logits(texts, self._forward, len(texts))
        diff = max(float(np.abs(reference[a] - got[a]).max()) for a in self.axes)
        if not diff <= tolerance:  # also refuses NaN
            raise ArtifactError(f"{self.artifact.path}: the {self.backend} export's outputs diverge from the fp32 model "
                                f"(largest logit difference {diff:.4g}, tolerance {tolerance:.4g}); refusing it; "
                                f"run `framing export --model {self.artifact.path}` again or choose backend fp32")

    def _batching(self, batch_size: int | None, max_batch_tokens: int | None) -> tuple[int, int | None]:
        """This call's batch size and token budget: the predictor's own unless the caller names a batch size.

        As in the constructor, the measured token budget belongs with the measured batch size, so a
        caller's batch size comes with the caller's budget (None: no budget).
        """
        if batch_size is None:
            return self.batch_size, self.max_batch_tokens
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer of at least 1, got {batch_size!r}")
        return batch_size, max_batch_tokens

    def _logits(self, texts: list[str], forward, batch_size: int, max_tokens: int | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        ids, truncated = encode(self.tokenizer, texts, self.max_length)
        out = {a: np.zeros((len(texts), len(labels)), dtype=np.float32) for a, labels in self.axes.items()}
        pad = self.tokenizer.pad_token_id or 0
        for idx in plan_batches([len(seq) for seq in ids], batch_size, max_tokens):
            input_ids, mask = pad_batch([ids[i] for i in idx], pad)
            result = forward(input_ids, mask)
            for a in self.axes:
                out[a][idx] = result[a]
        return out, np.array(truncated, dtype=bool)

    def logits(self, texts: list[str], *, batch_size: int | None = None, max_batch_tokens: int | None = None,
               forward: Forward | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Raw logits per axis (n × labels) and truncation flags, in input order.

        `batch_size` / `max_batch_tokens` batch this call differently (see `_batching`); `forward` runs
        another forward pass (e.g. a candidate export) on the same tokenisation and batching.
        """
        size, budget = self._batching(batch_size, max_batch_tokens)
        return self._logits(check_texts(texts), forward or self._forward, size, budget)

    def calibrate(self, logits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Calibrated probabilities: softmax of logits divided by each head's fitted temperature."""
        return {a: softmax(z, self.temperatures[a]) for a, z in logits.items()}

    def probabilities(self, texts: list[str], *, batch_size: int | None = None,
                      max_batch_tokens: int | None = None) -> dict[str, np.ndarray]:
        """Calibrated probabilities per axis (n × labels) for many texts, in input order."""
        logits, _ = self.logits(texts, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        return self.calibrate(logits)

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Tokens per text as the model reads it (special tokens included, cut at max_length)."""
        return token_lengths(self.tokenizer, texts, self.max_length)

    def predict(self, texts: list[str], *, batch_size: int | None = None, max_batch_tokens: int | None = None) -> list[dict]:
        """Per text: for each axis the label and calibrated probability of every label; truncation flag."""
        logits, truncated = self.logits(texts, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        probs = self.calibrate(logits)
        results = []
        for i in range(len(truncated)):
            rec = {}
            for a, labels in self.axes.items():
                p = probs[a][i]
                rec[a] = {"label": labels[int(p.argmax())], "probs": {lab: round(float(v), 6) for lab, v in zip(labels, p)}}
            rec["truncated"] = bool(truncated[i])
            rec["model"] = self.version
            results.append(rec)
        return results

    @staticmethod
    def segment_document(text: str) -> tuple[list, Dropped | None]:
        """An article's passages and headline (or None); an InputError if it holds no passage."""
        if not isinstance(text, str):
            raise InputError(f"text must be a string, got {type(text).__name__}")
        if not text.strip():
            raise InputError("text is empty or whitespace only")
        seg = segment(text)
        if not seg.passages:
            raise InputError("no passage found in text: it holds only headings, bylines or other lines shorter than a paragraph")
        return seg.passages, headline(seg)

    def score_document(self, text: str) -> tuple[list, Dropped | None, list[dict]]:
        """Segment an article and score it: (passages, headline or None, predictions of passages then headline)."""
        spans, title = self.segment_document(text)
        return spans, title, self.predict(document_texts(spans, title))

    def predict_document(self, text: str, *, rule: DocumentRule | None = None) -> dict:
        """Segment an article, score each passage and aggregate to document labels by the artifact's DocumentRule.

        Per axis, the document's probabilities are the weighted mean of its passages' calibrated
        probabilities (lead, conclusion and headline weighted by the rule); the label is the most probable
        one, except that an axis's absent label (schema `absent_label`) needs the rule's `absent_share`, else
        the most probable other label wins. The passages that support the label are those predicted with
        it, most confident first. `rule` overrides the artifact's (to compare rules on the same scores).
        """
        spans, title, preds = self.score_document(text)
        return self.aggregate_document(spans, title, preds, rule or self.document_rule)

    def aggregate_document(self, spans: list, title: Dropped | None, preds: list[dict], rule: DocumentRule) -> dict:
        """Document labels from `score_document`'s output under `rule`."""
        passages = [{"index": i, "start": s.start, "end": s.end, "text": s.text, **p} for i, (s, p) in enumerate(zip(spans, preds))]
        matrices = {a: np.array([[p[a]["probs"][lab] for lab in labels] for p in preds]) for a, labels in self.axes.items()}
        doc: dict = {}
        for a, (label, mean) in rule.labels(matrices, len(spans), title is not None, self.axes, self.absent_labels).items():
            support = sorted((p for p in passages if p[a]["label"] == label), key=lambda p: -p[a]["probs"][label])
            doc[a] = {
                "label": label,
                "probs": {lab: round(float(v), 6) for lab, v in zip(self.axes[a], mean)},
                "supporting_passages": [p["index"] for p in support[:SUPPORTING_PASSAGES]],
            }
        head = {"start": title.start, "end": title.end, "text": title.text, **preds[-1]} if title else None
        return {"document": doc, "passages": passages, "headline": head, "model": self.version}
