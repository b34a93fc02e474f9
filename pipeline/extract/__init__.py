"""Trial facts and effect sizes from an abstract's text, each effect tied to its span.

`extract_text` is a pure function (no database): the `extract-text` command, the warehouse
stage (`pipeline.extract.store`) and the scorer (`pipeline.extract.scoring`) all call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.extract.effects import Effect, extract_effects

if TYPE_CHECKING:  # pipeline.classify uses pipeline.extract.numbers: import it late
    from pipeline.classify import TrialFacts

# Bump when a rule changes: the warehouse re-extracts every article made by an older version.
EXTRACTOR_VERSION = "1.2.0"

__all__ = ["EXTRACTOR_VERSION", "Effect", "ExtractionResult", "extract_text"]


@dataclass
class ExtractionResult:
    """What one abstract yields: the trial facts and the effects, in text order."""

    pmid: str
    trial: TrialFacts
    effects: list[Effect] = field(default_factory=list)
    extractor_version: str = EXTRACTOR_VERSION

    def to_dict(self) -> dict:
        """The JSON-lines form of `extract-text`: {"id", "trial", "effects"}."""
        return {
            "id": self.pmid,
            "trial": self.trial.to_dict(),
            "effects": [effect_to_json(e) for e in self.effects],
        }


def effect_to_json(effect: Effect) -> dict:
    """An effect as JSON: the contract's keys first (kind, value, ..., start, end), then extras."""
    data = effect.to_dict()
    keys = ["kind", "value", "ci_low", "ci_high", "p", "arm", "timepoint", "scale", "start", "end"]
    ordered = {key: data.pop(key) for key in keys}
    ordered.update(data)
    return ordered


def extract_text(
    pmid: str,
    title: str,
    abstract: str,
    *,
    publication_types: Iterable[str] = (),
    mesh: Iterable[str] = (),
) -> ExtractionResult:
    """Trial facts and effects of one article; offsets index into `abstract` exactly as given."""
    from pipeline.classify import classify

    title = title or ""
    abstract = abstract or ""
    trial = classify(title, abstract, publication_types=publication_types, mesh=mesh)
    return ExtractionResult(pmid=str(pmid), trial=trial, effects=extract_effects(abstract))
