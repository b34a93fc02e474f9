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
from pipeline.evidence import citations, review
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
    effect_id: str
    registry_check: str | None = None  # provenance: the ClinicalTrials.gov cross-check, if any
    registry_status: str | None = None  # 'agrees' | 'differs' | 'no_counterpart'
    corrections: list[str] = field(default_factory=list)  # provenance: reviewers' corrections

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
    n_not_shown: int
    unreviewed: int

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


def statement_for(effect: pd.Series, topic: str) -> Statement | None:
    """A plain-language sentence for one effect; None when its value is not in its own quote."""
    value = figure_for(effect, _value(effect, "value"))
    if value is None:
        events, total = _value(effect, "n_events"), _value(effect, "n_total")
        first = figure_for(effect, events)
        second = figure_for(effect, total, effect.quote.find(first.text) + 1) if first else None
        if not (first and second):
            log.warning(
                "effect %s (PMID %s): value %s is not written in its quote %r; left out",
                effect.effect_id, effect.pmid, effect.value, effect.quote,
            )  # fmt: skip
            return None
        parts_value: list[str | Figure] = [first, " of ", second]
    else:
        parts_value = [value]
    kind = effect.kind
    if kind in ("response_rate", "remission_rate", "relapse_rate") and not _is_percent(parts_value):
        parts_value.append("%")  # "64 and 28%": the percent sign is written once, after the last
    if kind == "other" and not _is_percent(parts_value):
        log.info("effect %s (PMID %s): %s is not a rate; left out", effect.effect_id, effect.pmid,
                 value.text)  # fmt: skip
        return None
    arm, timepoint = _value(effect, "arm"), _value(effect, "timepoint")
    counted = len(parts_value) == 3  # "4 of 15": the people are named without another "of"
    label, scale = _value(effect, "label"), _value(effect, "scale")
    ci = _ci_parts(effect, value)
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
    return Statement([p for p in parts if p != ""], effect.effect_id)


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


_DRUG_IN_ARM = {drug.code: re.compile(drug.pattern, re.IGNORECASE) for drug in vocab.DRUGS}


def treatment_of(
    facts: dict | None, arm: str | None, arm_drug: str | None = None
) -> Treatment | None:
    """The treatment an effect is about, if it is one the sheet covers.

    A trial of one drug by one route places all its effects; a trial of several drugs or routes
    (e.g. oral ketamine against esketamine nasal spray) places only effects whose arm names the
    drug, and only when one covered treatment fits.
    """
    if not facts:
        return None
    fitting = [t for t in TREATMENTS if t.drug in facts["drug"] and t.route in facts["route"]]
    if not fitting:
        return None
    if len(facts["drug"]) == 1 and len(facts["route"]) == 1:
        return fitting[0]
    if arm_drug is not None:  # the study structure names the arm's drug (core.arms)
        named = [t for t in fitting if t.drug == arm_drug]
    else:
        named = [t for t in fitting if _DRUG_IN_ARM[t.drug].search(arm or "")]
    return named[0] if len(named) == 1 else None


def build_sections(con, effects: pd.DataFrame, facts: dict[str, dict]) -> tuple[list, int]:
    """Treatment sections from verified effects; returns them and the count left out."""
    cited = citations.load_citation_records(con, sorted(set(effects.pmid))) if len(effects) else []
    records = {r.pmid: r for r in cited}
    corrected = con.execute("SELECT pmid FROM core.articles WHERE has_erratum").fetchall()
    errata = {pmid for (pmid,) in corrected}
    grouped: dict[str, dict[str, dict[str, list[Statement]]]] = {}
    left_out = 0
    arm_drugs = {
        row["arm_id"]: row["drug"] for row in read_arms(con).to_dict("records") if row["drug"]
    }
    for _, effect in effects.iterrows():
        trial = facts.get(effect.pmid)
        if not trial or trial["design"] not in EVIDENCE_LABELS:  # protocols, case reports, unknown
            left_out += 1
            continue
        if _value(effect, "arm") is None and trial["design"] in COMPARATIVE_DESIGNS:
            left_out += 1  # a number from a comparison that does not say which group it is about
            continue
        treatment = treatment_of(
            trial, _value(effect, "arm"), arm_drugs.get(_value(effect, "arm_id") or "")
        )
        topic = topic_of(effect)
        statement = statement_for(effect, topic) if treatment and topic else None
        if statement is None:
            left_out += 1
            continue
        statement.registry_status = _value(effect, "registry_check")
        if statement.registry_status and _value(effect, "registry_nct_id"):
            statement.registry_check = (
                f"ClinicalTrials.gov {_value(effect, 'registry_nct_id')}: "
                f"{_value(effect, 'registry_detail')}"
            )
        statement.corrections = review._listed(effect.get("correction_provenance"))
        by_topic = grouped.setdefault(treatment.key, {})
        by_topic.setdefault(topic, {}).setdefault(effect.pmid, []).append(statement)
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
                findings.append(
                    StudyFindings(
                        pmid=pmid,
                        evidence_label=_study_label(facts.get(pmid)),
                        statements=statements,
                        citation_html=citations.format_ama(record, markup="html"),
                        citation_markdown=citations.format_ama(record, markup="markdown"),
                        pubmed_url=record.pubmed_url,
                        doi_url=record.doi_url,
                        has_erratum=pmid in errata,
                    )
                )
            topics.append(TopicSection(topic, findings))
        sections.append(TreatmentSection(treatment, topics))
    return sections, left_out


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
    sections, left_out = build_sections(con, verified, facts)
    version, run_id = warehouse_version(con)
    return EvidenceSheet(
        generated_at=generated_at or warehouse.now(),
        schema_version=version,
        run_id=run_id,
        sections=[s for s in sections if s.topics],
        approval=load_approval(),
        clinic=clinic_section(con),
        n_verified=len(verified),
        n_not_shown=left_out,
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
