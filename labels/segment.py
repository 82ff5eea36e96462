"""Split an article into passages (paragraphs and list items) and drop what is not a passage.

The corpus builder and the predictor's `predict_document` both call `segment()`, so a document is
cut the same way when it is annotated and when it is scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_WORDS = 6  # below this a line is a dateline, byline, heading or button label
HEADING_MAX_WORDS = 25  # longer unpunctuated lines are treated as paragraphs that lost their full stop
STANDFIRST_MAX_WORDS = 60  # ...except above the first passage, where a long unpunctuated line is a standfirst
QUESTION_HEADING_MAX_WORDS = 14

_LIST_MARKER = re.compile(r"^\s*(?:[-*•·▪●–—]|\d{1,2}[.)])\s*")
_END_PUNCT = re.compile(r"[.!?…][\"'”’)\]]*$|[\"”’]$")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")  # _END_PUNCT without the bare closing quote
# A line that opens the tail of a web page: everything after it is teasers, bios or comments.
_TAIL_MARKER = re.compile(
    r"^(latest stories|related (stories|sources|articles|posts|content|coverage)|read (more|next)|"
    r"more (from|stories).*|you may also like|recommended( for you)?|comments?|leave a reply|"
    r"article reference|about the (creator|author)|author experience.*|subscribe|trending( now)?|"
    r"most read|share this( article| story)?)\s*:?\s*$",
    re.IGNORECASE,
)
# (reason, pattern, longest line it applies to): the length cap keeps body text that merely
# mentions a newsletter or starts "By contrast" from being mistaken for boilerplate.
_BOILERPLATE = [
    ("caption", re.compile(r"\((?:photo|image|picture|credit)s?\b[^)]*\)\s*$", re.IGNORECASE), 80),
    ("caption", re.compile(r"\([^)]*(getty|afp|reuters|ap photo|shutterstock|images|yonhap|kcna|epa|via)[^)]*\)\s*\.?$", re.IGNORECASE), 80),
    ("caption", re.compile(r"^(image|photo|picture) (credit|source)s?\s*:", re.IGNORECASE), 40),
    ("subscription", re.compile(r"\b(subscribe|newsletter|premium content|sign up|notifications|devices at once|paywall)\b", re.IGNORECASE), 20),
    ("copyright", re.compile(r"\b(copyright|all rights reserved|used with permission)\b", re.IGNORECASE), 20),
    ("byline", re.compile(r"^([Bb]y|[Ww]ritten by|[Rr]eporting by|[Ee]dited by)\s+(Dr\.? |Prof\.? )?[A-Z][\w.'-]+(,? (and |Dr\.? )?[A-Z][\w.'-]+){0,7}\s*([,|].*)?$"), 16),
    ("byline", re.compile(r"^[A-Z][\w.'-]+( [A-Z][\w.'-]+){1,3},? is an? [^.]{0,60}\b(journalist|writer|reporter|correspondent|editor|columnist)\b"), 80),
    ("metadata", re.compile(r"\b(topic|tags|region|brand)\s*:", re.IGNORECASE), 40),
    ("url", re.compile(r"^\S*(https?://|www\.)\S*$", re.IGNORECASE), 3),
]
# Image placeholders leave runs of random alphanumeric tokens such as "AD 4nXf Cv7x9Ffsab5".
_JUNK_TOKEN = re.compile(r"^(?=\S*\d)(?=\S*[A-Za-z])\S+$|^\S*[a-z]\S*[A-Z]\S*[A-Z]\S*$")


@dataclass(frozen=True)
class Span:
    """A stretch of the source text: `text == source[start:end]`."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Dropped:
    text: str
    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class Segmentation:
    passages: list[Span]
    dropped: list[Dropped]


def _lines(text: str):
    """Yield (line, start offset) for each line, without the newline."""
    pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        yield stripped, pos
        pos += len(line)


def _blocks(text: str) -> list[Span]:
    """Paragraph candidates: each non-empty line, with hard-wrapped lines joined back together.

    Articles copied from the web hold one paragraph per line; text wrapped at a fixed width
    continues a sentence on the next line, which we detect by the previous line not ending a
    sentence and the next not being a list item.
    """
    blocks: list[list[int]] = []  # [start, end]
    prev_line = ""
    for line, start in _lines(text):
        if not line.strip():
            prev_line = ""
            continue
        lead = len(line) - len(line.lstrip())
        s, e = start + lead, start + len(line.rstrip())
        continues = (
            blocks
            and prev_line
            and not _END_PUNCT.search(prev_line.rstrip())
            and len(prev_line.split()) > HEADING_MAX_WORDS // 2
            and not _LIST_MARKER.match(line)
            and line.lstrip()[:1].islower()
        )
        if continues:
            blocks[-1][1] = e
        else:
            blocks.append([s, e])
        prev_line = line
    return [Span(text[s:e], s, e) for s, e in blocks]


def _strip_marker(block: Span) -> Span:
    m = _LIST_MARKER.match(block.text)
    if not m or not block.text[m.end():].strip():
        return block
    start = block.start + m.end()
    return Span(block.text[m.end():], start, block.end)


def _title_case(words: list[str]) -> bool:
    long = [w for w in words if len(w.strip("\"'“”‘’:,?!")) >= 4]
    return bool(long) and sum(w.lstrip("\"'“‘")[:1].isupper() for w in long) / len(long) >= 0.7


def _drop_reason(text: str) -> str | None:
    words = text.split()
    if len(words) < MIN_WORDS:
        return "too_short"
    if sum(bool(_JUNK_TOKEN.match(w)) for w in words) / len(words) > 0.3:
        return "image_placeholder"
    for reason, pattern, max_words in _BOILERPLATE:
        if len(words) <= max_words and pattern.search(text):
            return reason
    if not _END_PUNCT.search(text) and len(words) <= HEADING_MAX_WORDS:
        return "heading"
    if not text.rstrip().endswith(".") and _title_case(words) and len(words) <= HEADING_MAX_WORDS:
        return "heading"
    if text.rstrip("\"'”’").endswith("?") and len(words) <= QUESTION_HEADING_MAX_WORDS:
        return "heading"
    return None


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def segment(text: str) -> Segmentation:
    """Cut `text` into passages; everything left out is returned in `dropped` with its reason."""
    if not isinstance(text, str):
        raise TypeError(f"segment() needs a str, got {type(text).__name__}")
    passages: list[Span] = []
    dropped: list[Dropped] = []
    seen: set[str] = set()
    in_tail = False
    for block in _blocks(text):
        block = _strip_marker(block)
        if in_tail or _TAIL_MARKER.match(block.text.strip()):
            in_tail = True
            dropped.append(Dropped(block.text, block.start, block.end, "page_tail"))
            continue
        reason = _drop_reason(block.text)
        if reason is None and not passages and not _SENTENCE_END.search(block.text) \
                and len(block.text.split()) <= HEADING_MAX_WORDS:
            # A headline ending on a quotation (`Kim calls his army "invincible"`): a closing quote ends a
            # body sentence only after its full stop, so here it is a heading, not a passage.
            reason = "heading"
        if reason is None and not passages and not _END_PUNCT.search(block.text) \
                and len(block.text.split()) <= STANDFIRST_MAX_WORDS:
            reason = "standfirst"
        if reason is None and _normalise(block.text) in seen:
            reason = "repeated"  # a standfirst repeated as the conclusion, say
        if reason:
            dropped.append(Dropped(block.text, block.start, block.end, reason))
            continue
        seen.add(_normalise(block.text))
        passages.append(block)
    return Segmentation(passages, dropped)
