"""The claim checker: each sentence of free text that states a number, a study or a comparison
is checked against the warehouse's effects and called supported, contradicted or not_found.

A claim is supported only by a record that states it: the same number (to the precision the
claim writes it), for the same drug (and route, when the claim names one), the same measure
(response, remission, relapse, a named side effect, or a named ratio), the same group, and the
same study and timepoint when the claim names them. A sentence that is vague about any of these
is not_found, never supported. By default only verified effects count (those a person checked);
`include_unreviewed=True` checks against every extracted effect and says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import pandas as pd

from pipeline import warehouse
from pipeline.evidence import citations, review

log = logging.getLogger(__name__)

SUPPORTED, CONTRADICTED, NOT_FOUND = "supported", "contradicted", "not_found"
MAX_EVIDENCE = 10

# --- reading a sentence -------------------------------------------------------------------------

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
_CLAIM_WORDS = re.compile(
    r"\b(study|studies|trial|trials|published|journal|found|"
    r"showed|shown|than|compared|versus|vs|better|faster|superior|inferior|fewer)\b",
    re.IGNORECASE,
)
_DRUGS = {
    "esketamine": re.compile(r"\b(es-?ketamine|spravato|esk)\b", re.IGNORECASE),
    "arketamine": re.compile(r"\barketamine\b", re.IGNORECASE),
    "ketamine": re.compile(r"\bketamine\b", re.IGNORECASE),
}
_ROUTES = {
    "iv": re.compile(r"\b(iv|i\.v\.|intravenous(ly)?|infusions?)\b", re.IGNORECASE),
    "intranasal": re.compile(r"\b(intranasal(ly)?|nasal|spray)\b", re.IGNORECASE),
    "oral": re.compile(r"\b(oral(ly)?|tablets?|pills?|by mouth)\b", re.IGNORECASE),
    "sc": re.compile(r"\b(subcutaneous(ly)?|under the skin)\b", re.IGNORECASE),
    "im": re.compile(r"\b(intramuscular(ly)?)\b", re.IGNORECASE),
}
_COMPARATORS = {
    "placebo": re.compile(r"\bplacebo\b", re.IGNORECASE),
    "midazolam": re.compile(r"\bmidazolam\b", re.IGNORECASE),
    "ect": re.compile(r"\b(ect|electroconvulsive)\b", re.IGNORECASE),
    "quetiapine": re.compile(r"\bquetiapine\b", re.IGNORECASE),
}
_MEASURES = {
    "response_rate": re.compile(r"\b(respon(d|ds|ded|se|ses|ders?))\b", re.IGNORECASE),
    "remission_rate": re.compile(r"\b(remission|remitted|remit|symptom-free)\b", re.IGNORECASE),
    "relapse_rate": re.compile(r"\b(relaps(e|ed|es|ing))\b", re.IGNORECASE),
}
SIDE_EFFECTS = (
    "nausea", "dissociation", "dizziness", "headache", "vertigo", "dysgeusia", "somnolence",
    "sedation", "vomiting", "anxiety", "hypoesthesia", "paresthesia", "blood pressure",
    "hypertension", "fatigue", "insomnia", "diplopia", "dry mouth",
)  # fmt: skip
_RATIOS = re.compile(
    r"\b(hazard ratio|odds ratio|risk ratio|relative risk|HR|OR|RR)\b[^0-9]{0,12}?(\d+\.\d+|\d+)",
)
_RATIO_KIND = {
    "hazard ratio": "hazard_ratio", "hr": "hazard_ratio", "odds ratio": "odds_ratio",
    "or": "odds_ratio", "risk ratio": "risk_ratio", "relative risk": "risk_ratio",
    "rr": "risk_ratio",
}  # fmt: skip
_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b)", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b(?!\s*(?:%|percent))")
_TIMEPOINT = re.compile(
    r"\b(?:(\d+)\s*-?\s*(hours?|hrs?|h|days?|weeks?|months?)\b|(day|week|month)\s+(\d+))",
    re.IGNORECASE,
)
_JOURNAL_PHRASE = re.compile(
    r"\b(?:published in|appeared in|reported in|in)\s+(?:the\s+)?"
    r"((?:[A-Z][\w&'-]*)(?:\s+(?:[A-Z][\w&'-]*|of|and|the|for|&))*)"
)
_JOURNAL_WORDS = re.compile(
    r"\b(journal|j|psychiatry|psychiatr\w*|medicine|med|lancet|jama|nature|science|neuro\w*|"
    r"psychopharmacol\w*|bmj|nejm|review|reports)\b",
    re.IGNORECASE,
)
_AUTHOR = re.compile(r"\b([A-Z][a-zA-Z'\-]+)\s+(?:et al\b|and colleagues\b)")
_CLINIC = re.compile(r"\b(our (clinic|patients|practice|center|centre)|at our)\b", re.IGNORECASE)
_VAGUE = re.compile(
    r"\b(antidepressant effects?|improv\w+|benefit\w*|helped|works?|effective|relief)\b",
    re.IGNORECASE,
)
_LOWER = re.compile(
    r"\b(lower(ed|s)?|reduc(e|ed|es|ing)|decreas\w*|fewer|less (likely|often)|cuts?|"
    r"prevent\w*)\b",
    re.IGNORECASE,
)
_HIGHER = re.compile(
    r"\b(higher|rais(e|ed|es)|increas\w*|more (likely|often|people|patients))\b", re.IGNORECASE
)
_COMPARISON = re.compile(r"\b(than|compared|versus|vs)\b", re.IGNORECASE)
_UNIT_FAMILY = {"h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour"}


@dataclass(frozen=True)
class ClaimedNumber:
    """One number a claim states: a percent (of a rate) or a named ratio."""

    value: float
    text: str
    kind: str | None = None  # a ratio kind for ratios; None for a percent
    decimals: int = 0

    def matches(self, stated: float) -> bool:
        """The record's value, written to the claim's precision, is the claimed number."""
        tolerance = 0.5 * 10 ** (-self.decimals) if self.decimals < 6 else 1e-9
        return abs(float(stated) - self.value) <= tolerance + 1e-9


@dataclass
class Claim:
    """What one sentence states, as far as the records can check it."""

    sentence: str
    numbers: list[ClaimedNumber] = field(default_factory=list)
    drugs: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    comparators: list[str] = field(default_factory=list)
    measure: str | None = None  # response_rate | remission_rate | relapse_rate | a side effect
    side_effect: str | None = None
    year: int | None = None
    journal: str | None = None
    author: str | None = None
    timepoints: list[tuple[str, str]] = field(default_factory=list)  # (number, unit family)
    about_clinic: bool = False
    vague: bool = False
    direction: str | None = None  # 'lower' | 'higher': a comparison stated without a number


_ABBREVIATION_END = re.compile(r"\b(vs|e\.g|i\.e|al|approx|cf|Dr|Fig|No|Ref)\.[\"')\]]?$", re.I)


def split_sentences(text: str) -> list[str]:
    """Sentences of free text (paragraph breaks end a sentence too); decimals and 'vs.' or
    'et al.' do not end one."""
    sentences, begin = [], 0
    for match in _SENTENCE_SPLIT.finditer(text):
        if match[0].strip() == "" and _ABBREVIATION_END.search(text[begin : match.start()]):
            continue  # "vs. 45.3%": an abbreviation, not the end of the sentence
        sentences.append(text[begin : match.start()])
        begin = match.end()
    sentences.append(text[begin:])
    return [" ".join(s.split()) for s in sentences if s.strip()]


def is_claim(sentence: str) -> bool:
    """The sentence states a number, a study or a comparison."""
    return bool(re.search(r"\d", sentence) or _CLAIM_WORDS.search(sentence))


def _unit(word: str) -> str:
    word = word.lower()
    return _UNIT_FAMILY.get(word, word.rstrip("s"))


def parse_claim(sentence: str) -> Claim:
    """Read what a sentence claims: numbers, drug, route, measure, study and timepoint."""
    claim = Claim(sentence)
    for name, pattern in _DRUGS.items():
        if pattern.search(sentence):
            claim.drugs.append(name)
    if "esketamine" in claim.drugs and "ketamine" in claim.drugs:
        # "ketamine" inside a sentence about esketamine only counts when written on its own
        stripped = _DRUGS["esketamine"].sub("", sentence)
        if not _DRUGS["ketamine"].search(stripped):
            claim.drugs.remove("ketamine")
    claim.routes = [name for name, pattern in _ROUTES.items() if pattern.search(sentence)]
    claim.comparators = [n for n, pattern in _COMPARATORS.items() if pattern.search(sentence)]
    for match in _RATIOS.finditer(sentence):
        text = match[2]
        decimals = len(text.split(".")[1]) if "." in text else 0
        kind = _RATIO_KIND[match[1].lower()]
        claim.numbers.append(ClaimedNumber(float(text), match[0], kind, decimals))
    ratio_spans = [m.span() for m in _RATIOS.finditer(sentence)]
    for match in _PERCENT.finditer(sentence):
        if any(a <= match.start() < b for a, b in ratio_spans):
            continue
        text = match[1]
        decimals = len(text.split(".")[1]) if "." in text else 0
        claim.numbers.append(ClaimedNumber(float(text), match[0], None, decimals))
    for name, pattern in _MEASURES.items():
        if pattern.search(sentence):
            claim.measure = name
            break
    lowered = sentence.lower()
    for name in SIDE_EFFECTS:
        if re.search(rf"\b{name}\b", lowered):
            claim.side_effect = name
            claim.measure = claim.measure or "side_effect"
            break
    year = _YEAR.search(sentence)
    claim.year = int(year[1]) if year else None
    for match in _JOURNAL_PHRASE.finditer(sentence):
        phrase = match[1].strip()
        if _JOURNAL_WORDS.search(phrase):
            claim.journal = phrase
            break
    author = _AUTHOR.search(sentence)
    claim.author = author[1] if author else None
    for match in _TIMEPOINT.finditer(sentence):
        if match[1]:
            claim.timepoints.append((match[1], _unit(match[2])))
        else:
            claim.timepoints.append((match[4], _unit(match[3])))
    if _COMPARISON.search(sentence) or claim.comparators:
        lower, higher = bool(_LOWER.search(sentence)), bool(_HIGHER.search(sentence))
        claim.direction = "lower" if lower and not higher else "higher" if higher else None
    claim.about_clinic = bool(_CLINIC.search(sentence))
    claim.vague = claim.measure is None and bool(_VAGUE.search(sentence))
    return claim


# --- the records ------------------------------------------------------------------------------


def _tokens(name: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", name.lower().replace(".", " "))
    return [w for w in words if w not in ("the", "of", "and", "for", "in")]


def journal_matches(phrase: str, names: Sequence[str | None]) -> bool:
    """A journal named in a claim is this one: same words, or its abbreviation word by word
    ('American Journal of Psychiatry' ~ 'Am J Psychiatry')."""
    said = _tokens(phrase)
    for name in names:
        name = review._none_if_nan(name)
        if not name:
            continue
        known = _tokens(name)
        if said == known:
            return True
        if len(said) == len(known) and all(
            s.startswith(k) or k.startswith(s) for s, k in zip(said, known, strict=True)
        ):
            return True
    return False


def article_index(con) -> pd.DataFrame:
    """Every record's year, journal and author surnames (lower case), to find a named study."""
    articles = con.execute(
        "SELECT pmid, pub_year, journal_title, journal_iso FROM core.articles"
    ).df()
    by_pmid: dict[str, set[str]] = {}
    for pmid, last in con.execute("SELECT pmid, lower(last_name) FROM core.authors").fetchall():
        by_pmid.setdefault(pmid, set()).add(last or "")
    articles["author_names"] = [by_pmid.get(p, set()) for p in articles["pmid"]]
    return articles


def records(con, include_unreviewed: bool = False) -> pd.DataFrame:
    """The effects a claim may be checked against, with article and trial facts."""
    effects = review.effect_statuses(con)
    if not include_unreviewed:
        effects = effects[(effects["status"] == review.VERIFIED) & ~effects["needs_rereview"]]
    effects = effects[~effects["is_retracted"].fillna(False).astype(bool)]
    facts_columns = warehouse.table_columns(con, "core.trial_facts")
    if facts_columns:
        drugs = "drugs" if "drugs" in facts_columns else "drug"
        routes = "routes" if "routes" in facts_columns else "route"
        facts = con.execute(
            f"SELECT pmid, {drugs} AS drugs, {routes} AS routes, design FROM core.trial_facts"
        ).df()
    else:
        facts = pd.DataFrame(columns=["pmid", "drugs", "routes", "design"])
    merged = effects.merge(article_index(con), on="pmid", how="left")
    return merged.merge(facts, on="pmid", how="left").reset_index(drop=True)


def _as_list(value) -> list[str]:
    value = review._none_if_nan(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _arm_fits(effect, claim: Claim, drug: str) -> bool:
    """The effect is about a group the claim names (the drug, or a named comparator)."""
    arm = review._none_if_nan(effect.arm)
    if arm is None:
        # a single-group study of one drug: every number is about the people who got it
        return effect.design in ("open_label", "observational") and _as_list(effect.drugs) == [drug]
    if _DRUGS[drug].search(arm) and not (drug == "ketamine" and _only_esketamine(arm)):
        return True
    return any(_COMPARATORS[c].search(arm) for c in claim.comparators)


def _only_esketamine(arm: str) -> bool:
    return not _DRUGS["ketamine"].search(_DRUGS["esketamine"].sub("", arm))


def _measure_fits(effect, claim: Claim, number: ClaimedNumber) -> bool:
    label = (review._none_if_nan(effect.label) or "").lower()
    if number.kind is not None:  # a ratio: same kind, about the claimed measure
        if effect.kind != number.kind:
            return False
        word = {"relapse_rate": "relaps", "response_rate": "respon", "remission_rate": "remi"}
        wanted = word.get(claim.measure or "")
        context = f"{label} {review.sentence_around(effect.abstract, effect.start, effect.end)[0]}"
        return wanted is None or wanted in context.lower()
    if claim.side_effect:
        return effect.kind == "other" and claim.side_effect in label
    return effect.kind == claim.measure


def _timepoint_fits(effect, claim: Claim) -> bool:
    if not claim.timepoints:
        return True
    said = (review._none_if_nan(effect.timepoint) or "").lower()
    said += " " + review.sentence_around(effect.abstract, effect.start, effect.end)[0].lower()
    for number, unit in claim.timepoints:
        found = False
        for match in _TIMEPOINT.finditer(said):
            n, u = (match[1], match[2]) if match[1] else (match[4], match[3])
            if n == number and _unit(u) == unit:
                found = True
        if not found:
            return False
    return True


def _study_fits(row, claim: Claim) -> bool:
    if claim.year is not None and row.pub_year != claim.year:
        return False
    if claim.journal and not journal_matches(claim.journal, [row.journal_title, row.journal_iso]):
        return False
    return not (claim.author and claim.author.lower() not in row.author_names)


_RATIO_KINDS = ("hazard_ratio", "risk_ratio", "odds_ratio")
_MEASURE_WORD = {"relapse_rate": "relaps", "response_rate": "respon", "remission_rate": "remi"}


def _ratio_direction(effect, drug: str) -> str | None:
    """'lower' or 'higher' when the ratio's CI excludes 1, seen from the drug's side."""
    low, high = review._none_if_nan(effect.ci_low), review._none_if_nan(effect.ci_high)
    if low is None or high is None:
        return None
    direction = "lower" if high < 1 else "higher" if low > 1 else None
    arm = review._none_if_nan(effect.arm) or ""
    first = re.split(r"\bvs\.?\b|\bversus\b", arm, maxsplit=1)[0]
    if direction and not _DRUGS[drug].search(first):  # "placebo vs esketamine": reversed
        direction = {"lower": "higher", "higher": "lower"}[direction]
    return direction


def _check_direction(claim: Claim, pool: list, basis: str, cited: dict) -> Verdict:
    """A comparison without a number ('lowered the risk of relapse compared with placebo'):
    supported by a ratio for that measure whose CI lies wholly on the claimed side of 1."""
    word = _MEASURE_WORD[claim.measure]
    candidates = []
    for row in pool:
        context = f"{review._none_if_nan(row.label) or ''} "
        context += review.sentence_around(row.abstract, row.start, row.end)[0]
        arm = review._none_if_nan(row.arm) or ""  # which way a ratio points needs its arms
        if row.kind not in _RATIO_KINDS or word not in context.lower():
            continue
        drug = next((d for d in claim.drugs if _DRUGS[d].search(arm)), None)
        if drug is None or (
            claim.comparators and not any(_COMPARATORS[c].search(arm) for c in claim.comparators)
        ):
            continue
        candidates.append((row, _ratio_direction(row, drug)))
    agree = [row for row, d in candidates if d == claim.direction]
    disagree = [row for row, d in candidates if d is not None and d != claim.direction]
    if agree and not disagree:
        evidence = [_evidence(row, None, True, cited) for row in agree][:MAX_EVIDENCE]
        reason = f"a ratio whose confidence interval lies wholly {claim.direction} than 1"
        return Verdict(claim.sentence, SUPPORTED, evidence, reason, basis)
    if disagree:
        evidence = [_evidence(row, None, False, cited) for row in disagree][:MAX_EVIDENCE]
        reason = f"the records show the opposite of '{claim.direction}' (confidence interval)"
        return Verdict(claim.sentence, CONTRADICTED, evidence, reason, basis)
    evidence = [_evidence(row, None, False, cited) for row, _ in candidates][:MAX_EVIDENCE]
    reason = (
        "the records for this comparison do not show a clear difference (the confidence "
        "interval includes 1, or none is given)"
        if candidates
        else "no record gives a ratio for this measure, drug and comparison"
    )
    return Verdict(claim.sentence, NOT_FOUND, evidence, reason, basis)


# --- verdicts ---------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The checker's answer for one sentence."""

    sentence: str
    verdict: str
    evidence: list[dict]
    reason: str
    basis: str

    def to_json(self) -> dict:
        return asdict(self)


def _evidence(effect, claim_number: ClaimedNumber | None, matches: bool, cited: dict) -> dict:
    record = cited.get(effect.pmid)
    return {
        "pmid": effect.pmid,
        "effect_id": effect.effect_id,
        "quote": effect.quote,
        "kind": effect.kind,
        "label": review._none_if_nan(effect.label),
        "value": float(effect.value),
        "arm": review._none_if_nan(effect.arm),
        "timepoint": review._none_if_nan(effect.timepoint),
        "review_status": effect.status,
        "claimed": claim_number.text if claim_number else None,
        "matches": matches,
        "citation": citations.format_ama(record) if record else None,
        "pubmed_url": citations.PUBMED_URL.format(pmid=effect.pmid),
    }


def _describe_study(claim: Claim) -> str:
    parts = [str(claim.year)] if claim.year else []
    if claim.journal:
        parts.append(claim.journal)
    if claim.author:
        parts.append(f"{claim.author} et al")
    return ", ".join(parts)


def check_sentence(
    claim: Claim, effects: pd.DataFrame, articles: pd.DataFrame, basis: str, cited: dict
) -> Verdict:
    """The verdict on one claim against the given effects (`articles`: every record)."""

    def not_found(reason: str, evidence: list[dict] | None = None) -> Verdict:
        return Verdict(claim.sentence, NOT_FOUND, evidence or [], reason, basis)

    reasons = []
    direction_claim = (
        not claim.numbers and claim.direction is not None and claim.measure in _MEASURE_WORD
    )
    if claim.about_clinic:
        reasons.append("it is about the clinic's own patients: check it against the clinic's "
                       "metrics, not the published records")  # fmt: skip
    if not claim.numbers and not direction_claim:
        reasons.append("it states no number the records could confirm (a percent or a ratio)")
    if not claim.drugs:
        reasons.append("it does not name the drug (ketamine, esketamine, arketamine)")
    if claim.measure is None:
        what = "what it calls an effect" if claim.vague else "what was measured"
        reasons.append(
            f"it does not say {what} in terms the records use (response, remission, relapse, "
            "a named side effect or a named ratio)"
        )
    study = effects
    if claim.year or claim.journal or claim.author:
        described = {row.pmid for row in articles.itertuples() if _study_fits(row, claim)}
        if not described:
            described_text = _describe_study(claim)
            reasons.insert(0, f"no record matches the study it describes ({described_text})")
        study = effects[effects["pmid"].isin(described)]
    if reasons:
        return not_found("; ".join(reasons))
    pool = []
    for row in study.itertuples():
        drugs, routes = _as_list(row.drugs), _as_list(row.routes)
        drug = next((d for d in claim.drugs if d in drugs), None)
        if drug is None or (claim.routes and not set(claim.routes) & set(routes)):
            continue
        if _arm_fits(row, claim, drug) and _timepoint_fits(row, claim):
            pool.append(row)
    if direction_claim:
        return _check_direction(claim, pool, basis, cited)
    supported_by: dict[str, list] = {}  # pmid -> matching effects, per claimed number
    contradicting = []
    outcome = []
    for number in claim.numbers:
        candidates = [row for row in pool if _measure_fits(row, claim, number)]
        matching = [row for row in candidates if number.matches(row.value)]
        if matching:
            outcome.append(SUPPORTED)
            for row in matching:
                supported_by.setdefault(row.pmid, []).append((number, row))
        elif candidates:
            outcome.append(CONTRADICTED)
            contradicting.extend((number, row) for row in candidates)
        else:
            outcome.append(NOT_FOUND)
    if CONTRADICTED in outcome:
        evidence = [_evidence(row, n, False, cited) for n, row in contradicting][:MAX_EVIDENCE]
        said = ", ".join(n.text for n, s in zip(claim.numbers, outcome, strict=True)
                         if s == CONTRADICTED)  # fmt: skip
        return Verdict(
            claim.sentence, CONTRADICTED, evidence,
            f"the records say otherwise than {said} for the same drug, measure and group", basis,
        )  # fmt: skip
    if outcome and all(s == SUPPORTED for s in outcome):
        needed = len(claim.numbers)
        for _pmid, found in supported_by.items():
            if len({n for n, _ in found}) == needed:
                evidence = [_evidence(row, n, True, cited) for n, row in found][:MAX_EVIDENCE]
                return Verdict(claim.sentence, SUPPORTED, evidence, "a record states it", basis)
        return not_found("each number is in some record, but no one record states them all")
    return not_found(
        "no record states this number for this drug, measure and group"
        + (f" in the study described ({_describe_study(claim)})" if study is not effects else "")
    )


@dataclass
class ClaimReport:
    """Verdicts for every claim in a text, and what they were checked against."""

    basis: str
    n_effects: int
    verdicts: list[Verdict]
    n_sentences: int

    def basis_sentence(self) -> str:
        if self.basis == "verified":
            return (
                f"Checked against the {self.n_effects} verified effect(s) only (checked by a "
                "person); unreviewed extractions do not count."
            )
        return (
            f"Checked against all {self.n_effects} extracted effect(s), including ones no person "
            "has reviewed: a 'supported' here is not yet fit for patient materials."
        )


def check_text(con, text: str, *, include_unreviewed: bool = False) -> ClaimReport:
    """Check every claim in a text against the warehouse."""
    basis = "all_extracted" if include_unreviewed else "verified"
    effects = records(con, include_unreviewed)
    articles = article_index(con)
    pmids = sorted(set(effects.pmid))
    cited = {r.pmid: r for r in citations.load_citation_records(con, pmids)}
    sentences = split_sentences(text)
    verdicts = [
        check_sentence(parse_claim(sentence), effects, articles, basis, cited)
        for sentence in sentences
        if is_claim(sentence)
    ]
    return ClaimReport(basis, len(effects), verdicts, len(sentences))


def format_report(report: ClaimReport) -> str:
    """The report as text for a terminal."""
    lines = [report.basis_sentence(), ""]
    for verdict in report.verdicts:
        lines.append(f"[{verdict.verdict}] {verdict.sentence}")
        if verdict.verdict == NOT_FOUND:
            lines.append(f"    not found: {verdict.reason}")
        elif verdict.verdict == CONTRADICTED:
            lines.append(f"    contradicted: {verdict.reason}; the records say:")
        for item in verdict.evidence:
            context = ", ".join(str(item[k]) for k in ("label", "arm", "timepoint") if item.get(k))
            lines.append(
                f'    PMID {item["pmid"]}: "{item["quote"]}" ({item["kind"]} {item["value"]:g}'
                + (f"; {context}" if context else "")
                + f"; {item['review_status']})"
            )
        lines.append("")
    counts = {v: sum(1 for x in report.verdicts if x.verdict == v)
              for v in (SUPPORTED, CONTRADICTED, NOT_FOUND)}  # fmt: skip
    lines.append(
        f"{len(report.verdicts)} claim(s) in {report.n_sentences} sentence(s): "
        f"{counts[SUPPORTED]} supported, {counts[CONTRADICTED]} contradicted, "
        f"{counts[NOT_FOUND]} not found"
    )
    return "\n".join(lines) + "\n"
