"""The evidence sheet for patients: plain-language statements built only from verified effects.

Each number in a statement is the text of a verified effect's span as the abstract writes it
(`abstract[start:end]`), so it can be traced to its PMID and span; the HTML carries the effect id
on every number. Statements are grouped by treatment (IV ketamine, intranasal esketamine) and
topic, each with the kind of evidence, the number of people and an AMA citation. The clinic's own
outcomes follow, small counts suppressed and labelled as the clinic's data.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import jinja2
import lxml.html
import pandas as pd

from pipeline import vocab, warehouse
from pipeline.errors import PipelineError
from pipeline.evidence import citations, corrections, review
from pipeline.evidence.readability import Reading, flesch_kincaid_grade, measure
from pipeline.extract import direction_in_words
from pipeline.extract.store import read_arms

log = logging.getLogger(__name__)

HTML_NAME = "evidence-sheet.html"
MARKDOWN_NAME = "evidence-sheet.md"
PDF_NAME = "evidence-sheet.pdf"
SMALL_COUNT_THRESHOLD = 11

# A number as an abstract writes it: "26.7%", "-5.1", "\u22123.8", ".49"; a hyphen between two
# digits ("0.29-0.84") is a range dash, not a minus sign.
NUMBER_TOKEN = re.compile(r"(?<![\w.])(?:[-\u2212](?=[\d.]))?(?:\d+(?:\.\d+)?|\.\d+)(?: ?%)?")

_SPACED_NEGATIVE = re.compile(r"(?<![\w.])[-\u2212] ((?:\d+(?:\.\d+)?|\.\d+))(?![\d.])")


def parse_number(token: str) -> float:
    """The value of a number as written: '\u22123.8' -> -3.8, '26.7%' -> 26.7, '- 15.2' -> -15.2."""
    return float(token.replace("\u2212", "-").replace(" ", "").rstrip("%"))


def _is_percent(parts: list) -> bool:
    """The value is written as a percent, or as 'n of N'."""
    return len(parts) == 3 or (isinstance(parts[0], Figure) and parts[0].text.endswith("%"))


@dataclass(frozen=True)
class Treatment:
    """A treatment the sheet covers: which trial facts place an effect under it."""

    key: str
    title: str
    drug: str
    route: str


TREATMENTS = (
    Treatment("iv_ketamine", "IV ketamine (infusion into a vein)", "ketamine", "iv"),
    Treatment("intranasal_esketamine", "Esketamine nasal spray", "esketamine", "intranasal"),
)


@dataclass(frozen=True)
class Topic:
    """A question patients ask, with a plain-language introduction."""

    key: str
    heading: str
    intro: str


TOPICS = (
    Topic(
        "speed",
        "How fast does it work?",
        "Some studies checked mood within hours or a day or two of the first dose.",
    ),
    Topic(
        "response",
        "How many people got better?",
        "A response means depression scores fell by at least half. "
        "Remission means few or no symptoms were left.",
    ),
    Topic(
        "size",
        "How much did symptoms change?",
        "These results compare depression scores with another group. "
        "A minus sign means scores were lower, which means fewer symptoms.",
    ),
    Topic(
        "relapse",
        "How long does it last? Does depression come back?",
        "A relapse means the depression came back after it got better.",
    ),
    Topic(
        "side_effects",
        "Common side effects and how often they happened",
        "These are the side effects the study reported for the people who got the drug.",
    ),
)

# The designs the sheet shows (protocols, case reports and other articles are left out).
EVIDENCE_LABELS = {
    code: vocab.DESIGN_DISPLAY[code]
    for code in ("rct", "crossover_rct", "open_label", "post_hoc", "observational", "review")
}

COMPARATIVE_DESIGNS = vocab.COMPARATIVE_DESIGNS

_EARLY_TIMEPOINT = re.compile(
    r"\b(\d+\s*(?:h|hr|hrs|hours?|minutes?|min)\b|day\s*[12]\b|first dose|24-hour|hour)",
    re.IGNORECASE,
)
_RATIO_KINDS = vocab.RATIO_KINDS
# What a label must name for an effect to count as a side effect (others are left out).
_SIDE_EFFECT = re.compile("|".join(map(re.escape, vocab.SIDE_EFFECT_STEMS)), re.IGNORECASE)
_SCORE_KINDS = vocab.SCORE_KINDS


@dataclass(frozen=True)
class Figure:
    """One number shown on the sheet: its text as the abstract writes it, and where it is from."""

    text: str
    effect_id: str
    pmid: str
    quote: str
    start: int
    end: int


@dataclass
class Statement:
    """One sentence about one verified effect: text pieces and Figures, in order."""

    parts: list[str | Figure]
    effect_id: str  # the effect the statement leads with
    registry_check: str | None = None  # provenance: the ClinicalTrials.gov cross-check, if any
    registry_status: str | None = None  # 'agrees' | 'differs' | 'no_counterpart'
    corrections: list[str] = field(default_factory=list)  # provenance: reviewers' corrections
    effect_ids: list[str] = field(default_factory=list)  # every effect it shows, lead first

    def __post_init__(self) -> None:
        if not self.effect_ids:
            self.effect_ids = [self.effect_id]

    @property
    def plain_text(self) -> str:
        """The sentence with its numbers as written."""
        return "".join(p.text if isinstance(p, Figure) else p for p in self.parts)

    @property
    def reading_grade(self) -> float:
        """The Flesch-Kincaid grade of this statement on its own."""
        return flesch_kincaid_grade(self.plain_text)

    @property
    def figures(self) -> list[Figure]:
        return [p for p in self.parts if isinstance(p, Figure)]


@dataclass
class StudyFindings:
    """What one study says under one topic, with its evidence label and citation."""

    pmid: str
    evidence_label: str
    statements: list[Statement]
    citation_html: str
    citation_markdown: str
    pubmed_url: str
    doi_url: str | None
    has_erratum: bool = False


@dataclass
class TopicSection:
    topic: Topic
    studies: list[StudyFindings]


@dataclass
class TreatmentSection:
    treatment: Treatment
    topics: list[TopicSection]


@dataclass
class ClinicSection:
    """The clinic's own outcomes as tables, small counts suppressed."""

    available: bool
    synthetic: bool = False
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    message: str = ""


@dataclass
class EvidenceSheet:
    """Everything the templates need; built by build_sheet."""

    generated_at: datetime
    schema_version: int
    run_id: str | None
    sections: list[TreatmentSection]
    approval: dict
    clinic: ClinicSection
    n_verified: int
    n_not_shown: int  # verified results about other drugs, routes or questions
    unreviewed: int
    n_no_arm: int = 0  # verified results not shown because no arm id says whose they are

    @property
    def n_statements(self) -> int:
        return sum(
            len(study.statements)
            for section in self.sections
            for topic in section.topics
            for study in topic.studies
        )

    def plain_language_passages(self) -> list[str]:
        """Every passage written for patients, as the page shows it: the notices, topic
        introductions, statements, FDA facts and the clinic's notes (data-plain in the HTML)."""
        document = lxml.html.fromstring(_render_html(self, reading=None))
        return [" ".join(e.text_content().split()) for e in document.xpath("//*[@data-plain]")]

    def plain_language_text(self) -> str:
        """All the text written for patients, as one text."""
        return " ".join(text for text, _ in self.reading.passages)

    @functools.cached_property
    def reading(self) -> Reading:
        """The Flesch-Kincaid grade of each passage written for patients and of them all."""
        return measure(self.plain_language_passages())

    @property
    def reading_grade(self) -> float:
        """Flesch-Kincaid grade of all the text written for patients."""
        return self.reading.grade


# --- reading the warehouse ----------------------------------------------------------------------


def _as_list(value) -> list[str]:
    """A trial-fact vocabulary value as a list: list, JSON list text, plain text or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v) for v in json.loads(text)]
        return [text] if text else []
    return [str(v) for v in value]


def trial_facts(con) -> dict[str, dict]:
    """Per PMID: drugs, routes (lists), design, n_randomized from core.trial_facts."""
    columns = warehouse.table_columns(con, "core.trial_facts")
    if not columns:
        log.warning("the warehouse has no core.trial_facts: no effect can be placed by treatment")
        return {}
    drugs = "drugs" if "drugs" in columns else "drug"
    routes = "routes" if "routes" in columns else "route"
    facts = {}
    for pmid, drug, route, design, n in con.execute(
        f"SELECT pmid, {drugs}, {routes}, design, n_randomized FROM core.trial_facts"
    ).fetchall():
        designs = _as_list(design)
        facts[pmid] = {
            "drug": _as_list(drug),
            "route": _as_list(route),
            "design": designs[0] if designs else None,
            "n_randomized": n,
        }
    return facts


def warehouse_version(con) -> tuple[int, str | None]:
    """The schema version and the id of the last completed ingest run (None if none)."""
    version = warehouse.schema_version(con)
    row = con.execute(
        "SELECT run_id FROM core.runs WHERE status = 'completed' "
        "ORDER BY coalesce(finished_at, started_at) DESC LIMIT 1"
    ).fetchone()
    return version, row[0] if row else None


def load_approval(today=None) -> dict:
    """The regulatory paragraph, rendered from the bundled facts file with each fact's source
    and the date it was last checked (and a notice when that is more than a year ago)."""
    from pipeline.evidence import regulatory

    facts = [f for f in regulatory.load_facts() if f.topic != "boxed_warning_history"]
    today = today or warehouse.now().date()
    return {
        "statement": " ".join(fact.plain for fact in facts),
        "facts": facts,
        "last_checked": regulatory.last_checked(facts).isoformat(),
        "stale": regulatory.stale_notice(facts, today),
    }


# --- statements -----------------------------------------------------------------------------


def _value(effect: pd.Series, name: str):
    """A field of an effect, None when missing (None, NaN or pandas NA)."""
    return review._none_if_nan(effect.get(name))


def figure_for(effect: pd.Series, value: float | None, after: int = 0) -> Figure | None:
    """The first number in the effect's quote (from `after`) equal to `value`, as written."""
    if value is None:
        return None
    for match in NUMBER_TOKEN.finditer(effect.quote, after):
        if abs(parse_number(match[0]) - float(value)) <= 1e-9:
            return Figure(
                match[0], effect.effect_id, effect.pmid, effect.quote, effect.start, effect.end
            )
    if float(value) < 0:  # "- 15.2": a minus sign set apart from its number
        for match in _SPACED_NEGATIVE.finditer(effect.quote, after):
            if abs(-parse_number(match[1]) - float(value)) <= 1e-9:
                return Figure(
                    match[0], effect.effect_id, effect.pmid, effect.quote, effect.start, effect.end
                )
    return None


def topic_of(effect: pd.Series) -> str | None:
    """Which topic an effect answers (None: not one the sheet covers)."""
    label = (_value(effect, "label") or "").lower()
    timepoint = _value(effect, "timepoint") or ""
    sentence, _ = review.sentence_around(effect.abstract, effect.start, effect.end)
    if effect.kind == "relapse_rate" or "relaps" in label:
        return "relapse"
    if effect.kind in (*_RATIO_KINDS, "percent_change") and "relaps" in sentence.lower():
        return "relapse"
    if effect.kind == "nnt":
        return None
    if effect.kind == "other" or label:
        return "side_effects" if _SIDE_EFFECT.search(label) else None
    if effect.kind in (
        "response_rate",
        "remission_rate",
        *_SCORE_KINDS,
    ) and _EARLY_TIMEPOINT.search(timepoint):
        return "speed"
    if effect.kind in ("response_rate", "remission_rate"):
        return "response"
    if effect.kind in _SCORE_KINDS:
        return "size"
    return None


def _on(arm: str | None) -> str:
    return f" with {arm}" if arm else ""


def _people(arm: str | None, counted: bool = False) -> str:
    """' of people with placebo', or ' of people treated' in a single-group study; after a
    count ("4 of 15") ' people with placebo'."""
    who = f" people with {arm}" if arm else " people treated"
    return who if counted else f" of{who}"


_LEADING_PREPOSITION = re.compile(
    r"(within|after|at|by|through|during|over|before|up to|from|in)\b", re.IGNORECASE
)


def _at(timepoint: str | None) -> str:
    if not timepoint:
        return ""
    if _LEADING_PREPOSITION.match(timepoint):
        return f" {timepoint}"
    if re.match(r"(day|week|month|visit|end|baseline)\b", timepoint, re.I) or re.search(
        r"\b(after|post)", timepoint, re.I
    ):
        return f" at {timepoint}"
    return f" after {timepoint}"


def _label_text(label: str) -> str:
    return label[:1].upper() + label[1:]


# --- arms, as the study structure gives them (core.arms) ----------------------------------------

# The words the sheet uses for an arm's drug: the ketamine forms and the comparators every reader
# knows by one name; any other treatment is named by its label as the abstract writes it.
_ARM_DRUG_WORDS: dict[str, str] = {
    **{d.code: d.display for d in vocab.DRUGS},
    **{c.code: c.display for c in vocab.COMPARATORS if c.code in ("placebo", "midazolam", "ect")},
}


@dataclass(frozen=True)
class ArmShown:
    """An arm as the sheet names it, with the drug, route and role core.arms gives it (None for a
    reviewer's correction that names no arm of the study)."""

    words: str
    drug: str | None = None
    route: str | None = None
    role: str | None = None
    dose_text: str | None = None
    arm_id: str | None = None

    @property
    def identity(self) -> str:
        """The arm of the study it is (its id), or the reviewer's words when it names none."""
        return self.arm_id or self.words.casefold()


def arm_words(record: dict) -> str:
    """How the sheet names an arm of core.arms: its drug in plain words with its dose as written
    ('esketamine 84 mg', 'ECT', 'placebo'); any other treatment by its label as written."""
    drug = review._none_if_nan(record.get("drug"))
    words = _ARM_DRUG_WORDS.get(drug) or record["label"]
    dose = review._none_if_nan(record.get("dose_text"))
    return f"{words} {dose}" if dose and dose not in words else words


def _shown(record: dict, words: str | None = None) -> ArmShown:
    return ArmShown(
        words or arm_words(record),
        review._none_if_nan(record.get("drug")),
        review._none_if_nan(record.get("route")),
        review._none_if_nan(record.get("role")),
        review._none_if_nan(record.get("dose_text")),
        record["arm_id"],
    )


def effect_arm(
    effect: pd.Series, which: str, by_id: dict[str, dict], by_pmid: dict[str, list[dict]]
) -> ArmShown | None:
    """The arm (`which` = 'arm') or comparator ('comparator') of an effect: the core.arms row its
    arm id points at, or a reviewer's correction (in the reviewer's words, with the study's arm
    it names when it names one); None when neither says."""
    column = "arm_id" if which == "arm" else "comparator_arm_id"
    if which in review._listed(effect.get("corrected_fields")):
        text = _value(effect, which)
        if not text:
            return None
        record = corrections.arm_named(text, by_pmid.get(effect.pmid, []))
        return _shown(record, text) if record else ArmShown(text)
    record = by_id.get(_value(effect, column) or "")
    return _shown(record) if record else None


def comparator_words(arm: ArmShown, comparator: ArmShown) -> str:
    """The comparator as the sheet names it; 'another dose of esketamine' when it is an arm of
    the same drug whose dose is not stated (its own dose is named when it is)."""
    if (
        comparator.drug is not None
        and comparator.drug == arm.drug
        and comparator.drug in vocab.DRUG_CODES
        and not comparator.dose_text
        and comparator.words == _ARM_DRUG_WORDS[comparator.drug]
    ):
        return f"another dose of {comparator.words}"
    return comparator.words


# --- statements -----------------------------------------------------------------------------

_ONE_ARM_KINDS = (*vocab.RATE_KINDS, "other", "mean_change", "percent_change")


@dataclass(eq=False)
class Measured:
    """One verified effect ready for a statement: its arm and comparator from the study
    structure, its topic and the section it belongs to."""

    effect: pd.Series
    arm: ArmShown
    comparator: ArmShown | None
    topic: str
    treatment: Treatment


def _value_parts(effect: pd.Series) -> list[str | Figure] | None:
    """The effect's number as its quote writes it ("46%", "4 of 15"); None when not written."""
    value = figure_for(effect, _value(effect, "value"))
    if value is not None:
        parts: list[str | Figure] = [value]
    else:
        events, total = _value(effect, "n_events"), _value(effect, "n_total")
        first = figure_for(effect, events)
        second = figure_for(effect, total, effect.quote.find(first.text) + 1) if first else None
        if not (first and second):
            log.warning(
                "effect %s (PMID %s): value %s is not written in its quote %r; left out",
                effect.effect_id, effect.pmid, effect.value, effect.quote,
            )  # fmt: skip
            return None
        parts = [first, " of ", second]
    if effect.kind in vocab.RATE_KINDS and not _is_percent(parts):
        parts.append("%")  # "64 and 28%": the percent sign is written once, after the last
    return parts


def _in_subgroup(subgroup: str | None, parts: list[str | Figure]) -> list[str | Figure]:
    """'In stable remitters, ' before a statement about a subgroup."""
    if not subgroup:
        return parts
    first = parts[0]
    if isinstance(first, str):
        parts = [first[:1].lower() + first[1:], *parts[1:]]
    return [f"In {subgroup}, ", *parts]


def statement_for(
    effect: pd.Series,
    topic: str,
    arm: str | None = None,
    comparator: str | None = None,
) -> Statement | None:
    """A plain-language sentence for one effect about `arm` (compared with `comparator`), both
    named as the study structure gives them; None when its value is not in its own quote."""
    parts_value = _value_parts(effect)
    if parts_value is None:
        return None
    kind = effect.kind
    if kind == "other" and not _is_percent(parts_value):
        log.info("effect %s (PMID %s): %s is not a rate; left out", effect.effect_id, effect.pmid,
                 "".join(p.text if isinstance(p, Figure) else p for p in parts_value))  # fmt: skip
        return None
    value = parts_value[0] if len(parts_value) == 1 or parts_value[1] == "%" else None
    timepoint = _value(effect, "timepoint")
    if comparator:
        arm = f"{arm} compared with {comparator}" if arm else None
    counted = len(parts_value) == 3  # "4 of 15": the people are named without another "of"
    label, scale = _value(effect, "label"), _value(effect, "scale")
    ci = _ci_parts(effect, value if isinstance(value, Figure) else None)
    if kind == "response_rate":
        parts = [*parts_value, f"{_people(arm, counted)} had a response{_at(timepoint)}."]
    elif kind == "remission_rate":
        parts = [*parts_value, f"{_people(arm, counted)} were in remission{_at(timepoint)}."]
    elif kind == "relapse_rate":
        parts = [*parts_value, f"{_people(arm, counted)} had a relapse{_at(timepoint)}."]
    elif kind in _RATIO_KINDS:
        name = kind.replace("_", " ")
        what = label or ("relapse" if topic == "relapse" else "the outcome")
        parts = [f"For {what}{_on(arm)}, the {name} was ", *parts_value, *ci, ". "]
        parts.append("Below 1 means it happened less often than in the other group.")
    elif kind == "other":
        parts = [f"{_label_text(label)}: ", *parts_value, f"{_people(arm, counted)}."]
    elif kind == "percent_change" and topic == "relapse":
        parts = ["The risk of relapse differed by ", *parts_value, f"{_on(arm)}{_at(timepoint)}."]
    elif kind in ("mean_change", "mean_difference") and label:
        on_scale = f" on the {scale} scale" if scale else ""
        unit = " mmHg" if "mmhg" in label.lower() else " points"
        parts = [f"{_label_text(label)}: ", *parts_value, f"{unit}{on_scale}{_on(arm)}"]
        parts += [*ci, f"{_at(timepoint)}."]
    elif kind == "mean_difference" and (worded := direction_in_words(effect)):
        # "lower in the ketamine group than in the midazolam group by 7.95": the abstract's words
        # carry the direction, so a bare "differed by 7.95" would read as the opposite.
        on_scale = f" on the {scale} scale" if scale else ""
        parts = [f"Scores were {worded} ", *parts_value, f" points{on_scale}", *ci]
        parts += [f"{_at(timepoint)}."]
    elif kind == "mean_difference":
        on_scale = f" on the {scale} scale" if scale else ""
        parts = ["Scores differed by ", *parts_value, f" points{on_scale}{_on(arm)}"]
        parts += [*ci, f"{_at(timepoint)}."]
    elif kind in ("smd", "cohens_d", "hedges_g"):
        parts = ["The effect size was ", *parts_value, *ci, f"{_on(arm)}{_at(timepoint)}. "]
        parts.append("About 0.5 is a medium effect and 0.8 is a large one.")
    elif kind == "mean_change":
        on_scale = f" on the {scale} scale" if scale else ""
        parts = ["Scores changed by ", *parts_value, f" points{on_scale}{_on(arm)}"]
        parts += [*ci, f"{_at(timepoint)}."]
    elif kind == "percent_change":
        parts = ["Scores changed by ", *parts_value, f"{_on(arm)}{_at(timepoint)}."]
    else:
        return None
    parts = _in_subgroup(_value(effect, "subgroup"), parts)
    return Statement([p for p in parts if p != ""], effect.effect_id)


def _join_items(items: list[list[str | Figure]]) -> list[str | Figure]:
    """'a', 'a and b', 'a, b and c'."""
    joined: list[str | Figure] = []
    for index, item in enumerate(items):
        if index:
            joined.append(" and " if index == len(items) - 1 else ", ")
        joined.extend(item)
    return joined


def arms_statement(group: list[Measured]) -> Statement | None:
    """One statement for several arms' results from one sentence (same kind, label, timepoint,
    scale and subgroup), led by the first: '46% of people with ketamine and 63% with ECT were in
    remission.' None when a number is not written in its quote."""
    if len(group) == 1:
        only = group[0]
        return statement_for(only.effect, only.topic, only.arm.words)
    first = group[0].effect
    kind, timepoint = first.kind, _value(first, "timepoint")
    items = []
    for index, measured in enumerate(group):
        effect = measured.effect
        value = _value_parts(effect)
        if value is None or (kind == "other" and not _is_percent(value)):
            return None
        counted = len(value) == 3
        figure = value[0] if isinstance(value[0], Figure) and len(value) <= 2 else None
        ci = _ci_parts(effect, figure) if kind in ("mean_change",) else []
        if kind in ("mean_change", "percent_change"):
            unit = " points" if kind == "mean_change" and index == 0 else ""
            items.append([*value, unit, f" with {measured.arm.words}", *ci])
        elif index == 0:
            items.append([*value, _people(measured.arm.words, counted)])
        else:
            items.append([*value, f" with {measured.arm.words}"])
    listed = _join_items(items)
    scale = _value(first, "scale")
    on_scale = f" on the {scale} scale" if scale else ""
    endings = {
        "response_rate": " had a response",
        "remission_rate": " were in remission",
        "relapse_rate": " had a relapse",
    }
    if kind in endings:
        parts = [*listed, f"{endings[kind]}{_at(timepoint)}."]
    elif kind == "other":
        parts = [f"{_label_text(_value(first, 'label'))}: ", *listed, "."]
    elif kind == "mean_change":
        parts = ["Scores changed by ", *listed, f"{on_scale}{_at(timepoint)}."]
    else:  # percent_change
        parts = ["Scores changed by ", *listed, f"{_at(timepoint)}."]
    parts = _in_subgroup(_value(first, "subgroup"), parts)
    ids = [m.effect.effect_id for m in group]
    return Statement([p for p in parts if p != ""], ids[0], effect_ids=ids)


def _ci_parts(effect: pd.Series, value: Figure | None) -> list[str | Figure]:
    """' (likely range 0.29 to 0.84)' when both CI bounds are written in the quote."""
    low, high = _value(effect, "ci_low"), _value(effect, "ci_high")
    if low is None or high is None or value is None:
        return []
    after = effect.quote.find(value.text) + len(value.text)
    first = figure_for(effect, low, after)
    if first is None:
        return []
    second = figure_for(effect, high, effect.quote.find(first.text, after) + len(first.text))
    if second is None:
        return []
    return [" (likely range ", first, " to ", second, ")"]


def _study_label(facts: dict) -> str:
    label = EVIDENCE_LABELS[facts["design"]]
    n = facts.get("n_randomized")
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return f"{label}, number of people not stated"
    return f"{label}, {int(n)} people"


def treatment_of(
    facts: dict | None, arm_drug: str | None, arm_route: str | None = None
) -> Treatment | None:
    """The treatment an effect is about, from its arm's drug and route in core.arms.

    An arm of a ketamine form goes to that form's section when the trial gives it by that
    section's route; a comparator arm (or an arm a reviewer named in words only) goes to the
    trial's section only when the trial studies one drug by one route. Nothing else is placed.
    """
    if not facts:
        return None
    fitting = [t for t in TREATMENTS if t.drug in facts["drug"] and t.route in facts["route"]]
    if arm_drug in vocab.DRUG_CODES:
        named = [
            t for t in fitting if t.drug == arm_drug and (arm_route is None or t.route == arm_route)
        ]
        return named[0] if len(named) == 1 else None
    if len(fitting) == 1 and len(facts["drug"]) == 1 and len(facts["route"]) == 1:
        return fitting[0]
    return None


def _arms_by_pmid(con) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """core.arms rows by arm id and by PMID."""
    rows = read_arms(con).to_dict("records")
    by_pmid: dict[str, list[dict]] = {}
    for row in rows:
        by_pmid.setdefault(row["pmid"], []).append(row)
    return {row["arm_id"]: row for row in rows}, by_pmid


def _groups(measured: list[Measured]) -> list[list[Measured]]:
    """Results of several arms from one sentence that say the same thing of each arm, together;
    every other result alone. In text order; within a group, the section's drug's arms first."""
    groups: dict[tuple, list[Measured]] = {}
    order: list[tuple] = []
    for index, item in enumerate(measured):
        effect = item.effect
        if effect.kind in _ONE_ARM_KINDS and item.comparator is None:
            key = (
                effect.pmid, item.treatment.key, item.topic, int(effect.sentence_start),
                effect.kind, _value(effect, "label"), _value(effect, "timepoint"),
                _value(effect, "scale"), _value(effect, "subgroup"),
            )  # fmt: skip
        else:
            key = ("alone", index)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(item)
    result = []
    for key in order:
        group = groups[key]
        if len({g.arm.identity for g in group}) != len(group):
            result.extend([g] for g in group)  # two results for one arm: said one by one
            continue
        own = [g for g in group if g.arm.drug == g.treatment.drug]
        result.append(own + [g for g in group if g not in own])
    return result


def _leads_with_own_arm(group: list[Measured]) -> bool:
    return group[0].arm.drug == group[0].treatment.drug


def build_sections(con, effects: pd.DataFrame, facts: dict[str, dict]) -> tuple[list, int, int]:
    """Treatment sections from verified effects; returns them, the count left out, and the
    count of those left out because no arm id (or reviewer) says which group they are about."""
    cited = citations.load_citation_records(con, sorted(set(effects.pmid))) if len(effects) else []
    records = {r.pmid: r for r in cited}
    corrected = con.execute("SELECT pmid FROM core.articles WHERE has_erratum").fetchall()
    errata = {pmid for (pmid,) in corrected}
    left_out = no_arm = 0
    by_id, by_pmid = _arms_by_pmid(con)
    measured: list[Measured] = []
    for _, effect in effects.iterrows():
        trial = facts.get(effect.pmid)
        if not trial or trial["design"] not in EVIDENCE_LABELS:  # protocols, case reports, unknown
            left_out += 1
            continue
        arm = effect_arm(effect, "arm", by_id, by_pmid)
        comparator = effect_arm(effect, "comparator", by_id, by_pmid)
        between = effect.kind in vocab.BETWEEN_GROUP_KINDS
        if arm is None or (between and comparator is None):
            left_out += 1  # a number that does not say which group (or groups) it is about
            no_arm += 1
            continue
        treatment = treatment_of(trial, arm.drug, arm.route)
        topic = topic_of(effect)
        if treatment is None or topic is None:
            left_out += 1
            continue
        measured.append(Measured(effect, arm, comparator if between else None, topic, treatment))
    grouped: dict[str, dict[str, dict[str, list[tuple[bool, Statement]]]]] = {}
    by_effect = {m.effect.effect_id: m.effect for m in measured}
    for group in _groups(measured):
        if len(group) == 1 and group[0].comparator is not None:
            only = group[0]
            statement = statement_for(
                only.effect, only.topic, only.arm.words, comparator_words(only.arm, only.comparator)
            )
        else:
            statement = arms_statement(group)
        if statement is None:
            left_out += len(group)
            continue
        shown = [by_effect[i] for i in statement.effect_ids]
        statuses = [_value(e, "registry_check") for e in shown]
        status = next((s for s in statuses if s == "differs"), None) or next(
            (s for s in statuses if s), None
        )
        statement.registry_status = status
        checks = [
            f"ClinicalTrials.gov {_value(e, 'registry_nct_id')}: {_value(e, 'registry_detail')}"
            for e in shown
            if _value(e, "registry_check") and _value(e, "registry_nct_id")
        ]
        statement.registry_check = "; ".join(dict.fromkeys(checks)) or None
        statement.corrections = [
            line for e in shown for line in review._listed(e.get("correction_provenance"))
        ]
        first = group[0]
        by_topic = grouped.setdefault(first.treatment.key, {})
        by_topic.setdefault(first.topic, {}).setdefault(first.effect.pmid, []).append(
            (_leads_with_own_arm(group), statement)
        )
    sections = []
    for treatment in TREATMENTS:
        topics = []
        for topic in TOPICS:
            studies = grouped.get(treatment.key, {}).get(topic.key, {})
            if not studies:
                continue
            findings = []
            for pmid, statements in sorted(
                studies.items(), key=lambda item: -(records[item[0]].year or 0)
            ):
                record = records[pmid]
                # the section's drug's own arms first, then its comparators (stable: text order)
                ordered = [s for own, s in statements if own] + [
                    s for own, s in statements if not own
                ]
                findings.append(
                    StudyFindings(
                        pmid=pmid,
                        evidence_label=_study_label(facts.get(pmid)),
                        statements=ordered,
                        citation_html=citations.format_ama(record, markup="html"),
                        citation_markdown=citations.format_ama(record, markup="markdown"),
                        pubmed_url=record.pubmed_url,
                        doi_url=record.doi_url,
                        has_erratum=pmid in errata,
                    )
                )
            topics.append(TopicSection(topic, findings))
        sections.append(TreatmentSection(treatment, topics))
    return sections, left_out, no_arm


# --- the clinic's own outcomes ------------------------------------------------------------------


ROUTE_NAMES = vocab.ROUTE_TREATMENT_NAMES


def _format_cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _percent(frame: pd.DataFrame, column: str) -> pd.Series:
    """A 0-1 rate as a percent (suppressed cells stay as they are)."""
    return frame[column].map(lambda v: 100 * v if isinstance(v, float) else v)


def clinic_section(con) -> ClinicSection:
    """The clinic's PHQ-9 response and remission and its patient counts, small counts suppressed."""
    from pipeline.clinic import metrics

    try:
        counts = metrics.clinic_counts(con)
        outcomes = metrics.response_remission(con)
    except PipelineError as error:
        return ClinicSection(False, message=f"No clinic outcomes: {error}")
    if counts.empty and outcomes.empty:
        return ClinicSection(False, message="No clinic outcomes have been imported.")
    synthetic = bool(counts["synthetic"].any() or outcomes["synthetic"].any())
    tables = []
    if not counts.empty:
        shown = metrics.suppress_small_counts(
            counts, ["n_patients", "n_courses", "n_sessions"], threshold=SMALL_COUNT_THRESHOLD
        )
        rows = [
            [ROUTE_NAMES.get(r.route, r.route), _format_cell(r.n_patients),
             _format_cell(r.n_courses), _format_cell(r.n_sessions)]
            for r in shown.itertuples(index=False)
        ]  # fmt: skip
        tables.append(
            ("People treated at the clinic", ["Treatment", "People", "Courses", "Sessions"], rows)
        )
    if not outcomes.empty:
        shown = metrics.suppress_small_counts(
            outcomes,
            ["n_response_evaluable", "n_response", "n_remission_evaluable", "n_remission"],
            threshold=SMALL_COUNT_THRESHOLD,
            derived={
                "n_response_evaluable": ["response_rate"],
                "n_response": ["response_rate"],
                "n_remission_evaluable": ["remission_rate"],
                "n_remission": ["remission_rate"],
            },
        )
        shown["response_rate"] = _percent(shown, "response_rate")
        shown["remission_rate"] = _percent(shown, "remission_rate")
        rows = [
            [ROUTE_NAMES.get(r.route, r.route), str(r.after_sessions),
             _format_cell(r.n_response_evaluable), _format_cell(r.n_response),
             _format_cell(r.response_rate), _format_cell(r.n_remission),
             _format_cell(r.remission_rate)]
            for r in shown.itertuples(index=False)
        ]  # fmt: skip
        header = ["Treatment", "After session", "People with scores", "Responded",
                  "Responded (%)", "In remission", "In remission (%)"]  # fmt: skip
        tables.append(("PHQ-9 response and remission at the clinic", header, rows))
    return ClinicSection(True, synthetic=synthetic, tables=tables)


# --- the sheet ------------------------------------------------------------------------------------


def build_sheet(con, *, generated_at: datetime | None = None) -> EvidenceSheet:
    """Everything on the sheet, from verified effects only (an empty sheet when none are)."""
    if warehouse.table_columns(con, "core.effects"):
        verified = review.verified_effects(con)
        summary = review.review_summary(con)
    else:
        log.warning("the warehouse has no extracted effects yet: the sheet will say so")
        verified = pd.DataFrame(columns=["pmid"])
        summary = {"unreviewed": 0, "needs_rereview": 0}
    facts = trial_facts(con)
    sections, left_out, no_arm = build_sections(con, verified, facts)
    version, run_id = warehouse_version(con)
    return EvidenceSheet(
        generated_at=generated_at or warehouse.now(),
        schema_version=version,
        run_id=run_id,
        sections=[s for s in sections if s.topics],
        approval=load_approval(),
        clinic=clinic_section(con),
        n_verified=len(verified),
        n_not_shown=left_out - no_arm,
        n_no_arm=no_arm,
        unreviewed=summary["unreviewed"] + summary["needs_rereview"],
    )


class MarkdownText(str):
    """Text already written as Markdown (escaped where it needs to be): shown as it is."""


# Characters a URL may keep in a Markdown autolink (<...>); anything else is percent-encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%-._~"


def _markdown_output(value) -> str:
    """Every {{ value }} of the Markdown template: escaped unless it is MarkdownText."""
    if isinstance(value, MarkdownText):
        return value
    return citations.markdown_escape(value)


def _environment(markdown: bool = False) -> jinja2.Environment:
    """The HTML template's environment (autoescaped), or the Markdown one, whose every
    output goes through citations.markdown_escape unless marked MarkdownText."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline", "data/evidence"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_markdown_output if markdown else None,
    )
    environment.tests["figure"] = lambda part: isinstance(part, Figure)
    environment.filters["markdown"] = MarkdownText  # text already written as Markdown
    environment.filters["autolink"] = lambda url: MarkdownText(
        "<" + quote(str(url), safe=_URL_SAFE) + ">"
    )
    return environment


def _render_html(sheet: EvidenceSheet, reading: Reading | None) -> str:
    return (
        _environment()
        .get_template("sheet.html.j2")
        .render(sheet=sheet, threshold=SMALL_COUNT_THRESHOLD, reading=reading)
    )


def render_html(sheet: EvidenceSheet) -> str:
    """The sheet as one self-contained, print-friendly HTML page (reading level in the footer)."""
    return _render_html(sheet, sheet.reading)


def render_markdown(sheet: EvidenceSheet) -> str:
    """The sheet as Markdown (numbers as written, citations in AMA style)."""
    return (
        _environment(markdown=True)
        .get_template("sheet.md.j2")
        .render(sheet=sheet, threshold=SMALL_COUNT_THRESHOLD, reading=sheet.reading)
    )


def write_sheet(sheet: EvidenceSheet, out_dir: Path) -> tuple[Path, Path]:
    """Write evidence-sheet.html and evidence-sheet.md into out_dir (created if needed).

    Each is written to a temporary file and then renamed, so neither is ever left half-written;
    a folder or file that cannot be written raises PipelineError naming it.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PipelineError(
            f"cannot create the output folder {out_dir}: {error.strerror or error}"
        ) from None
    outputs = {
        out_dir / HTML_NAME: render_html(sheet),
        out_dir / MARKDOWN_NAME: render_markdown(sheet),
    }
    written: list[Path] = []
    target = out_dir
    try:
        for target, text in outputs.items():
            temporary = target.with_name(f".{target.name}.tmp")
            written.append(temporary)
            temporary.write_text(text, encoding="utf-8")
        for target in outputs:
            target.with_name(f".{target.name}.tmp").replace(target)
    except OSError as error:
        for temporary in written:
            temporary.unlink(missing_ok=True)
        raise PipelineError(f"cannot write {target}: {error.strerror or error}") from None
    html_path, md_path = outputs
    log.info("evidence sheet: %d statement(s), reading grade %.1f", sheet.n_statements,
             sheet.reading_grade)  # fmt: skip
    return html_path, md_path


def write_pdf(sheet: EvidenceSheet, html_path: Path, paper: str = "a4") -> Path:
    """Print the written HTML page to evidence-sheet.pdf beside it, on A4 or Letter paper."""
    from pipeline.evidence import pdf

    return pdf.print_pdf(html_path, html_path.with_name(PDF_NAME), paper, sheet.generated_at)


def effect_ids_on(sheet: EvidenceSheet) -> Sequence[str]:
    """The ids of every effect the sheet shows a number from."""
    return [
        figure.effect_id
        for section in sheet.sections
        for topic in section.topics
        for study in topic.studies
        for statement in study.statements
        for figure in statement.figures
    ]
