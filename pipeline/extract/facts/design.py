"""Design rules: randomised, crossover, post hoc, open label, observational, review, protocol,
case report or other, from the publication types, the title and the abstract.

Each cue is a named rule (`FactRule`) with example sentences; `design` weighs them in a fixed
order (publication types and title first, then the abstract). A new cue is one rule here with
its examples and one line in `design`.
"""

from __future__ import annotations

import re

from pipeline.extract.facts.matching import gated, lower
from pipeline.extract.facts.rule import Example, FactRule
from pipeline.extract.numbers import SP, WORD_NUMBER

RANDOMIZED = FactRule(
    "randomized",
    "design",
    "the study says it randomized",
    r"\brandomi[sz](?:ed|ation)\b|\brandomly (?:assigned|allocated)",
    ("random",),
    (
        Example("Participants were randomly allocated to two doses.", True),
        Example("A random sample of charts was read.", False),
    ),
)
_RANDOMIZED_RE = gated(RANDOMIZED)
POST_HOC = FactRule(
    "post_hoc",
    "design",
    "a title naming a secondary, pooled or post hoc analysis",
    r"\bpost[- ]?hoc\b|\bsecondary analys[ie]s\b|\bpooled analys[ie]s\b|\bexploratory analys[ie]s\b"
    r"|\bsubgroup analys[ie]s\b|\bsensitivity analys[ie]s\b|\bre-?analys[ie]s\b",
    ("hoc", "analys"),
    (
        Example("Relapse in remitters: a post-hoc analysis", True),
        Example("A randomized trial of esketamine", False),
    ),
)
_POST_HOC_RE = gated(POST_HOC)
POST_HOC_BODY = FactRule(
    "post_hoc_body",
    "design",
    "an abstract saying it analyses the data of another study",
    r"\b(?:this|a|the present|we (?:performed|conducted)(?: a)?) (?:is a )?(?:post[- ]?hoc"
    r"|secondary|pooled|exploratory) (?:analys[ie]s|study)\b|\bpost[- ]?hoc analys[ie]s of "
    r"(?:data|a|the)|\bthis analysis (?:assessed|examined|evaluated)|\bdata sources were\b"
    r"|\b(?:were|was) pooled from\b|\bpost[- ]?hoc nature\b",
    ("hoc", "secondary", "pooled", "exploratory", "this analysis", "data sources"),
    (
        Example("This is a secondary analysis of a trial of ketamine.", True),
        Example("We ran a randomized trial.", False),
    ),
)
_POST_HOC_BODY_RE = gated(POST_HOC_BODY)
# "...: Results From Four Phase 3 Studies", "Findings from a 32-week randomised ... study"
SECONDARY_TITLE = FactRule(
    "secondary_title",
    "design",
    "a title naming results from other studies",
    r"\b(?:results|findings|data) from (?:the |a |an |two |three |four |five |six |\d+ )?"
    r"(?:[\w,-]+ ){0,6}?(?:stud(?:y|ies)|trials?|program(?:me)?)\b|\banalysis of (?:phase|"
    r"pooled|\w+ trial) ",
    ("from", "analysis of"),
    (
        Example("Dissociation: findings from two phase 3 studies", True),
        Example("Ketamine for pain", False),
    ),
)
_SECONDARY_TITLE_RE = gated(SECONDARY_TITLE)
SUBSET = FactRule(
    "subset",
    "design",
    "a subset of the patients of another study",
    r"\b(?:a )?subset of (?:the )?(?:patients|participants)\b",
    ("subset",),
    (
        Example("A subset of the participants had imaging.", True),
        Example("All participants had imaging.", False),
    ),
)
_SUBSET_RE = gated(SUBSET)
GENETIC = FactRule(
    "genetic",
    "design",
    "a genetic study",
    r"polymorphism|genotyp|genome-wide|\bgenetic\b|\brs\d{3,}",
    ("polymorph", "genotyp", "genome", "genetic", "rs"),
    (
        Example("BDNF polymorphism and response", True),
        Example("Response to ketamine", False),
    ),
)
_GENETIC_RE = gated(GENETIC)
OTHER_TITLE = FactRule(
    "other_title",
    "design",
    "a commentary, letter, reply or economic evaluation",
    r"\bcommentary\b|\breply\b|\bletter\b|\bcomment on\b|\bcorrespondence\b"
    r"|cost-effectiveness|economic evaluation|budget impact",
    ("comment", "reply", "letter", "correspondence", "cost", "economic", "budget"),
    (
        Example("Cost-effectiveness of nasal esketamine", True),
        Example("Efficacy of nasal esketamine", False),
    ),
)
_OTHER_TITLE_RE = gated(OTHER_TITLE)
REVIEW = FactRule(
    "review",
    "design",
    "a title naming a review or meta-analysis",
    r"\bsystematic review\b|\bmeta-?analys[ie]s\b|\breview\b",
    ("review", "meta"),
    (
        Example("Ketamine in depression: a review", True),
        Example("Ketamine in depression: a trial", False),
    ),
)
_REVIEW_RE = gated(REVIEW)
PROTOCOL = FactRule(
    "protocol",
    "design",
    "a title naming a protocol or study design",
    r"\bprotocol\b|\brationale and design\b|\bstudy design\b",
    ("protocol", "design"),
    (
        Example("Oral ketamine: protocol for a multicentre trial", True),
        Example("Oral ketamine in older adults", False),
    ),
)
_PROTOCOL_RE = gated(PROTOCOL)
CASE = FactRule(
    "case",
    "design",
    "a case report or series",
    r"\bcase reports?\b|\bcase series\b|\bcase stud(?:y|ies)\b",
    ("case",),
    (
        Example("Mania after esketamine: a case report", True),
        Example("Mania after esketamine in a cohort", False),
    ),
)
_CASE_RE = gated(CASE)
CROSSOVER = FactRule(
    "crossover",
    "design",
    "a crossover",
    r"\bcross-?over\b",
    ("cross",),
    (
        Example("In a cross-over design, each patient had both.", True),
        Example("In a parallel design.", False),
    ),
)
_CROSSOVER_RE = gated(CROSSOVER)
OPEN_LABEL = FactRule(
    "open_label",
    "design",
    "an open-label or single-arm study",
    r"\bopen[- ]label\b|\bsingle[- ]arm\b|\bsingle-group\b",
    ("open", "single"),
    (
        Example("An open label extension of a trial", True),
        Example("A double-blind trial", False),
    ),
)
_OPEN_LABEL_RE = gated(OPEN_LABEL)
OBSERVATIONAL = FactRule(
    "observational",
    "design",
    "an observational, records or pharmacovigilance study",
    r"\bretrospective(?:ly)?\b|\bobservational\b|\breal[- ]world\b|\bcohort study\b|\bregistry\b"
    r"|\bpharmacovigilance\b|\bclaims (?:data|database)\b|\bsurvey\b|\bnaturalistic\b"
    r"|\bchart review\b|\bdatabases?\b|\bAdverse Event Reporting System\b|\bcase-control\b"
    r"|\bcross-sectional\b|\b(?:medical|health|clinical) records\b|\bFAERS\b|\bVigiBase\b"
    r"|\bEudraVigilance\b|\bdisproportionality\b|\bpropensity score",
    (
        "retrospect", "observational", "real", "cohort", "registry", "pharmacovigilance",
        "claims", "survey", "naturalistic", "chart", "database", "adverse event reporting",
        "case-control", "cross-sectional", "records", "faers", "vigibase", "eudravigilance",
        "disproportionality", "propensity",
    ),
    (
        Example("A retrospective chart review of 40 inpatients", True),
        Example("A prospective randomized trial", False),
    ),
)  # fmt: skip
_OBSERVATIONAL_RE = gated(OBSERVATIONAL)
ANIMAL = FactRule(
    "animal",
    "design",
    "an animal or laboratory study",
    r"\b(?:mice|mouse|rats?|rodents?|murine|microglial cells|in vitro|zebrafish|cell lines?)\b",
    (
        "mice", "mouse", "rats", " rat ", "rodent", "murine", "microglial", "in vitro",
        "zebrafish", "cell line",
    ),
    (
        Example("Ketamine reduced immobility in mice.", True),
        Example("Ketamine reduced depression in adults.", False),
    ),
)  # fmt: skip
_ANIMAL_RE = gated(ANIMAL)
# A review says so in its body even when neither its title nor its publication type does.
REVIEW_BODY = FactRule(
    "review_body",
    "design",
    "an abstract saying it reviews the evidence of others",
    r"\b(?:this|our|the present|a|narrative|literature|scoping|we) (?:narrative |mini-?)?"
    r"review(?:ed|s)?\b|\bwe (?:summari[sz]e|discuss|overview)\b|\bthis (?:article|paper|chapter)"
    r" (?:reviews|summari[sz]es|discusses|describes|provides an overview)\b|\bwe (?:performed|"
    r"conducted|carried out|undertook) an? (?:systematic review|meta-?analys[ie]s)"
    r"|^(?:Areas covered|AREAS COVERED)\s?:|\s(?:Areas covered|Expert opinion|EXPERT OPINION)\s?:"
    r"|\bsearched (?:the )?(?:PubMed|MEDLINE|Embase|PsycINFO|Web of Science|Cochrane)",
    ("review", "summari", "discuss", "overview", "areas covered", "expert opinion", "searched"),
    (
        Example("In this review we summarise the trials.", True),
        Example("We searched MEDLINE for trials.", True),
        Example("We enrolled 30 adults.", False),
    ),
)
_REVIEW_BODY_RE = gated(REVIEW_BODY)
# Publication types of records that report no study of their own.
_NOT_A_STUDY_PUBTYPES = frozenset({"Editorial", "Comment", "Letter", "News", "Interview"})
_CLINICAL_TRIAL_PUBTYPES = frozenset(
    {
        "Clinical Trial", "Clinical Trial, Phase I", "Clinical Trial, Phase II",
        "Clinical Trial, Phase III", "Clinical Trial, Phase IV",
    }
)  # fmt: skip
# Publication types of a study of its own patients.
_TRIAL_PUBTYPES = _CLINICAL_TRIAL_PUBTYPES | {
    "Randomized Controlled Trial",
    "Observational Study",
    "Case Reports",
}
# A study of its own patients: "we enrolled", "patients were randomized", "(n = 30)".
OWN_PATIENTS = FactRule(
    "own_patients",
    "design",
    "a study of its own patients",
    r"\bwe (?:enrolled|recruited|randomi[sz]ed|treated|included \d+ patients)\b|\b(?:patients|"
    r"participants|subjects) were (?:enrolled|recruited|randomi[sz]ed|randomly)\b|\(n ?= ?\d+\)",
    ("enrolled", "recruited", "randomi", "randomly", "treated", "included", "n =", "n="),
    (
        Example("We recruited adults with TRD.", True),
        Example("Trials were pooled.", False),
    ),
)
_OWN_PATIENTS_RE = gated(OWN_PATIENTS)
# A study that treated one group of its own patients: "Seventy TRD patients received 394 weekly
# s.c. esketamine injections", "A total of sixty patients ... were enrolled in the clinical study of
# esketamine". Only reached when nothing says randomized, observational, review or case report.
TREATED_GROUP = FactRule(
    "treated_group",
    "design",
    "one group of its own patients treated with a ketamine form",
    rf"\b(?:\d+|{WORD_NUMBER}){SP}(?:[\w-]+{SP}){{0,3}}?(?:patients|participants|subjects|adults"
    rf"|inpatients|outpatients)\b[^.;]{{0,40}}?\b(?:received|were{SP}(?:treated{SP}with|given"
    rf"|enrolled{SP}in{SP}(?:the|a){SP}(?:clinical{SP})?(?:study|trial){SP}of))\b"
    rf"(?:[^.;]|(?-i:\.(?!\s[A-Z\d(]))){{0,40}}?(?:es|ar)?ketamine\b",  # "s.c. esketamine"
    ("received", "treated with", "given", "enrolled in"),
    (
        Example("Forty adults with TRD received weekly esketamine.", True),
        Example("Forty adults with TRD received ECT.", False),
    ),
)
_TREATED_GROUP_RE = gated(TREATED_GROUP)


def design(title: str, abstract: str, pubtypes: set[str]) -> str | None:
    """The study design in the vocabulary of the contract, None when nothing says."""
    text = f"{title} {abstract}"
    if "Published Erratum" in pubtypes or re.match(r"^(?:Correction|Erratum)\b", title, re.I):
        return "other"
    if "Clinical Trial Protocol" in pubtypes or _PROTOCOL_RE.search(title):
        return "protocol"
    if pubtypes & {"Meta-Analysis", "Systematic Review"} or re.search(
        r"systematic review|meta-?analys[ie]s", title, re.I
    ):
        return "review"
    if "Case Reports" in pubtypes or _CASE_RE.search(title):
        return "case_report"
    if (
        _OTHER_TITLE_RE.search(title)
        or _ANIMAL_RE.search(title)
        or (pubtypes & _NOT_A_STUDY_PUBTYPES and not pubtypes & _TRIAL_PUBTYPES)
    ):
        return "other"  # commentary, reply, letter, economic model, animal study
    observational = "Observational Study" in pubtypes or _OBSERVATIONAL_RE.search(title)
    post_hoc = _POST_HOC_BODY_RE.search(abstract)
    if post_hoc and _OBSERVATIONAL_RE.search(abstract, post_hoc.end(), post_hoc.end() + 60):
        return "observational"  # a post hoc analysis of an observational study
    if (
        post_hoc
        or _POST_HOC_RE.search(title)
        or (_SECONDARY_TITLE_RE.search(title) and not observational)
        or _SUBSET_RE.search(abstract)
        or (_GENETIC_RE.search(title) and re.search(r"\btrials?\b", text, re.I))
    ):
        return "post_hoc"
    if re.search(r"genome-wide|\bGWAS\b|genetic association", title, re.I):
        return "other"  # a genetic association study whose cohorts are not said to be trials
    if _ANIMAL_RE.search(text) and not re.search(r"\bpatients?\b", text, re.I):
        return "other"
    if "Review" in pubtypes or _REVIEW_RE.search(title):
        return "review"
    if _REVIEW_BODY_RE.search(abstract) and not _OWN_PATIENTS_RE.search(abstract):
        return "review"  # "In this review ...", "Areas covered: ...", "We searched PubMed ..."
    randomized = bool(_RANDOMIZED_RE.search(text)) or "Randomized Controlled Trial" in pubtypes
    low = lower(text)
    several_trials = any(f"{n} randomi" in low for n in ("two", "three", " 2", " 3"))
    crossover = _CROSSOVER_RE.search(title) or _CROSSOVER_RE.search(abstract)
    if randomized and crossover and not several_trials:
        # The crossover must be the randomized part: both in the same sentence.
        found = [at for at in (low.find("crossover"), low.find("cross-over")) if at >= 0]
        if found:
            at = min(found)
            end = low.find(".", at)
            sentence = low[low.rfind(".", 0, at) + 1 : end if end >= 0 else len(low)]
            if _RANDOMIZED_RE.search(sentence):
                return "crossover_rct"
    if randomized and (
        "Randomized Controlled Trial" in pubtypes
        or re.search(r"randomi[sz]ed[^.]{0,60}\b(?:trial|study)\b", text, re.I)
        or re.search(r"\b(?:were|was|patients|participants) (?:then )?randomi[sz]ed", text, re.I)
        or re.search(r"randomly (?:assigned|allocated)", text, re.I)
    ):
        return "rct"
    if _OPEN_LABEL_RE.search(text):
        return "open_label"
    if _OBSERVATIONAL_RE.search(text) or "Observational Study" in pubtypes:
        return "observational"
    if pubtypes & _CLINICAL_TRIAL_PUBTYPES:
        return "open_label"
    if _TREATED_GROUP_RE.search(abstract):
        return "open_label"  # "Seventy TRD patients received weekly esketamine": one treated group
    return None


RULES: tuple[FactRule, ...] = (
    RANDOMIZED, POST_HOC, POST_HOC_BODY, SECONDARY_TITLE, SUBSET, GENETIC, OTHER_TITLE, REVIEW,
    PROTOCOL, CASE, CROSSOVER, OPEN_LABEL, OBSERVATIONAL, ANIMAL, REVIEW_BODY, OWN_PATIENTS,
    TREATED_GROUP,
)  # fmt: skip


def read(rule: FactRule, text: str) -> bool:
    """Whether a design cue finds its words in `text`."""
    return gated(rule).search(text) is not None
