"""Trial facts from a record: design, drug, route, population, comparator, N randomized, arms.

Publication types and MeSH decide where the record has them; the title and abstract
otherwise. Anything the text does not state stays None (never guessed). The rules live in
`pipeline.extract.facts`, one module per family; this module assembles them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from pipeline.extract.facts.arms_stated import stated_arms
from pipeline.extract.facts.design import design as study_design
from pipeline.extract.facts.dose import dose, schedule
from pipeline.extract.facts.drugs_routes import (
    _ROUTES,
    drugs_in,
    routes_in,
    study_drugs,
    study_routes,
    without_background,
)
from pipeline.extract.facts.matching import (
    LOWER_NOT_ASCII_SAFE as _LOWER_NOT_ASCII_SAFE,
)
from pipeline.extract.facts.matching import Gated as _Gated
from pipeline.extract.facts.matching import first_character_form
from pipeline.extract.facts.sample_size import (
    _ENROLLED_NEEDLES,
    _N_ENROLLED_PATTERNS,
    _N_RANDOMIZED_PATTERNS,
    _RANDOMIZED_NEEDLES,
    arms_in_outcome_counts,
    cohorts,
    first_count,
    patients_and_controls,
    sample_size,
    split_total,
    total_n,
)
from pipeline.extract.facts.terms import (
    _ANAESTHESIA_RE,
    _CAPITAL_NEEDLES,
    _COMPARATORS,
    _DEPRESSION_RE,
    _POPULATIONS,
    _SCALE_NAMES,
    _capital_needles_in,
    _has_needle,
    labels,
    study_comparators,
    study_population,
)

# Names the tests and older callers import from here.
_labels = labels
__all__ = [
    "_CAPITAL_NEEDLES", "_COMPARATORS", "_Gated", "_LOWER_NOT_ASCII_SAFE", "_POPULATIONS",
    "_ROUTES", "_SCALE_NAMES", "TrialFacts", "_capital_needles_in", "_has_needle", "_labels",
    "classify", "comparators_named", "dose_written", "drugs_named", "first_character_form",
    "routes_named", "without_background",
]  # fmt: skip


@dataclass
class TrialFacts:
    """The facts of one study, in the vocabularies of the extraction contract."""

    design: str | None = None
    drug: list[str] | None = None
    route: list[str] | None = None
    comparator: list[str] | None = None
    population: list[str] | None = None
    n_randomized: int | None = None
    arms: list[dict] = field(default_factory=list)
    scales: list[str] | None = None
    dose: str | None = None
    schedule: str | None = None
    anaesthesia_or_pain: bool | None = None

    def to_dict(self) -> dict:
        """The `trial` object of `extract-text`."""
        return asdict(self)


# The designs whose sample size is read (not reviews, meta-analyses or other designs).
COUNTED_DESIGNS = (
    "rct", "crossover_rct", "post_hoc", "protocol", "open_label", "observational", None,
)  # fmt: skip


def classify(
    title: str,
    abstract: str,
    *,
    publication_types: Iterable[str] = (),
    mesh: Iterable[str] = (),
) -> TrialFacts:
    """The trial facts of one record, from its publication types, MeSH and text."""
    pubtypes = {p.strip() for p in publication_types if p}
    mesh_terms = {m.strip().lower() for m in mesh if m}
    text = f"{title} {abstract}"
    design = study_design(title, abstract, pubtypes)
    facts = TrialFacts(design=design)
    facts.drug = study_drugs(title, abstract)
    if {"ketamine"} & mesh_terms and not facts.drug:
        facts.drug = ["ketamine"]
    facts.route = study_routes(title, abstract) if facts.drug else None
    facts.population = study_population(text)
    facts.comparator = study_comparators(text, design)
    facts.scales = labels(_SCALE_NAMES, text, 0) or None
    # A design not recognised (None) is read as well: its abstract may still state its sample.
    if design in COUNTED_DESIGNS:
        randomized = arms_in_outcome_counts(abstract) or first_count(
            _N_RANDOMIZED_PATTERNS, abstract, _RANDOMIZED_NEEDLES
        )
        facts.n_randomized = randomized
        facts.arms = stated_arms(abstract, design) if design != "protocol" else []
        trial = design in ("rct", "crossover_rct")
        if randomized is None and trial and len(facts.arms) >= 2:
            # the arms' sizes, all stated, before a count enrolled ahead of a lead-in or screening
            facts.n_randomized = sum(arm["n"] for arm in facts.arms)
        elif randomized is None:
            facts.n_randomized = (
                split_total(abstract)
                or patients_and_controls(abstract)
                or first_count(_N_ENROLLED_PATTERNS, abstract, _ENROLLED_NEEDLES)
            )
        found = cohorts(abstract) if design in ("observational", "post_hoc") else []
        if len(found) >= 2:  # claims and registry cohorts, or a trial's arms in a post hoc
            facts.n_randomized = sum(n for _, n in found)
            if design == "post_hoc" and not facts.arms:
                facts.arms = [{"label": label, "n": n} for label, n in found]
        if facts.n_randomized is None and len(facts.arms) >= 2:
            facts.n_randomized = sum(arm["n"] for arm in facts.arms)
        if facts.n_randomized is None:
            facts.n_randomized = total_n(abstract)
        if facts.n_randomized is None and design in ("open_label", "observational", None):
            facts.n_randomized = sample_size(abstract)
    facts.dose = dose(abstract) if facts.drug else None
    facts.schedule = schedule(abstract) if facts.drug else None
    anaesthesia = bool(_ANAESTHESIA_RE.search(text))
    facts.anaesthesia_or_pain = anaesthesia and (
        not _DEPRESSION_RE.search(title)
        or bool(re.search(r"postoperative|perioperative", title, re.I))
    )
    if pubtypes & {"Anesthesia"} or "anesthesia" in mesh_terms:
        facts.anaesthesia_or_pain = True
    if not text.strip():
        facts.anaesthesia_or_pain = None  # nothing to go on
    return facts


# --- the same vocabulary for short labels (registry groups, arm titles) -----------------------


def drugs_named(text: str) -> list[str]:
    """The drugs a short label names (ketamine, esketamine, arketamine), as the extractor reads."""
    return drugs_in(text)


def routes_named(text: str) -> list[str]:
    """The routes a short label or description names (iv, intranasal, oral, sc, im, sublingual)."""
    return routes_in(text) or []


def comparators_named(text: str) -> list[str]:
    """The comparators a label names (placebo, midazolam, ect, antidepressant, other)."""
    return labels(_COMPARATORS, text)


def dose_written(text: str) -> str | None:
    """The first dose written in mg or mg/kg, as written ("56 mg"); None when there is none."""
    return dose(text)
