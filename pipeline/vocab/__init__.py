"""The one vocabulary: effect kinds, drugs, routes, designs, populations, comparators, scales,
arm roles, timepoint units and side effects, each with its code, the words a reader sees, and
the pattern that finds it in text.

Extraction, classification, the marts, synthesis, the evidence sheet, the plots, the registry
parser and the tests import these; the warehouse's CHECK constraints are generated from them
(`pipeline.vocab.sql`). A new effect kind is one entry here and one rule module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One code of a vocabulary: what is stored, what a reader sees, and how text names it."""

    code: str
    display: str
    pattern: str = ""  # regular expression naming it in an abstract ("" when none is read)
    # Substrings one of which the pattern needs (capitalised ones as written, others lower case):
    # a plain substring test first spares the regex scan of texts that cannot match.
    needles: tuple[str, ...] = ()


@dataclass(frozen=True)
class EffectKind(Term):
    """An effect kind and the family of rules that reads it."""

    family: str = "other"  # rate | ratio | difference | standardised | nnt | change | other


# --- effect kinds (the extract-text contract's list, in its order) -------------------------
EFFECT_KINDS: tuple[EffectKind, ...] = (
    # A rate kind's pattern names its outcome in a sentence ("responded", "remitters").
    EffectKind("response_rate", "response", r"\brespon(?:d|ds|ded|se|ses|ders?)\b", family="rate"),
    EffectKind(
        "remission_rate",
        "remission",
        r"\b(?:remission|remitt(?:ed|ers?)|remits?|symptom-free)\b",
        family="rate",
    ),
    EffectKind("relapse_rate", "relapse", r"\brelaps(?:e|ed|es|ing)\b", family="rate"),
    EffectKind("mean_difference", "difference in score", family="difference"),
    EffectKind("smd", "standardised mean difference", family="standardised"),
    EffectKind("cohens_d", "Cohen's d", family="standardised"),
    EffectKind("hedges_g", "Hedges' g", family="standardised"),
    EffectKind("odds_ratio", "odds ratio", family="ratio"),
    EffectKind("risk_ratio", "risk ratio", family="ratio"),
    EffectKind("hazard_ratio", "hazard ratio", family="ratio"),
    EffectKind("nnt", "number needed to treat", family="nnt"),
    EffectKind("percent_change", "percent change", family="change"),
    EffectKind("mean_change", "change from baseline", family="change"),
    EffectKind("other", "other result", family="other"),
)
KIND_CODES: tuple[str, ...] = tuple(k.code for k in EFFECT_KINDS)
KIND_DISPLAY: dict[str, str] = {k.code: k.display for k in EFFECT_KINDS}


def kinds_of(family: str) -> tuple[str, ...]:
    """The codes of one family of effect kinds, in vocabulary order."""
    return tuple(k.code for k in EFFECT_KINDS if k.family == family)


RATE_KINDS = kinds_of("rate")
RATIO_KINDS = kinds_of("ratio")
SMD_KINDS = kinds_of("standardised")
# Kinds that compare two arms (a within-arm change or a rate belongs to one arm).
BETWEEN_GROUP_KINDS: tuple[str, ...] = ("mean_difference", *SMD_KINDS, *RATIO_KINDS, "nnt")
# Kinds on a rating-scale score (their sign depends on which way the scale runs).
SCORE_KINDS: tuple[str, ...] = ("mean_difference", *SMD_KINDS, "mean_change", "percent_change")
# The outcome a rate kind measures: "response_rate" -> "response".
RATE_OUTCOME: dict[str, str] = {k: KIND_DISPLAY[k] for k in RATE_KINDS}

# --- drugs: the ketamine forms the pipeline is about ---------------------------------------
DRUGS: tuple[Term, ...] = (
    Term("ketamine", "ketamine", r"(?<!s-)(?<!r-)\bketamine\b|\bket\d*\b"),
    Term("esketamine", "esketamine", r"\besketamine\b|\besk\b|\bs-ketamine\b|\bspravato\b"),
    Term("arketamine", "arketamine", r"\barketamine\b|\br-ketamine\b"),
)
DRUG_CODES: tuple[str, ...] = tuple(d.code for d in DRUGS)
# Any ketamine form named in an arm's words ("ESK 56 mg", "KET01", "S-ketamine").
ANY_KETAMINE_PATTERN = r"ketamine|\besk\b|\bket\d*\b|\bs-ketamine\b"

# --- routes ----------------------------------------------------------------------------------
# A ketamine form (or "the study drug") as an oral route's pattern needs it beside "oral".
DRUG_WORD_PATTERN = r"(?:es|ar)?ketamine|KET01|ESK|Spravato|study drug|drug"
ROUTES: tuple[Term, ...] = (
    Term(
        "iv",
        "IV (infusion into a vein)",
        r"\bintravenous(?:ly)?\b|\bIV\b|\bi\.v\.|\binfusions?\b",
        needles=("intravenous", "i.v.", "IV", "infusion"),
    ),
    Term(
        "intranasal",
        "nasal spray",
        r"\bintranasal(?:ly)?\b|\bnasal spray\b|\bnasally\b|\bESK-NS\b",
        needles=("nasal", "esk-ns"),
    ),
    Term(
        "oral",
        "by mouth",
        rf"\boral(?:ly)?\s(?:[\w-]+\s){{0,2}}?(?:{DRUG_WORD_PATTERN})\b|\b(?:{DRUG_WORD_PATTERN})\s(?:[\w-]+\s)"
        rf"{{0,2}}?(?:tablets?|orally|lozenges?)\b"
        r"|\boral (?:prolonged-release|esketamine|ketamine)",
        needles=("oral", "tablet", "lozenge"),
    ),
    Term(
        "sc",
        "under the skin",
        r"\bsubcutaneous(?:ly)?\b|\bs\.c\.|\bSC (?:ketamine|esketamine)",
        needles=("subcutaneous", "s.c.", "sc ketamine", "sc esketamine"),
    ),
    Term(
        "im",
        "into a muscle",
        r"\bintramuscular(?:ly)?\b|\bi\.m\.|\bIM (?:ketamine|esketamine)",
        needles=("intramuscular", "i.m.", "im ketamine", "im esketamine"),
    ),
    Term("sublingual", "under the tongue", r"\bsublingual(?:ly)?\b", needles=("sublingual",)),
)
ROUTE_CODES: tuple[str, ...] = tuple(r.code for r in ROUTES)

# --- designs (display words as the evidence sheet shows them) --------------------------------
DESIGNS: tuple[Term, ...] = (
    Term("rct", "Randomized trial"),
    Term("crossover_rct", "Randomized crossover trial"),
    Term("open_label", "Open-label study (everyone knew the treatment)"),
    Term("post_hoc", "Later analysis of a trial"),
    Term("review", "Review of studies"),
    Term("observational", "Observational study"),
    Term("protocol", "Study protocol (no results yet)"),
    Term("case_report", "Case report"),
    Term("other", "Other article"),
)
DESIGN_CODES: tuple[str, ...] = tuple(d.code for d in DESIGNS)
DESIGN_DISPLAY: dict[str, str] = {d.code: d.display for d in DESIGNS}
RANDOMISED_DESIGNS: tuple[str, ...] = ("rct", "crossover_rct")
COMPARATIVE_DESIGNS: tuple[str, ...] = ("rct", "crossover_rct", "post_hoc")

# --- populations -------------------------------------------------------------------------------
POPULATIONS: tuple[Term, ...] = (
    Term(
        "trd",
        "treatment-resistant depression",
        r"treatment[- ]resistant|\bTRD\b|treatment[- ]refractory",
        needles=("resistant", "TRD", "refractory"),
    ),
    Term(
        "mdd",
        "major depression",
        r"major depressi\w+|\bMDD\b|unipolar depression",
        needles=("major depressi", "MDD", "unipolar"),
    ),
    Term("bipolar_depression", "bipolar depression", r"bipolar", needles=("bipolar",)),
    Term(
        "suicidal_ideation",
        "suicidal thoughts",
        r"suicidal (?:ideation|thoughts)|suicidality|imminent risk of suicide",
        needles=("suicid",),
    ),
    Term("ptsd", "PTSD", r"\bPTSD\b|post-?traumatic stress", needles=("PTSD", "traumatic")),
    Term(
        "postpartum",
        "after childbirth",
        r"postpartum|perinatal|post-?natal|\bPPD\b|cesarean|caesarean",
        needles=("partum", "natal", "PPD", "cesarean", "caesarean"),
    ),
    Term(
        "adolescents",
        "young people",
        r"adolescen\w+|\bteenagers?\b|\bchildren\b|\byouths?\b",
        needles=("adolescen", "teenager", "children", "youth"),
    ),
    Term(
        "older_adults",
        "older adults",
        r"\belderly\b|older adults|geriatric|≥\s?65 years|aged 65|older patients",
        needles=("elderly", "older", "geriatric", "65 years", "aged 65"),
    ),
)
POPULATION_CODES: tuple[str, ...] = tuple(p.code for p in POPULATIONS)

# --- comparators -------------------------------------------------------------------------------
COMPARATORS: tuple[Term, ...] = (
    Term("placebo", "placebo", r"placebo|saline", needles=("placebo", "saline")),
    Term("midazolam", "midazolam", r"midazolam", needles=("midazolam",)),
    Term("ect", "ECT", r"electroconvulsive|\bECT\b", needles=("electroconvulsive", "ECT")),
    Term(
        "antidepressant",
        "an antidepressant",
        r"quetiapine|antidepressant (?:plus|and) placebo|AD plus placebo|versus (?:an? )?(?:oral )?"
        r"antidepressant|active[- ]compar\w+",
        needles=(
            "quetiapine",
            "plus placebo",
            "and placebo",
            "versus an",
            "versus oral",
            "versus antidepressant",
            "active-compar",
            "active compar",
        ),
    ),
    Term(
        "other",
        "another treatment",
        r"propofol|remifentanil|dexmedetomidine|sufentanil|\bversus (?:TMS|psilocybin)",
        needles=(
            "propofol",
            "remifentanil",
            "dexmedetomidine",
            "sufentanil",
            "versus tms",
            "versus psilocybin",
        ),
    ),
    Term("ketamine_dose", "another dose of the same drug"),
)
COMPARATOR_CODES: tuple[str, ...] = tuple(c.code for c in COMPARATORS)
# Words of an inactive control arm.
PLACEBO_WORDS: tuple[str, ...] = (
    "placebo", "saline", "midazolam", "sham", "control", "usual care", "waitlist",
)  # fmt: skip

# --- arm roles -----------------------------------------------------------------------------------
ROLES: tuple[Term, ...] = (
    Term("intervention", "the drug studied"),
    Term("placebo", "placebo or an inactive control"),
    Term("active", "an active comparator"),
    Term("comparator", "a comparator of unknown kind"),
)
ROLE_CODES: tuple[str, ...] = tuple(r.code for r in ROLES)
# What an arm's `drug` holds: a ketamine form, or the comparator it is.
ARM_DRUG_CODES: tuple[str, ...] = (
    *DRUG_CODES,
    *(c for c in COMPARATOR_CODES if c != "ketamine_dose"),
)
# The direction words give a difference written as a positive size ("lower ... by 7.95").
DIRECTIONS: tuple[str, ...] = ("lower", "higher")

# Words that name a treatment arm in text, and their canonical forms.
ARM_WORD_PATTERN = (
    r"(?:(?:es|ar)?ketamine|ESK(?:-NS)?|KET01|placebo|PBO|midazolam|ECT|electroconvulsive therapy"
    r"|quetiapine(?: XR)?|antidepressants?|AD|saline|propofol|sufentanil)"
)
ARM_SYNONYMS: dict[str, str] = {
    "esk": "esketamine", "esk-ns": "esketamine", "esketamine-ns": "esketamine",
    "pbo": "placebo", "saline": "placebo", "ad": "antidepressant",
    "antidepressants": "antidepressant", "quetiapine xr": "quetiapine",
    "electroconvulsive therapy": "ect", "electroconvulsive": "ect", "controls": "control",
}  # fmt: skip
# Display words of arm drugs that are not ketamine forms.
ARM_DISPLAY: dict[str, str] = {"ect": "ECT", "antidepressant": "an antidepressant"}


def role_of(drug: str | None, words: str) -> str:
    """The role of an arm from its drug code and its words: a ketamine form is the intervention,
    placebo-like words a placebo, a named other treatment active, anything else a comparator."""
    low = words.lower()
    if drug in DRUG_CODES:
        return "intervention"
    if any(word in low for word in PLACEBO_WORDS):
        return "placebo"
    if drug:
        return "active"
    return "comparator"


# --- rating scales -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale(Term):
    """A rating scale; `depression` when it rates depression (efficacy results are on it)."""

    depression: bool = False


SCALES: tuple[Scale, ...] = (
    Scale(
        "MADRS",
        "MADRS",
        r"MADRS|Montgomery[- ]+[ÅA]sberg",
        needles=("MADRS", "Montgomery"),
        depression=True,
    ),
    Scale(
        "HAM-D",
        "HAM-D",
        r"HAM-?D|HDRS|HRSD|Hamilton (?:Depression|Rating Scale for Depression)",
        needles=("HAM", "HDRS", "HRSD", "Hamilton"),
        depression=True,
    ),
    Scale("BDI", "BDI", r"\bBDI\b|Beck Depression", needles=("BDI", "Beck"), depression=True),
    Scale(
        "QIDS-SR",
        "QIDS-SR",
        r"QIDS|Quick Inventory of Depressive",
        needles=("QIDS", "Quick Inventory"),
        depression=True,
    ),
    Scale(
        "PHQ-9",
        "PHQ-9",
        r"PHQ-?9|Patient Health Questionnaire",
        needles=("PHQ", "Patient Health"),
        depression=True,
    ),
    Scale(
        "CGI",
        "CGI",
        r"\bCGI\b|CGI-[SI]|Clinical Global Impression",
        needles=("CGI", "Clinical Global"),
    ),
    Scale("C-SSRS", "C-SSRS", r"C-SSRS|Columbia[- ]Suicide", needles=("C-SSRS", "Columbia")),
    Scale(
        "SSI", "SSI", r"\bSSI\b|Scale for Suicidal Ideation", needles=("SSI", "Scale for Suicidal")
    ),
    Scale(
        "EPDS",
        "EPDS",
        r"\bEPDS\b|Edinburgh Postnatal",
        needles=("EPDS", "Edinburgh"),
        depression=True,
    ),
    Scale(
        "CADSS",
        "CADSS",
        r"\bCADSS\b|Clinician-Administered Dissociative",
        needles=("CADSS", "Clinician-Administered Dissociative"),
    ),
    Scale("SDS", "SDS", r"\bSDS\b|Sheehan Disability", needles=("SDS", "Sheehan")),
    Scale("PCL-5", "PCL-5", r"PCL-5|PTSD Checklist", needles=("PCL-5", "PTSD Checklist")),
    Scale(
        "CAPS-5",
        "CAPS-5",
        r"CAPS-5|Clinician-Administered PTSD",
        needles=("CAPS-5", "Clinician-Administered PTSD"),
    ),
    Scale(
        "IDS",
        "IDS",
        r"\bIDS\b|\bIDS-SR|Inventory of Depressive Symptomatology",
        needles=("IDS", "Inventory of Depressive"),
        depression=True,
    ),
    Scale("HAM-A", "HAM-A", r"HAM-A\b|Hamilton Anxiety", needles=("HAM-A", "Hamilton Anxiety")),
    Scale("GAD-7", "GAD-7", r"GAD-7", needles=("GAD-7",)),
    Scale("SHAPS", "SHAPS", r"SHAPS|Snaith-Hamilton", needles=("SHAPS", "Snaith")),
)
SCALE_CODES: tuple[str, ...] = tuple(s.code for s in SCALES)
DEPRESSION_SCALES: frozenset[str] = frozenset(s.code for s in SCALES if s.depression)

# --- timepoints: units and their length in days ----------------------------------------------
TIME_UNITS: dict[str, float] = {
    "minute": 1 / 1440, "min": 1 / 1440, "hour": 1 / 24, "h": 1 / 24, "hr": 1 / 24,
    "day": 1.0, "week": 7.0, "wk": 7.0, "month": 30.4375, "year": 365.25,
}  # fmt: skip

# --- side effects: the words of adverse events an abstract reports -----------------------------
SIDE_EFFECTS: tuple[str, ...] = (
    "nausea", "vomiting", "dissociation", "dissociative symptoms", "dizziness", "headache",
    "vertigo", "dysgeusia", "somnolence", "sedation", "drowsiness", "fatigue", "hypoaesthesia",
    "hypoesthesia", "paraesthesia", "paresthesia", "anxiety", "insomnia", "hypertension",
    "hypotension", "hypoxemia", "blood pressure increased", "increased blood pressure",
    "disturbance in attention", "diarrhea", "diarrhoea", "dry mouth", "euphoria",
    "feeling drunk", "confusion", "blurred vision", "vision blurred", "tachycardia",
    "dysarthria", "diplopia", "nasal discomfort", "throat irritation", "hallucinations",
    "agitation", "tremor", "syncope", "dissociative syndrome", "psychotomimetic effects",
)  # fmt: skip
# Stems a label must contain for the evidence sheet to show it as a side effect.
SIDE_EFFECT_STEMS: tuple[str, ...] = (
    "nausea", "vomit", "dissociat", "dizz", "headache", "vertigo", "dysgeusia", "taste",
    "somnolence", "sedation", "drows", "fatigue", "anxiety", "paresthesia", "hypoesthesia",
    "blood pressure", "hypertension", "heart rate", "cadss", "adverse", "teae", "side effect",
    "discontinu", "diplopia", "dry mouth", "insomnia",
)  # fmt: skip

# --- treatments the clinic offers, as the sheet and plots name them ----------------------------
ROUTE_TREATMENT_NAMES: dict[str, str] = {
    "iv": "IV ketamine",
    "intranasal": "Esketamine nasal spray",
    "all": "All",
}
DRUG_FOR_ROUTE: dict[str, str] = {"iv": "ketamine", "intranasal": "esketamine"}

# Every vocabulary the warehouse checks, by name (see pipeline.vocab.sql).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "kind": KIND_CODES,
    "drug": DRUG_CODES,
    "route": ROUTE_CODES,
    "design": DESIGN_CODES,
    "role": ROLE_CODES,
    "arm_drug": ARM_DRUG_CODES,
    "direction": DIRECTIONS,
    "population": POPULATION_CODES,
    "comparator": COMPARATOR_CODES,
}
