"""Numbers needed to treat (and to harm, stored as "other" with its label), read by the
estimate pass (`statistics`) from their names below; an NNT of 0 is quarantined."""

from __future__ import annotations

from pipeline.extract.effect_rules.base import Example

STATISTIC_NAMES: dict[str, tuple[str, ...]] = {
    "nnt": ("number needed to treat", "numbers needed to treat", "NNT"),
    "nnh": ("number needed to harm", "numbers needed to harm", "NNH"),
}
LABELLED_AS_OTHER: dict[str, str] = {"nnh": "number needed to harm"}

RULES = ()
EXAMPLES: dict[str, tuple[Example, ...]] = {
    "named_statistic": (
        Example("The number needed to treat (NNT) was 6.", "nnt", 6.0),
        Example("For nausea the NNH was 9.", "other", 9.0),
    ),
    "statistic_list": (Example("NNTs were 5 and 7 at the two visits.", "nnt", 7.0),),
}
