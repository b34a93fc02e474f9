"""Small warehouses built for a test: one made-up article with its arms (core.arms) and effects
pointing at them, every effect verified, so that what readers make of the study structure can
be checked without the extractor."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import warehouse
from pipeline.evidence import review
from pipeline.extract import store


@dataclass
class ArmRow:
    """One core.arms row; `label` must be written in the abstract (its span is found there)."""

    position: int
    label: str
    role: str
    drug: str | None
    dose: float | None = None
    dose_unit: str | None = None
    dose_text: str | None = None
    route: str | None = None
    n_randomized: int | None = None


@dataclass
class EffectRow:
    """One core.effects row; `quote` must be written in the abstract (after `after`, if given)."""

    kind: str
    value: float
    quote: str
    arm: int | None = None  # position of its arm in core.arms
    comparator: int | None = None
    ci: tuple[float, float] | None = None
    label: str | None = None
    timepoint: str | None = None
    timepoint_days: float | None = None
    scale: str | None = None
    subgroup: str | None = None
    n_events: int | None = None
    n_total: int | None = None
    after: str = ""
    arm_words: str | None = None  # core.effects.arm (the rules' words; readers must not need it)


@dataclass
class Study:
    pmid: str
    abstract: str
    design: str
    drugs: list[str]
    routes: list[str]
    arms: list[ArmRow] = field(default_factory=list)
    effects: list[EffectRow] = field(default_factory=list)
    n_randomized: int | None = None
    title: str = "A made-up trial of a drug for depression"
    year: int = 2024


def build(template: Path, path: Path, studies: list[Study], verify: bool = True) -> Path:
    """A copy of the empty template warehouse at `path` holding `studies`, effects verified."""
    shutil.copy(template, path)
    con = warehouse.connect(path)
    now = warehouse.now()
    con.execute(
        "INSERT INTO core.runs (run_id, started_at, finished_at, status, mode) "
        "VALUES ('run-1', ?, ?, 'completed', 'snapshot')",
        [now, now],
    )
    for study in studies:
        _insert(con, study, now)
    if verify:
        ids = list(review.current_effects(con).effect_id)
        review.record_decisions(con, [review.Decision(i, review.VERIFIED) for i in ids], "Tester")
    con.close()
    return path


def _insert(con, study: Study, now) -> None:
    con.execute(
        "INSERT INTO core.articles (pmid, title, abstract, journal_title, journal_iso, pub_year, "
        "is_retracted, has_erratum, source, checksum, run_id, loaded_at) "
        "VALUES (?, ?, ?, 'Journal of Made-up Trials', 'J Made-up Trials', ?, false, false, "
        "'snapshot', 'x', 'run-1', ?)",
        [study.pmid, study.title, study.abstract, study.year, now],
    )
    con.execute(
        "INSERT INTO core.authors (pmid, position, last_name, fore_name, initials) "
        "VALUES (?, 1, 'Tester', 'Ann', 'A')",
        [study.pmid],
    )
    con.execute(
        "INSERT INTO core.trial_facts (pmid, extractor_version, article_checksum, design, drugs, "
        "routes, n_randomized, extracted_at) VALUES (?, 'test', 'x', ?, ?, ?, ?, ?)",
        [study.pmid, study.design, study.drugs, study.routes, study.n_randomized, now],
    )
    for arm in study.arms:
        start = study.abstract.find(arm.label)
        con.execute(
            "INSERT INTO core.arms (arm_id, pmid, extractor_version, position, label, "
            "start_offset, end_offset, role, drug, dose, dose_unit, dose_text, route, "
            "n_randomized, extracted_at) VALUES (?, ?, 'test', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [f"{study.pmid}:{arm.position}", study.pmid, arm.position, arm.label,
             start if start >= 0 else None, start + len(arm.label) if start >= 0 else None,
             arm.role, arm.drug, arm.dose, arm.dose_unit, arm.dose_text, arm.route,
             arm.n_randomized, now],
        )  # fmt: skip
    for effect in study.effects:
        begin = study.abstract.index(effect.after) if effect.after else 0
        start = study.abstract.index(effect.quote, begin)
        end = start + len(effect.quote)
        sentence, sentence_start = review.sentence_around(study.abstract, start, end)
        low, high = effect.ci or (None, None)
        con.execute(
            "INSERT INTO core.effects (effect_id, pmid, extractor_version, kind, label, value, "
            "ci_low, ci_high, n_events, n_total, arm, timepoint, scale, start_offset, end_offset, "
            "quote, sentence, sentence_start, extracted_at, arm_id, comparator_arm_id, subgroup, "
            "timepoint_days) VALUES (?, ?, 'test', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?)",
            [store.effect_id(study.pmid, effect.kind, start, end), study.pmid, effect.kind,
             effect.label, effect.value, low, high, effect.n_events, effect.n_total,
             effect.arm_words, effect.timepoint, effect.scale, start, end, effect.quote, sentence,
             sentence_start, now,
             f"{study.pmid}:{effect.arm}" if effect.arm else None,
             f"{study.pmid}:{effect.comparator}" if effect.comparator else None,
             effect.subgroup, effect.timepoint_days],
        )  # fmt: skip
