"""Trial facts and effect sizes from an abstract's text, each effect tied to its span.

`extract_text` is a pure function (no database): the `extract-text` command, the warehouse
stage (`pipeline.extract.store`) and the scorer (`pipeline.extract.scoring`) all call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.extract.effects import Effect, assign_arms, extract_effects, study_arms

if TYPE_CHECKING:  # pipeline.classify uses pipeline.extract.numbers: import it late
    from pipeline.classify import TrialFacts

# Bump when a rule changes: the warehouse re-extracts every article made by an older version.
EXTRACTOR_VERSION = "1.3.0"

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
    effects = extract_effects(abstract)
    if effects:
        attribute_study_arms(effects, trial, title, abstract)
    return ExtractionResult(pmid=str(pmid), trial=trial, effects=effects)


def attribute_study_arms(
    effects: list[Effect], trial: TrialFacts, title: str, abstract: str
) -> None:
    """Arms the sentences leave open, from the study as a whole.

    A single-arm study of one drug (open label, no comparator): every per-arm effect is that
    drug's. A study whose title and abstract name exactly one comparison ("esketamine versus
    quetiapine XR"): pairs "X% vs Y%" and between-group effects take its arms, in its order.
    """
    single_drug = trial.drug and len(trial.drug) == 1
    if trial.design == "open_label" and single_drug and not trial.comparator:
        for effect in effects:
            if effect.arm is None:
                effect.arm = trial.drug[0]
        return
    if any(effect.arm is None for effect in effects):
        arms = study_arms(title, abstract)
        if arms:
            assign_arms(effects, *arms)
