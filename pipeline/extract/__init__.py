"""Trial facts and effect sizes from an abstract's text, each effect tied to its span.

`extract_text` is a pure function (no database): the `extract-text` command, the warehouse
stage (`pipeline.extract.store`) and the scorer (`pipeline.extract.scoring`) all call it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline import vocab
from pipeline.extract.arms import Arm, study_structure
from pipeline.extract.effect_rules.arm_assignment import (
    review_comparison,
    review_sentence_comparison,
    stated_arms_comparison,
)
from pipeline.extract.effects import Effect, QuarantinedEffect, extract_effects, study_arms

if TYPE_CHECKING:  # pipeline.classify uses pipeline.extract.numbers: import it late
    from pipeline.classify import TrialFacts

# Bump when a rule changes: the warehouse re-extracts every article made by an older version.
EXTRACTOR_VERSION = "1.11.0"

# Depression rating scales: when an abstract names exactly one, its efficacy results are on it.
DEPRESSION_SCALES = vocab.DEPRESSION_SCALES

__all__ = ["EXTRACTOR_VERSION", "Effect", "ExtractionResult", "QuarantinedEffect", "extract_text"]


@dataclass
class ExtractionResult:
    """What one abstract yields: the trial facts and the effects, in text order, and the
    effects found whose numbers cannot be output (quarantined, with the reason)."""

    pmid: str
    trial: TrialFacts
    effects: list[Effect] = field(default_factory=list)
    extractor_version: str = EXTRACTOR_VERSION
    quarantined: list[QuarantinedEffect] = field(default_factory=list)
    arms: list[Arm] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON-lines form of `extract-text`: {"id", "trial", "effects", "quarantined",
        "arms"}; each effect's `arm_id` and `comparator_arm_id` name an entry of "arms"."""
        return {
            "id": self.pmid,
            "trial": self.trial.to_dict(),
            "effects": [effect_to_json(e) for e in self.effects],
            "quarantined": [q.to_dict() for q in self.quarantined],
            "arms": [arm.to_dict() for arm in self.arms],
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
    single_arm, arms = arms_of_study(trial, title, abstract)
    depression_scales = [s for s in trial.scales or [] if s in DEPRESSION_SCALES]
    quarantined: list[QuarantinedEffect] = []
    effects = extract_effects(
        abstract,
        study_arms=arms,
        single_arm=single_arm,
        study_scale=depression_scales[0] if len(depression_scales) == 1 else None,
        quarantined=quarantined,
        sentence_arms=(
            (lambda text: review_sentence_comparison(title, text))
            if trial.design == "review"
            else None
        ),
    )
    arms_found = study_structure(str(pmid), abstract, trial, effects, title=title)
    return ExtractionResult(
        pmid=str(pmid), trial=trial, effects=effects, quarantined=quarantined, arms=arms_found
    )


def arms_of_study(
    trial: TrialFacts, title: str, abstract: str
) -> tuple[str | None, Callable[[], tuple[str, str] | None]]:
    """(single arm, a function finding the comparison) of a study, for the effects whose
    sentence names no arm.

    A single-arm study of one drug (open label, no comparator) has that drug as its single
    arm. Otherwise the comparison is the one the title and abstract name ("esketamine versus
    quetiapine XR"), else one drug against one placebo, midazolam or ECT comparator.
    """
    drugs = trial.drug or []
    if trial.design == "open_label" and len(drugs) == 1 and not trial.comparator:
        return drugs[0], lambda: None
    comparators = [c for c in trial.comparator or [] if c != "ketamine_dose"]

    def comparison() -> tuple[str, str] | None:
        arms = study_arms(title, abstract) or stated_arms_comparison(
            [str(arm["label"]) for arm in trial.arms]
        )
        if arms is None and trial.design == "review" and len(drugs) <= 1:
            arms = review_comparison(title, abstract)
        if (
            arms is None
            and len(drugs) == 1
            and len(comparators) == 1
            and comparators[0] in ("placebo", "midazolam", "ect")
        ):
            arms = (drugs[0], "ECT" if comparators[0] == "ect" else comparators[0])
        return arms

    return None, comparison


# "the MADRS score was lower in the ketamine group than in the midazolam group by 7.95 points":
# the text carries the direction, and the number is written as a positive size of benefit.
_DIRECTION_IN_WORDS_RE = re.compile(
    r"\b(?:lower|higher|greater|larger|smaller|less|more|fewer)\b[^.;()]{0,80}\bby\s*$",
    re.IGNORECASE,
)


def direction_in_words(effect: dict) -> str | None:
    """The words before a difference that state its direction ("lower ... by"), or None.

    Such a difference is written as a positive size, so its sign cannot be pooled with signed
    differences (drug minus comparator) without reading the words.
    """
    sentence = _present(effect.get("sentence"))
    sentence_start = _present(effect.get("sentence_start"))
    if sentence is None or sentence_start is None:
        return None
    before = sentence[: max(0, int(effect["start"]) - int(sentence_start))]
    match = _DIRECTION_IN_WORDS_RE.search(before)
    return match.group(0).strip() if match else None


def _present(value):
    """None for a missing value (None or NaN, as a DataFrame row gives it), else the value."""
    return None if value is None or (isinstance(value, float) and value != value) else value
