"""Request and response models of the HTTP service, so /docs.json describes the real shapes.

Axis and label names come from the label schema (labels/schema.json); the limits from the settings.
Validation errors name the field and item index (`texts[3]`); serving.middleware turns them into one line.
"""

from typing import Annotated, Any, Literal, Optional, Union

from bentoml import IODescriptor
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, create_model, field_validator, model_validator
from pydantic_core import PydanticCustomError

from labels.schema import load_schema
from labels.segment import MIN_WORDS
from serving.config import Settings



def _check_id(value: Any) -> Union[str, int]:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PydanticCustomError("id_type", "an id must be a string or an integer, got {kind}", {"kind": type(value).__name__})
    return value


Id = Annotated[Union[str, int], PlainValidator(_check_id), WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}]})]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank_text", "text is empty or whitespace only")
    return text


# White space as Python's str.split() and str.strip() see it, spelled out for the schema's (ECMA-262) patterns:
# their \s also counts U+FEFF and misses U+001C-U+001F and U+0085.
SPACE = r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{SPACE}]"


def text_type(max_chars: int, what: str, *, pattern: str = NOT_BLANK, rule: str = "not blank") -> Any:
    """A non-blank string of at most max_chars characters; `pattern` and `rule` are what the schema says of it."""
    return Annotated[str, Field(max_length=max_chars, json_schema_extra={"pattern": pattern},
                                description=f"{what}: {rule}, at most {max_chars:,} characters"),
                     AfterValidator(_not_blank)]


# An article needs a passage: a line of six words or more (labels/segment.py MIN_WORDS) that is not a heading,
# byline or boilerplate. The schema says six words (every accepted article has them); the segmenter decides the
# rest, answering 422.
ARTICLE_PATTERN = f"[^{SPACE}]+(?:[{SPACE}]+[^{SPACE}]+){{{MIN_WORDS - 1}}}"  # six words: necessary, not sufficient
ARTICLE_RULE = ("at least one paragraph: a line of six words or more that reads as body text (one that ends a sentence); "
                "an article with none, only headings, bylines or boilerplate, gets 422")


def request_models(settings: Settings) -> tuple[type[BaseModel], type[BaseModel]]:
    """(ClassifyRequest, DocumentRequest) with the configured limits."""
    Text = text_type(settings.max_chars, "one passage")

    class ClassifyRequest(IODescriptor):
        """Passages to classify, in order; `ids` (optional) label the results, default: the position."""

        model_config = ConfigDict(extra="forbid")
        texts: list[Text] = Field(min_length=1, max_length=settings.max_texts,
                                  description=f"1 to {settings.max_texts} passages (or one passage as a plain string); "
                                              "longer ones than the model reads are truncated and flagged")
        ids: Optional[list[Id]] = Field(default=None, description="one id (string or integer) per text, echoed back; default: 0, 1, 2, ...")

        @field_validator("texts", mode="before")
        @classmethod
        def _one_text_is_a_list_of_one(cls, value: Any) -> Any:
            return [value] if isinstance(value, str) else value

        @model_validator(mode="after")
        def _one_id_per_text(self) -> "ClassifyRequest":
            if self.ids is not None and len(self.ids) != len(self.texts):
                raise PydanticCustomError("ids_length", "ids has {n_ids} items but texts has {n_texts}: give one id per text, or no ids",
                                          {"n_ids": len(self.ids), "n_texts": len(self.texts)})
            return self

    class DocumentRequest(IODescriptor):
        """One whole article; it is cut into passages, each classified, and the article labelled."""

        model_config = ConfigDict(extra="forbid")
        text: text_type(settings.max_document_chars, "the article", pattern=ARTICLE_PATTERN, rule=ARTICLE_RULE)  # type: ignore[valid-type]

    return ClassifyRequest, DocumentRequest


def _response_models() -> tuple[type[BaseModel], type[BaseModel]]:
    axes = load_schema().axes
    per_axis: dict[str, Any] = {}
    doc_axis: dict[str, Any] = {}
    for axis in axes:
        label = Literal[axis.labels]  # type: ignore[valid-type]
        probs = create_model(f"{_camel(axis.name)}Probs",
                             **{lab: (float, Field(ge=0.0, le=1.0)) for lab in axis.labels})
        probs.__doc__ = f"Calibrated probability of each {axis.name} label; they sum to 1."
        per_axis[axis.name] = (create_model(f"{_camel(axis.name)}", label=(label, ...), probs=(probs, ...)), ...)
        doc_axis[axis.name] = (create_model(f"Document{_camel(axis.name)}", label=(label, ...), probs=(probs, ...),
                                            supporting_passages=(list[int], Field(description="indexes of the passages "
                                                                 "predicted with this label, most confident first"))), ...)
    common = dict(per_axis, truncated=(bool, Field(description="the passage was longer than the model reads and was cut")),
                  model=(str, Field(description="version of the model that answered")))
    prediction = create_model("Prediction", id=(Id, Field(description="the request's id for this text, or its position")), **common)
    passage = create_model("Passage", index=(int, ...), start=(int, Field(description="character offset in the article")),
                           end=(int, ...), text=(str, ...), **common)
    headline = create_model("Headline", start=(int, Field(description="character offset in the article")), end=(int, ...),
                            text=(str, ...), **common)
    document = create_model("DocumentLabels", **doc_axis)
    document_prediction = create_model(
        "DocumentPrediction", __base__=IODescriptor, document=(document, ...), passages=(list[passage], ...),
        headline=(headline | None, Field(None, description="the title line above the first passage, scored and counted "
                                                           "toward the document labels; null when there is none")),
        model=(str, ...))
    return prediction, document_prediction


Prediction, DocumentPrediction = _response_models()
