"""A ClinicalTrials.gov API v2 study document -> rows of the registry tables.

Every value the API posts for results is a string ("-21.4", "12.32", "NA", "<0.001"). Each is
kept as posted and, beside it, as a number when it is one; a string that is not a number is
flagged (`*_not_number`), never coerced. Fields the document does not hold stay None, and the
sections it lacks are named in `fields_absent`. Groups are mapped to drug, route, dose and role
with the extractor's own vocabulary (`pipeline.classify`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.classify import comparators_named, dose_written, drugs_named, routes_named
from pipeline.errors import PipelineError
from pipeline.sources.ctgov import study_nct_id

NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
COUNT_RE = re.compile(r"^\d+$")
P_VALUE_RE = re.compile(r"^(<=|>=|≤|≥|<|>|=)?\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)$")
SECTIONS = ("protocolSection", "resultsSection", "hasResults")

STUDY_COLUMNS = (
    "nct_id", "brief_title", "official_title", "acronym", "phases", "overall_status",
    "enrollment", "enrollment_text", "enrollment_not_number", "enrollment_type", "start_date",
    "primary_completion_date", "completion_date", "first_post_date", "results_first_post_date",
    "last_update_post_date", "has_results", "conditions", "interventions", "reference_pmids",
    "n_outcome_measures", "fields_absent",
)  # fmt: skip
GROUP_COLUMNS = (
    "nct_id", "outcome_no", "group_id", "title", "description", "drugs", "routes", "dose", "role",
    "comparator",
)  # fmt: skip
OUTCOME_COLUMNS = (
    "nct_id", "outcome_no", "outcome_type", "title", "description", "population_description",
    "reporting_status", "time_frame", "param_type", "dispersion_type", "unit", "class_no",
    "class_title", "category_no", "category_title", "group_id", "group_title",
    "value", "value_text", "value_not_number", "spread", "spread_text", "spread_not_number",
    "lower_limit", "lower_limit_text", "lower_limit_not_number",
    "upper_limit", "upper_limit_text", "upper_limit_not_number", "measurement_comment",
    "n_analyzed", "n_analyzed_text", "n_analyzed_not_number", "n_analyzed_level",
    "n_analyzed_units",
)  # fmt: skip
ANALYSIS_COLUMNS = (
    "nct_id", "outcome_no", "analysis_no", "group_ids", "param_type",
    "param_value", "param_value_text", "param_value_not_number",
    "ci_level", "ci_level_text", "ci_level_not_number", "ci_sides",
    "ci_lower", "ci_lower_text", "ci_lower_not_number",
    "ci_upper", "ci_upper_text", "ci_upper_not_number",
    "p_value", "p_operator", "p_value_text", "p_value_not_number", "p_value_comment", "method",
    "dispersion_type", "dispersion_value", "dispersion_value_text", "dispersion_value_not_number",
    "non_inferiority_type",
)  # fmt: skip


class RegistryParseError(PipelineError):
    """A study document that does not have the shape API v2 gives it."""


@dataclass
class ParsedStudy:
    """The rows one study document gives, keyed by column name."""

    nct_id: str
    study: dict
    groups: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    analyses: list[dict] = field(default_factory=list)


# --- values -------------------------------------------------------------------------------------


def _text(value: object, where: str) -> str | None:
    """A posted value as text: strings as they are, JSON numbers written out, None as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise RegistryParseError(f"{where}: expected a value, got true/false")
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    raise RegistryParseError(f"{where}: expected a value, got {type(value).__name__}")


def number(value: object, where: str) -> tuple[float | None, str | None, bool]:
    """(number, text as posted, not-a-number flag); absent is (None, None, False)."""
    text = _text(value, where)
    if text is None:
        return None, None, False
    stripped = text.strip()
    if NUMBER_RE.match(stripped):
        return float(stripped), text, False
    return None, text, True


def count(value: object, where: str) -> tuple[int | None, str | None, bool]:
    """(whole number, text as posted, flag): a count that is not a whole number is flagged."""
    text = _text(value, where)
    if text is None:
        return None, None, False
    stripped = text.strip()
    if COUNT_RE.match(stripped):
        return int(stripped), text, False
    return None, text, True


def p_value(value: object, where: str) -> tuple[float | None, str | None, str | None, bool]:
    """(p, operator as posted or None, text, flag): "<0.001" -> (0.001, "<", "<0.001", False)."""
    text = _text(value, where)
    if text is None:
        return None, None, None, False
    match = P_VALUE_RE.match(text.strip())
    if not match:
        return None, None, text, True
    operator = {"≤": "<=", "≥": ">="}.get(match[1], match[1]) if match[1] else None
    return float(match[2]), operator, text, False


def _dict(value: object, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RegistryParseError(f"{where} should be an object")
    return value


def _list(value: object, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RegistryParseError(f"{where} should be a list")
    return value


def _date(module: dict, key: str, where: str) -> str | None:
    return _text(_dict(module.get(key), f"{where}.{key}").get("date"), f"{where}.{key}.date")


# --- groups -------------------------------------------------------------------------------------


def map_group(title: str | None, description: str | None) -> dict:
    """Drug, route, dose and role of a posted group, read with the extractor's vocabulary.

    Drug, dose and comparator come from the title alone (a placebo group's description often
    names the drug it matches); the route from the title and description. A group naming a
    drug is 'drug', one naming only a comparator is 'comparator', anything else unknown (None).
    """
    title = title or ""
    drugs = drugs_named(title)
    comparator = comparators_named(title)
    routes = routes_named(f"{title}. {description or ''}")
    role = "drug" if drugs else ("comparator" if comparator else None)
    return {
        "drugs": drugs or None,
        "routes": routes or None,
        "dose": dose_written(title) if drugs else None,
        "role": role,
        "comparator": comparator or None,
    }


# --- the document -------------------------------------------------------------------------------


def parse_study(nct_id: str, document: object) -> ParsedStudy:
    """Rows for core.registry_studies, _groups, _outcomes and _analyses from one document.

    `nct_id` is the id that was asked for; a document naming another id is refused.
    """
    if not isinstance(document, dict):
        raise RegistryParseError(f"{nct_id}: the document is not a JSON object")
    named = study_nct_id(document)
    if named is not None and named != nct_id:
        raise RegistryParseError(f"{nct_id}: the document is about {named}")
    if not any(key in document for key in SECTIONS):
        raise RegistryParseError(f"{nct_id}: the document has none of {', '.join(SECTIONS)}")
    where = nct_id
    protocol = _dict(document.get("protocolSection"), f"{where} protocolSection")
    ident = _dict(protocol.get("identificationModule"), f"{where} identificationModule")
    status = _dict(protocol.get("statusModule"), f"{where} statusModule")
    design = _dict(protocol.get("designModule"), f"{where} designModule")
    enrollment = _dict(design.get("enrollmentInfo"), f"{where} enrollmentInfo")
    conditions = _dict(protocol.get("conditionsModule"), f"{where} conditionsModule")
    arms = _dict(protocol.get("armsInterventionsModule"), f"{where} armsInterventionsModule")
    references = _dict(protocol.get("referencesModule"), f"{where} referencesModule")
    results = _dict(document.get("resultsSection"), f"{where} resultsSection")
    outcomes_module = _dict(results.get("outcomeMeasuresModule"), f"{where} outcomeMeasuresModule")
    measures = _list(outcomes_module.get("outcomeMeasures"), f"{where} outcomeMeasures")
    has_results = document.get("hasResults")
    if has_results is not None and not isinstance(has_results, bool):
        raise RegistryParseError(f"{where}: hasResults should be true or false")
    n_enrolled, enrolled_text, enrolled_flag = count(enrollment.get("count"), f"{where} enrollment")
    pmids = []
    for position, reference in enumerate(
        _list(references.get("references"), f"{where} references")
    ):
        pmid = _text(_dict(reference, f"{where} reference {position}").get("pmid"), where)
        if pmid and pmid not in pmids:
            pmids.append(pmid)
    interventions = [
        _text(_dict(item, f"{where} intervention").get("name"), f"{where} intervention")
        for item in _list(arms.get("interventions"), f"{where} interventions")
    ]
    study = {
        "nct_id": nct_id,
        "brief_title": _text(ident.get("briefTitle"), where),
        "official_title": _text(ident.get("officialTitle"), where),
        "acronym": _text(ident.get("acronym"), where),
        "phases": [_text(p, where) for p in _list(design.get("phases"), f"{where} phases")] or None,
        "overall_status": _text(status.get("overallStatus"), where),
        "enrollment": n_enrolled,
        "enrollment_text": enrolled_text,
        "enrollment_not_number": enrolled_flag,
        "enrollment_type": _text(enrollment.get("type"), where),
        "start_date": _date(status, "startDateStruct", where),
        "primary_completion_date": _date(status, "primaryCompletionDateStruct", where),
        "completion_date": _date(status, "completionDateStruct", where),
        "first_post_date": _date(status, "studyFirstPostDateStruct", where),
        "results_first_post_date": _date(status, "resultsFirstPostDateStruct", where),
        "last_update_post_date": _date(status, "lastUpdatePostDateStruct", where),
        "has_results": has_results,
        "conditions": [
            _text(c, where) for c in _list(conditions.get("conditions"), f"{where} conditions")
        ]
        or None,
        "interventions": [i for i in interventions if i] or None,
        "reference_pmids": pmids or None,
        "n_outcome_measures": len(measures),
        "fields_absent": ", ".join(key for key in SECTIONS if key not in document) or None,
    }
    parsed = ParsedStudy(nct_id, study)
    for outcome_no, measure in enumerate(measures):
        _parse_measure(parsed, outcome_no, _dict(measure, f"{where} outcome measure {outcome_no}"))
    return parsed


def _denominators(denoms: list, where: str) -> tuple[dict[str, object], str | None]:
    """groupId -> posted count, from the 'Participants' denominator (else the first one)."""
    if not denoms:
        return {}, None
    chosen = next((d for d in denoms if isinstance(d, dict) and d.get("units") == "Participants"),
                  denoms[0])  # fmt: skip
    chosen = _dict(chosen, f"{where} denoms")
    counts = {}
    for item in _list(chosen.get("counts"), f"{where} denom counts"):
        item = _dict(item, f"{where} denom count")
        counts[item.get("groupId")] = item.get("value")
    return counts, _text(chosen.get("units"), where)


def _parse_measure(parsed: ParsedStudy, outcome_no: int, measure: dict) -> None:
    nct_id = parsed.nct_id
    where = f"{nct_id} outcome measure {outcome_no}"
    title = _text(measure.get("title"), where)
    if not title:
        raise RegistryParseError(f"{where} has no title")
    groups: dict[str, str | None] = {}
    for group in _list(measure.get("groups"), f"{where} groups"):
        group = _dict(group, f"{where} group")
        group_id = _text(group.get("id"), f"{where} group id")
        if not group_id:
            raise RegistryParseError(f"{where}: a group has no id")
        group_title = _text(group.get("title"), where)
        description = _text(group.get("description"), where)
        groups[group_id] = group_title
        parsed.groups.append(
            {
                "nct_id": nct_id,
                "outcome_no": outcome_no,
                "group_id": group_id,
                "title": group_title,
                "description": description,
                **map_group(group_title, description),
            }
        )
    outcome_counts, outcome_units = _denominators(_list(measure.get("denoms"), where), where)
    common = {
        "nct_id": nct_id,
        "outcome_no": outcome_no,
        "outcome_type": _text(measure.get("type"), where),
        "title": title,
        "description": _text(measure.get("description"), where),
        "population_description": _text(measure.get("populationDescription"), where),
        "reporting_status": _text(measure.get("reportingStatus"), where),
        "time_frame": _text(measure.get("timeFrame"), where),
        "param_type": _text(measure.get("paramType"), where),
        "dispersion_type": _text(measure.get("dispersionType"), where),
        "unit": _text(measure.get("unitOfMeasure"), where),
    }
    for class_no, klass in enumerate(_list(measure.get("classes"), f"{where} classes")):
        klass = _dict(klass, f"{where} class {class_no}")
        class_where = f"{where} class {class_no}"
        class_counts, class_units = _denominators(_list(klass.get("denoms"), class_where), where)
        categories = _list(klass.get("categories"), f"{class_where} categories")
        for category_no, category in enumerate(categories):
            category = _dict(category, f"{class_where} category {category_no}")
            cat_where = f"{class_where} category {category_no}"
            for m in _list(category.get("measurements"), f"{cat_where} measurements"):
                m = _dict(m, f"{cat_where} measurement")
                group_id = m.get("groupId")
                if group_id not in groups:
                    raise RegistryParseError(
                        f"{cat_where}: a measurement for group {group_id!r}, which the outcome "
                        "measure does not list"
                    )
                m_where = f"{cat_where} group {group_id}"
                if group_id in class_counts:
                    posted_n, level, units = class_counts[group_id], "class", class_units
                elif group_id in outcome_counts:
                    posted_n, level, units = outcome_counts[group_id], "outcome", outcome_units
                else:
                    posted_n, level, units = None, None, None
                value = number(m.get("value"), f"{m_where} value")
                spread = number(m.get("spread"), f"{m_where} spread")
                lower = number(m.get("lowerLimit"), f"{m_where} lowerLimit")
                upper = number(m.get("upperLimit"), f"{m_where} upperLimit")
                n = count(posted_n, f"{m_where} denominator")
                parsed.outcomes.append(
                    {
                        **common,
                        "class_no": class_no,
                        "class_title": _text(klass.get("title"), class_where),
                        "category_no": category_no,
                        "category_title": _text(category.get("title"), cat_where),
                        "group_id": group_id,
                        "group_title": groups[group_id],
                        "value": value[0], "value_text": value[1], "value_not_number": value[2],
                        "spread": spread[0], "spread_text": spread[1],
                        "spread_not_number": spread[2],
                        "lower_limit": lower[0], "lower_limit_text": lower[1],
                        "lower_limit_not_number": lower[2],
                        "upper_limit": upper[0], "upper_limit_text": upper[1],
                        "upper_limit_not_number": upper[2],
                        "measurement_comment": _text(m.get("comment"), m_where),
                        "n_analyzed": n[0], "n_analyzed_text": n[1], "n_analyzed_not_number": n[2],
                        "n_analyzed_level": level,
                        "n_analyzed_units": units,
                    }
                )  # fmt: skip
    for analysis_no, analysis in enumerate(_list(measure.get("analyses"), f"{where} analyses")):
        analysis = _dict(analysis, f"{where} analysis {analysis_no}")
        a_where = f"{where} analysis {analysis_no}"
        group_ids = [_text(g, a_where) for g in _list(analysis.get("groupIds"), a_where)]
        unknown = [g for g in group_ids if g not in groups]
        if unknown:
            raise RegistryParseError(
                f"{a_where} compares groups the measure does not list: {unknown}"
            )
        param = number(analysis.get("paramValue"), f"{a_where} paramValue")
        level = number(analysis.get("ciPctValue"), f"{a_where} ciPctValue")
        lower = number(analysis.get("ciLowerLimit"), f"{a_where} ciLowerLimit")
        upper = number(analysis.get("ciUpperLimit"), f"{a_where} ciUpperLimit")
        p = p_value(analysis.get("pValue"), f"{a_where} pValue")
        dispersion = number(analysis.get("dispersionValue"), f"{a_where} dispersionValue")
        parsed.analyses.append(
            {
                "nct_id": nct_id,
                "outcome_no": outcome_no,
                "analysis_no": analysis_no,
                "group_ids": group_ids,
                "param_type": _text(analysis.get("paramType"), a_where),
                "param_value": param[0], "param_value_text": param[1],
                "param_value_not_number": param[2],
                "ci_level": level[0], "ci_level_text": level[1], "ci_level_not_number": level[2],
                "ci_sides": _text(analysis.get("ciNumSides"), a_where),
                "ci_lower": lower[0], "ci_lower_text": lower[1], "ci_lower_not_number": lower[2],
                "ci_upper": upper[0], "ci_upper_text": upper[1], "ci_upper_not_number": upper[2],
                "p_value": p[0], "p_operator": p[1], "p_value_text": p[2],
                "p_value_not_number": p[3],
                "p_value_comment": _text(analysis.get("pValueComment"), a_where),
                "method": _text(analysis.get("statisticalMethod"), a_where),
                "dispersion_type": _text(analysis.get("dispersionType"), a_where),
                "dispersion_value": dispersion[0], "dispersion_value_text": dispersion[1],
                "dispersion_value_not_number": dispersion[2],
                "non_inferiority_type": _text(analysis.get("nonInferiorityType"), a_where),
            }
        )  # fmt: skip
