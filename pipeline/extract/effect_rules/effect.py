"""What the rules produce: an effect tied to its span, or a quarantined one with the reason."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from pipeline import vocab
from pipeline.extract.effect_rules.reading import _TooLargeCount, _Unrepresentable
from pipeline.extract.numbers import shown_number

RATE_KINDS = vocab.RATE_KINDS
BETWEEN_GROUP_KINDS = vocab.BETWEEN_GROUP_KINDS


@dataclass
class Effect:
    """One reported effect, tied to the characters of the abstract it came from."""

    kind: str
    value: float
    start: int
    end: int
    quote: str
    sentence: str
    sentence_start: int
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    p: float | None = None
    p_operator: str | None = None
    se: float | None = None
    n_events: int | None = None
    n_total: int | None = None
    arm: str | None = None
    timepoint: str | None = None
    scale: str | None = None
    label: str | None = None
    rule: str | None = None  # the name of the rule that read it (pipeline.extract.rules)
    # Study structure (pipeline.extract.arms): the arm it is about and the arm it is compared
    # with, the timepoint in days, "lower"/"higher" when words give the direction of a
    # difference, the population its sentence names, and the subgroup (not read yet: None).
    arm_id: str | None = None
    comparator_arm_id: str | None = None
    timepoint_days: float | None = None
    direction: str | None = None
    population: str | None = None
    subgroup: str | None = None

    def to_dict(self) -> dict:
        """The effect as a plain dict (the JSON-lines form of `extract-text`)."""
        return asdict(self)


@dataclass
class QuarantinedEffect:
    """An effect the rules found whose numbers cannot be output: its kind, span and why."""

    kind: str
    quote: str
    start: int
    end: int
    reason: str

    def to_dict(self) -> dict:
        """The JSON form: {"kind", "quote", "start", "end", "reason"}."""
        return asdict(self)


_FIELD_NAMES = {
    "value": "value", "ci_low": "lower CI bound", "ci_high": "upper CI bound", "se": "SE",
    "p": "p-value", "n_events": "count", "n_total": "count",
}  # fmt: skip


def quarantine_reason(effect: Effect) -> str | None:
    """Why an effect cannot be output, or None: a number that cannot be represented, or a
    value impossible for its kind (a response, remission or relapse rate outside 0-100%)."""
    for name, field_name in _FIELD_NAMES.items():
        number = getattr(effect, name)
        if isinstance(number, _Unrepresentable | _TooLargeCount):
            return f"the {field_name} {shown_number(number.text)} {number.reason}"
        if isinstance(number, float) and not math.isfinite(number):
            return f"the {field_name} is not a finite number"
    if effect.kind in RATE_KINDS and not 0 <= effect.value <= 100:
        return f"a {effect.kind} of {_shown(effect.value)} is not a share of patients (0 to 100)"
    if effect.kind in vocab.RATIO_KINDS:
        for name in ("value", "ci_low", "ci_high"):
            number = getattr(effect, name)
            if number is not None and number <= 0:
                what = f"a {effect.kind}" if name == "value" else f"the {_FIELD_NAMES[name]}"
                return f"{what} of {_shown(number)} is impossible (a ratio is above 0)"
    if effect.kind == "nnt" and effect.value == 0:
        return "an NNT of 0 is impossible (at least one patient is treated)"
    return None


def _shown(number: float) -> int | float:
    """A number as a reason shows it: 150 rather than 150.0."""
    return int(number) if float(number).is_integer() else number
