"""The one machine-readable label schema; every other module reads label names from here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.json")


class SchemaError(ValueError):
    """A label, axis or vocabulary value that the schema does not know."""


@dataclass(frozen=True)
class Axis:
    name: str
    description: str
    labels: tuple[str, ...]
    definitions: dict[str, str]
    absent_label: str | None = None  # the label meaning "no signal"; documents take it only when passages agree

    def index(self, label: str) -> int:
        """Position of `label` on this axis; raises SchemaError listing the valid labels."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise SchemaError(
                f"{label!r} is not a {self.name} label; valid labels: {', '.join(self.labels)}"
            ) from None


@dataclass(frozen=True)
class Schema:
    version: str
    axes: tuple[Axis, ...]
    hard_case_tags: dict[str, str]
    topics: dict[str, str]
    adjacent_topics: tuple[str, ...]
    outlet_styles: dict[str, str]

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def axis(self, name: str) -> Axis:
        for a in self.axes:
            if a.name == name:
                return a
        raise SchemaError(f"unknown axis {name!r}; valid axes: {', '.join(self.axis_names)}")


def _parse(raw: dict) -> Schema:
    for a in raw["axes"]:
        absent = a.get("absent_label")
        if absent is not None and absent not in [lab["name"] for lab in a["labels"]]:
            raise SchemaError(f"axis {a['name']}: absent_label {absent!r} is not one of its labels")
    axes = tuple(
        Axis(
            name=a["name"],
            description=a["description"],
            labels=tuple(lab["name"] for lab in a["labels"]),
            definitions={lab["name"]: lab["definition"] for lab in a["labels"]},
            absent_label=a.get("absent_label"),
        )
        for a in raw["axes"]
    )
    return Schema(
        version=str(raw["version"]),
        axes=axes,
        hard_case_tags=dict(raw["hard_case_tags"]),
        topics=dict(raw["topics"]),
        adjacent_topics=tuple(raw["adjacent_topics"]),
        outlet_styles=dict(raw["outlet_styles"]),
    )


@lru_cache(maxsize=None)
def load_schema(path: Path = SCHEMA_PATH) -> Schema:
    """Read the schema file (cached: it never changes while a process runs)."""
    return _parse(json.loads(Path(path).read_text(encoding="utf-8")))
