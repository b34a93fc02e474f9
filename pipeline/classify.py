"""Trial facts from a record: design, drug, route, population, comparator, N randomized, arms.

Publication types and MeSH decide where the record has them; the title and abstract
otherwise. Anything the text does not state stays None (never guessed).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from pipeline import vocab
from pipeline.extract.numbers import SP, WORD_NUMBER, parse_count


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


# --- design -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _lower(text: str) -> str:
    """text.lower(), remembered: the same title and abstract are lowered by many rules."""
    return text.lower()


# The only characters whose str.lower() is not one non-ASCII character: "İ" (two characters)
# and the Kelvin sign (an ASCII "k"). Checked in tests/test_classify.py.
_LOWER_NOT_ASCII_SAFE = ("\u0130", "\u212a")


@functools.lru_cache(maxsize=8)
def _lowers_as_ascii(text: str) -> bool:
    """Whether text.lower() is the ASCII lower-casing that re.IGNORECASE | re.ASCII matches by:
    then a case-insensitive ASCII pattern can run, lower-cased, on the lower-cased text."""
    return all(char not in text for char in _LOWER_NOT_ASCII_SAFE)


@functools.lru_cache(maxsize=256)
def _lower_case_regex(pattern: str) -> re.Pattern | None:
    """`pattern` (case-insensitive ASCII) in lower case for the lower-cased text: a
    case-sensitive scan, several times faster. None when lower-casing would change its meaning:
    an escape such as \\B or \\W, an inline flag, a group name in capitals, a back-reference,
    a cased non-ASCII letter."""
    if (
        re.search(r"\\[A-Z]", pattern)
        or re.search(r"\(\?(?![:=!]|<[=!]|P<[a-z_][a-z0-9_]*>)", pattern)
        or any(not c.isascii() and c.lower() != c.upper() for c in pattern)
    ):
        return None
    lowered = "(?P<".join(part.lower() for part in pattern.split("(?P<"))
    return re.compile(first_character_form(lowered), re.A)


def _structure(pattern: str, start: int = 0):
    """(index, character, group depth before it) for each character of `pattern` from `start`
    that is neither escaped nor inside a character set: where "|", "(" and ")" mean something."""
    depth, in_set, at = 0, False, start
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            at += 2
            continue
        if in_set:
            in_set = char != "]"
        elif char == "[":
            in_set = True
        else:
            yield at, char, depth
            depth += {"(": 1, ")": -1}.get(char, 0)
        at += 1


def _top_level_branches(pattern: str) -> list[str]:
    """The alternatives of `pattern`, split at each "|" outside groups and character sets."""
    cuts = [at for at, char, depth in _structure(pattern) if char == "|" and depth == 0]
    edges = [-1, *cuts, len(pattern)]
    return [pattern[a + 1 : b] for a, b in itertools.pairwise(edges)]


def _closing_paren(pattern: str, start: int) -> int | None:
    """Index of the ")" closing the group opened at `start`, or None."""
    for at, char, depth in _structure(pattern, start):
        if char == ")" and depth == 1:
            return at
    return None


def _distributed(branch: str) -> list[str] | None:
    """ "\\b(?:one|two)rest" as ["\\bonerest", "\\btworest"] (the same matches, tried in the same
    order); None when the group is quantified, named or not at the start."""
    if not branch.startswith("\\b(?:"):
        return None
    close = _closing_paren(branch, 2)
    if close is None or branch[close + 1 : close + 2] in ("?", "*", "+", "{"):
        return None
    inner, rest = branch[5:close], branch[close + 1 :]
    if "(?P<" in branch:
        return None  # a named group cannot be written twice
    return [f"\\b{alternative}{rest}" for alternative in _top_level_branches(inner)]


def first_character_form(pattern: str) -> str:
    """`pattern` written so that the regex engine can skip to where it may match.

    Python's engine jumps to candidate positions only when every alternative starts with a
    character; a leading "\\b" makes it try a match at every position of the text. Each
    alternative "\\b" + letter + rest becomes letter + a look-behind for the same boundary
    + rest ("\\bIV\\b" -> "I(?<=\\bI)V\\b"), and "\\b(?:one|two)rest" is first spread into
    "\\bonerest|\\btworest": the same matches, found several times faster. A pattern with an
    alternative of another shape is returned as it is.
    """
    branches = []
    for branch in _top_level_branches(pattern):
        branches.extend(_distributed(branch) or [branch])
    rewritten = []
    for branch in branches:
        if branch[:1].isascii() and branch[:1].isalpha():
            rewritten.append(branch)
        elif branch[:2] == "\\b" and branch[2:3].isascii() and branch[2:3].isalpha():
            rewritten.append(f"{branch[2]}(?<=\\b{branch[2]}){branch[3:]}")
        else:
            return pattern
    return "|".join(rewritten)


class _Gated:
    """A case-insensitive regex run only when one of its lower-case needles is in the text.

    A substring test is far cheaper than a regex scan, and most abstracts lack most words.
    """

    def __init__(self, pattern: str, needles: tuple[str, ...], flags: int = re.I | re.A) -> None:
        # ASCII matching is faster and these cues are plain English words.
        self.plain = pattern  # as written; the fast lower-case form is checked against it
        self.regex = re.compile(pattern, flags)
        self.lower_regex = _lower_case_regex(pattern) if flags == re.I | re.A else None
        self.needles = needles

    def _may_match(self, text: str) -> bool:
        low = _lower(text)
        for needle in self.needles:  # noqa: SIM110 - a loop is cheaper than any() over a generator
            if needle in low:
                return True
        return False

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match | None:
        """Like re.Pattern.search, except that the match may be one in the lower-cased text
        (the faster scan, where _lowers_as_ascii allows it): its offsets are those of `text`,
        its characters may not be."""
        if not self._may_match(text):
            return None
        endpos = len(text) if endpos is None else endpos
        if self.lower_regex is not None and _lowers_as_ascii(text):
            return self.lower_regex.search(_lower(text), pos, endpos)
        return self.regex.search(text, pos, endpos)


_RANDOMIZED_RE = _Gated(
    r"\brandomi[sz](?:ed|ation)\b|\brandomly (?:assigned|allocated)",
    ("random",),
)
_POST_HOC_RE = _Gated(
    r"\bpost[- ]?hoc\b|\bsecondary analys[ie]s\b|\bpooled analys[ie]s\b|\bexploratory analys[ie]s\b"
    r"|\bsubgroup analys[ie]s\b|\bsensitivity analys[ie]s\b|\bre-?analys[ie]s\b",
    ("hoc", "analys"),
)
_POST_HOC_BODY_RE = _Gated(
    r"\b(?:this|a|the present|we (?:performed|conducted)(?: a)?) (?:is a )?(?:post[- ]?hoc"
    r"|secondary|pooled|exploratory) (?:analys[ie]s|study)\b|\bpost[- ]?hoc analys[ie]s of "
    r"(?:data|a|the)|\bthis analysis (?:assessed|examined|evaluated)|\bdata sources were\b"
    r"|\b(?:were|was) pooled from\b|\bpost[- ]?hoc nature\b",
    ("hoc", "secondary", "pooled", "exploratory", "this analysis", "data sources"),
)
# "...: Results From Four Phase 3 Studies", "Findings from a 32-week randomised ... study"
_SECONDARY_TITLE_RE = _Gated(
    r"\b(?:results|findings|data) from (?:the |a |an |two |three |four |five |six |\d+ )?"
    r"(?:[\w,-]+ ){0,6}?(?:stud(?:y|ies)|trials?|program(?:me)?)\b|\banalysis of (?:phase|"
    r"pooled|\w+ trial) ",
    ("from", "analysis of"),
)
_SUBSET_RE = _Gated(
    r"\b(?:a )?subset of (?:the )?(?:patients|participants)\b",
    ("subset",),
)
_GENETIC_RE = _Gated(
    r"polymorphism|genotyp|genome-wide|\bgenetic\b|\brs\d{3,}",
    ("polymorph", "genotyp", "genome", "genetic", "rs"),
)
_OTHER_TITLE_RE = _Gated(
    r"\bcommentary\b|\breply\b|\bletter\b|\bcomment on\b|\bcorrespondence\b"
    r"|cost-effectiveness|economic evaluation|budget impact",
    ("comment", "reply", "letter", "correspondence", "cost", "economic", "budget"),
)
_REVIEW_RE = _Gated(
    r"\bsystematic review\b|\bmeta-?analys[ie]s\b|\breview\b",
    ("review", "meta"),
)
_PROTOCOL_RE = _Gated(
    r"\bprotocol\b|\brationale and design\b|\bstudy design\b",
    ("protocol", "design"),
)
_CASE_RE = _Gated(
    r"\bcase reports?\b|\bcase series\b|\bcase stud(?:y|ies)\b",
    ("case",),
)
_CROSSOVER_RE = _Gated(
    r"\bcross-?over\b",
    ("cross",),
)
_OPEN_LABEL_RE = _Gated(
    r"\bopen[- ]label\b|\bsingle[- ]arm\b|\bsingle-group\b",
    ("open", "single"),
)
_OBSERVATIONAL_RE = _Gated(
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
)  # fmt: skip
_ANIMAL_RE = _Gated(
    r"\b(?:mice|mouse|rats?|rodents?|murine|microglial cells|in vitro|zebrafish|cell lines?)\b",
    (
        "mice", "mouse", "rats", " rat ", "rodent", "murine", "microglial", "in vitro",
        "zebrafish", "cell line",
    ),
)  # fmt: skip
# A review says so in its body even when neither its title nor its publication type does.
_REVIEW_BODY_RE = _Gated(
    r"\b(?:this|our|the present|a|narrative|literature|scoping|we) (?:narrative |mini-?)?"
    r"review(?:ed|s)?\b|\bwe (?:summari[sz]e|discuss|overview)\b|\bthis (?:article|paper|chapter)"
    r" (?:reviews|summari[sz]es|discusses|describes|provides an overview)\b|\bwe (?:performed|"
    r"conducted|carried out|undertook) an? (?:systematic review|meta-?analys[ie]s)"
    r"|^(?:Areas covered|AREAS COVERED)\s?:|\s(?:Areas covered|Expert opinion|EXPERT OPINION)\s?:"
    r"|\bsearched (?:the )?(?:PubMed|MEDLINE|Embase|PsycINFO|Web of Science|Cochrane)",
    ("review", "summari", "discuss", "overview", "areas covered", "expert opinion", "searched"),
)
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
_OWN_PATIENTS_RE = _Gated(
    r"\bwe (?:enrolled|recruited|randomi[sz]ed|treated|included \d+ patients)\b|\b(?:patients|"
    r"participants|subjects) were (?:enrolled|recruited|randomi[sz]ed|randomly)\b|\(n ?= ?\d+\)",
    ("enrolled", "recruited", "randomi", "randomly", "treated", "included", "n =", "n="),
)
# A study that treated one group of its own patients: "Seventy TRD patients received 394 weekly
# s.c. esketamine injections", "A total of sixty patients ... were enrolled in the clinical study of
# esketamine". Only reached when nothing says randomized, observational, review or case report.
_TREATED_GROUP_RE = _Gated(
    rf"\b(?:\d+|{WORD_NUMBER}){SP}(?:[\w-]+{SP}){{0,3}}?(?:patients|participants|subjects|adults"
    rf"|inpatients|outpatients)\b[^.;]{{0,40}}?\b(?:received|were{SP}(?:treated{SP}with|given"
    rf"|enrolled{SP}in{SP}(?:the|a){SP}(?:clinical{SP})?(?:study|trial){SP}of))\b"
    rf"(?:[^.;]|(?-i:\.(?!\s[A-Z\d(]))){{0,40}}?(?:es|ar)?ketamine\b",  # "s.c. esketamine"
    ("received", "treated with", "given", "enrolled in"),
)
_TRIAL_RE = re.compile(
    r"\b(?:double-blind|placebo-controlled|randomi[sz]ed (?:controlled |clinical )?trial|phase "
    r"(?:[1-4]|I{1,3}V?|[1-4][ab]))\b",
    re.I,
)


def _design(title: str, abstract: str, pubtypes: set[str]) -> str | None:
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
    low = _lower(text)
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


# --- drug, route ----------------------------------------------------------------------------

_REPEATED = 3  # mentions that make a drug or route more than a passing reference


def _positions(low: str, word: str) -> list[int]:
    """Where `word` occurs in the lower-cased text."""
    found, at = [], low.find(word)
    while at >= 0:
        found.append(at)
        at = low.find(word, at + 1)
    return found


def _drug_counts(text: str) -> dict[str, int]:
    """Mentions of each drug: racemic "ketamine" is the word not part of "esketamine" etc."""
    low = _lower(text)
    esketamine = low.count("esketamine") + low.count("s-ketamine") + low.count("spravato")
    esketamine += low.count("(s)-ketamine")
    esketamine += low.count("(es)ketamine")
    if "ESK" in text:
        esketamine += len(re.findall(r"\bESK\b", text))
    arketamine = low.count("arketamine") + low.count("r-ketamine") + low.count("(r)-ketamine")
    ketamine = low.count("racemic ketamine") + low.count("r,s-ketamine") + low.count("(es)ketamine")
    for at in _positions(low, "ketamine"):
        before = low[at - 1] if at else " "
        if not (before.isalnum() or before in ")-") and not low.startswith("-induced", at + 8):
            ketamine += 1
    return {"ketamine": ketamine, "esketamine": esketamine, "arketamine": arketamine}


def _drugs(text: str) -> list[str]:
    counts = _drug_counts(text)
    return [drug for drug in vocab.DRUG_CODES if counts[drug]]


_BACKGROUND_LABELS = ("BACKGROUND", "INTRODUCTION", "RATIONALE", "CONTEXT", "IMPORTANCE")
_BACKGROUND_LABEL_RE = re.compile(
    rf"(?:{'|'.join(_BACKGROUND_LABELS)}|{'|'.join(w.title() for w in _BACKGROUND_LABELS)})\s?:\s"
)
# The label that ends a background section: one in capitals ("METHODS:", "AIMS:") or a usual
# one in title case ("Objective:", "Methods:").
_NEXT_LABEL_RE = re.compile(
    r"(?<=\s)(?:[A-Z][A-Z/&-]+(?: [A-Z/&-]+)*|Objectives?|Aims?|Methods?|Results|Purpose|Design"
    r"|Areas covered|Materials and methods|Data sources)\s?:\s"
)


_BACKGROUND_NEEDLES = tuple(f"{label.lower()}:" for label in _BACKGROUND_LABELS) + tuple(
    f"{label.lower()} :" for label in _BACKGROUND_LABELS
)


@functools.lru_cache(maxsize=4)
def without_background(abstract: str) -> str:
    """The abstract without its background section ("BACKGROUND: ...", "INTRODUCTION: ..."):
    what earlier studies did, which is not what this study did. Unstructured abstracts and
    abstracts that are all background are returned whole."""
    if ":" not in abstract or not _contains_any(_lower(abstract), _BACKGROUND_NEEDLES):
        return abstract
    start = _BACKGROUND_LABEL_RE.search(abstract)
    while start and start.start() and not abstract[start.start() - 1].isspace():
        start = _BACKGROUND_LABEL_RE.search(abstract, start.end())
    if not start:
        return abstract
    end = _NEXT_LABEL_RE.search(abstract, start.end())
    if not end:
        return abstract
    return abstract[: start.start()] + abstract[end.start() :]


def _drug(title: str, abstract: str) -> list[str] | None:
    from_title = _drugs(title)
    counts = _drug_counts(without_background(abstract) if from_title else abstract)
    if from_title:
        # A comparator drug the abstract keeps naming counts too (oral ketamine vs esketamine).
        extra = [d for d, n in counts.items() if d not in from_title and n >= _REPEATED]
        return [d for d in vocab.DRUG_CODES if d in from_title + extra]
    from_abstract = [d for d in vocab.DRUG_CODES if counts[d]]
    if len(from_abstract) > 1:
        # Several named: keep those the abstract keeps returning to.
        top = max(counts.values())
        from_abstract = [d for d in from_abstract if counts[d] * 3 >= top]
    return from_abstract or None


_ROUTES = [(route.code, route.pattern) for route in vocab.ROUTES]


def _route(title: str, abstract: str) -> list[str] | None:
    from_title = _routes_in(title)
    # What earlier studies used (the background section) is not this study's route, unless the
    # background is the only place a route is named.
    own = without_background(abstract)
    if not from_title:
        return _routes_in(own) or _routes_in(abstract)
    # Another route counts when the study itself keeps naming it.
    repeated = [
        route
        for route in _routes_in(own) or []
        if route not in from_title and _route_mentions(route, own) >= _REPEATED
    ]
    return [r for r, _ in _ROUTES if r in from_title + repeated]


def _route_mentions(route: str, text: str) -> int:
    if route == "iv":
        return len(_IV_WORDS_RE.findall(text)) + len(_IV_RE.findall(text))
    return len(_MENTION_RES[route].findall(text))


_INFUSION_RE = _Gated(
    r"\bketamine infusions?\b|\besketamine infusions?\b"
    r"|\binfusions? of (?:[\w-]+ )?(?:es)?ketamine",
    ("infusion",),
)
_IV_WORDS_RE = re.compile(first_character_form(r"\bintravenous(?:ly)?\b|\binfusions?\b"))
_MENTION_RES = {
    route: re.compile(first_character_form(pattern), re.I)
    for route, pattern in _ROUTES
    if route != "iv"  # counted with _IV_WORDS_RE and _IV_RE
}
_INTRAVENOUS_RE = _Gated(r"\bintravenous(?:ly)?\b|\bi\.v\.", ("intravenous", "i.v."))
# "IV" as a route, not a Roman numeral ("phase IV", "type IV", "grade IV")
_IV_RE = re.compile(
    r"I(?<=\bI)V\b(?<![Pp]hase IV)(?<![Ss]tage IV)(?<![Tt]ype IV)(?<![Cc]lass IV)(?<![Gg]rade IV)"
)
# Oral named in a list of routes: "intravenous, intramuscular, intranasal, oral and sublingual"
_ROUTE_WORDS = ("intravenous", "intramuscular", "intranasal", "subcutaneous", "sublingual")
_ORAL_IN_ROUTE_LIST_RE = _Gated(
    "|".join(rf"\b{word},?\s(?:(?:and|or)\s)?(?:\w+,\s)*?oral\b" for word in _ROUTE_WORDS)
    + rf"|\boral(?:,|\sand|\sor)\s(?:{'|'.join(_ROUTE_WORDS)})\b",
    ("oral",),
)
# Lower-case words one of which each route's pattern needs (intravenous: see _routes_in).
_ROUTE_NEEDLES = {route.code: route.needles for route in vocab.ROUTES if route.code != "iv"}


_ROUTE_RES = {
    route: _Gated(pattern, _ROUTE_NEEDLES[route])
    for route, pattern in _ROUTES
    if route not in ("iv", "oral")
}


def _contains_any(text: str, needles: tuple[str, ...]) -> bool:
    """Whether one of `needles` occurs in `text` (a loop: cheaper than any() on a generator)."""
    for needle in needles:  # noqa: SIM110
        if needle in text:
            return True
    return False


def _routes_in(text: str) -> list[str] | None:
    found = []
    low = _lower(text)
    for route, pattern in _ROUTES:
        # Intravenous tests its own words below; every other route needs one of its words.
        if route != "iv" and not _contains_any(low, _ROUTE_NEEDLES[route]):
            continue
        if route == "iv":
            hit = _INTRAVENOUS_RE.search(text)
            hit = hit or ("IV" in text and _IV_RE.search(text))
            hit = hit or _INFUSION_RE.search(text)
        elif route == "oral":
            hit = any(
                re.search(pattern, text[max(0, at - 60) : at + 80], re.I)
                for word in ("oral", "tablet", "lozenge")
                for at in _positions(low, word)
            ) or (_contains_any(low, _ROUTE_WORDS) and _ORAL_IN_ROUTE_LIST_RE.search(text))
        else:
            hit = _ROUTE_RES[route].search(text)  # its words were found just above
        if hit:
            found.append(route)
    return found or None


# --- population, comparator, scales ---------------------------------------------------------

_POPULATIONS = [(term.code, term.pattern) for term in vocab.POPULATIONS]
_COMPARATORS = [(term.code, term.pattern) for term in vocab.COMPARATORS if term.pattern]
_DOSE_COMPARISON_RE = _Gated(
    r"(?:\d+(?:\.\d+)?\s?(?:mg/kg|mg)\s?(?:,|or|and|vs\.?|versus)\s?(?:\d+(?:\.\d+)?\s?"
    r"(?:mg/kg|mg)?\s?(?:,|or|and)?\s?)+(?:esketamine|ketamine)?)|dose[- ](?:ranging|frequency"
    r"|response)|twice[- ] (?:and|or|vs\.?) thrice|twice-weekly (?:and|or|vs\.?) thrice",
    (
        "mg or",
        "mg, ",
        "mg and",
        "mg vs",
        "mg versus",
        "mg/kg or",
        "mg/kg, ",
        "mg/kg and",
        "dose-",
        "dose ranging",
        "dose frequency",
        "dose response",
        "thrice",
    ),  # fmt: skip
)
_SCALE_NAMES = [(scale.code, scale.pattern) for scale in vocab.SCALES]
_ANAESTHESIA_RE = _Gated(
    r"\banaesthe\w+|\banesthe\w+|\banalges\w+|\bpostoperative\b|\bsurgery\b|\bsurgical\b"
    r"|\bsedation\b|\bcolonoscopy\b|\bcesarean\b|\bcaesarean\b|\bchronic pain\b|\bneuralgia\b",
    (
        "anaesthe",
        "anesthe",
        "analges",
        "operative",
        "surg",
        "sedation",
        "colonoscopy",
        "cesarean",
        "caesarean",
        "pain",
        "neuralgia",
    ),  # fmt: skip
)
_DEPRESSION_RE = _Gated(
    r"depressi\w+|\bsuicid\w+|\bmood\b",
    ("depressi", "suicid", "mood"),
)


# Lower-case words one of which a pattern needs: checking them first (a plain substring test)
# spares the regex scan of abstracts that cannot match, which keeps classification fast.
_NEEDLES = {
    term.code: term.needles
    for term in (*vocab.POPULATIONS, *vocab.COMPARATORS, *vocab.SCALES)
    if term.pattern
}


# Needles in capitals are looked for in the text as written, the others in lower case.
_SPLIT_NEEDLES = {
    name: (
        tuple(n for n in needles if not n[:1].isupper()),
        tuple(n for n in needles if n[:1].isupper()),
    )
    for name, needles in _NEEDLES.items()
}


# The needles in capitals, longest first, as one pattern: its scan stops only at capitals, which
# is cheaper than a substring test per needle ("MADRS", "HDRS", ... in every abstract).
_CAPITAL_NEEDLES = sorted({n for _, upper in _SPLIT_NEEDLES.values() for n in upper}, key=len)[::-1]
_CAPITAL_NEEDLE_RE = re.compile("|".join(map(re.escape, _CAPITAL_NEEDLES)))
# A needle found, with the shorter needles it starts with ("HAM-A" holds "HAM").
_NEEDLE_PREFIXES = {
    n: frozenset(m for m in _CAPITAL_NEEDLES if n.startswith(m)) for n in _CAPITAL_NEEDLES
}


@functools.lru_cache(maxsize=8)
def _capital_needles_in(text: str) -> frozenset[str]:
    """The needles in capitals that occur in `text`, overlapping ones included: each search
    finds the longest needle at the next position holding one, and goes on from the position
    after (not after the match), so that a needle inside another is found too."""
    found: set[str] = set()
    match = _CAPITAL_NEEDLE_RE.search(text)
    while match:
        found |= _NEEDLE_PREFIXES[match.group()]
        match = _CAPITAL_NEEDLE_RE.search(text, match.start() + 1)
    return frozenset(found)


def _has_needle(name: str, text: str, low: str) -> bool:
    split = _SPLIT_NEEDLES.get(name)
    if split is None:
        return True
    for needle in split[0]:  # plain loops: cheaper than any() over a generator here
        if needle in low:
            return True
    present = _capital_needles_in(text) if split[1] else frozenset()
    for needle in split[1]:  # noqa: SIM110
        if needle in present:
            return True
    return False


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, flags: int) -> re.Pattern:
    return re.compile(pattern, flags)


def _labels(
    patterns: list[tuple[str, str]], text: str, flags: int = re.I | re.A, low: str | None = None
) -> list[str]:
    low = _lower(text) if low is None else low
    lower_case = flags == re.I | re.A and _lowers_as_ascii(text)
    found = []
    for name, pattern in patterns:
        if not _has_needle(name, text, low):
            continue
        regex = _lower_case_regex(pattern) if lower_case else None
        if regex.search(low) if regex else _compiled(pattern, flags).search(text):
            found.append(name)
    return found


def _population(text: str) -> list[str] | None:
    found = _labels(_POPULATIONS, text)
    if "trd" in found and "mdd" in found:
        found.remove("mdd")
    return found or None


def _comparator(text: str, design: str | None) -> list[str] | None:
    if design in ("review", "observational", "case_report", "other", None):
        return None
    found = _labels(_COMPARATORS, text)
    if "midazolam" in found and "placebo" in found and re.search(r"active placebo", text, re.I):
        found.remove("placebo")
    if _DOSE_COMPARISON_RE.search(text) and (
        design in ("rct", "crossover_rct") or "placebo" not in found
    ):
        found.append("ketamine_dose")
    return found or None


# --- N randomized and arms ------------------------------------------------------------------

_COUNT = rf"(?P<n>\d[\d,]*|{WORD_NUMBER})"
_DIGIT_COUNT = r"(?P<n>\d[\d,]*)"
_N_RANDOMIZED_PATTERNS = [
    rf"\b[Oo]f{SP}{_COUNT}{SP}(?:patients|participants|subjects|adults),[^.;]{{0,40}}randomi",
    rf"\b{_COUNT}{SP}(?:[\w-]+{SP}){{0,4}}?(?:\([^()]{{1,30}}\){SP})?(?:were{SP})?(?:randomi[sz]ed"
    rf"|randomly{SP}(?:assigned|allocated)|underwent{SP}randomi[sz]ation)\b",
    rf"\b{_COUNT}{SP}(?:patients|participants|subjects|adults|outpatients|inpatients)"
    rf"(?:{SP}[\w-]+){{0,4}}?{SP}were{SP}(?:assigned|allocated){SP}to\b"
    rf"(?![^.;]{{0,60}}\band{SP}\d+{SP}to\b)",  # not "336 ... to A and 340 to B": one arm
    rf"\b[Oo]f{SP}(?:the{SP})?{_COUNT}{SP}(?:[\w-]+{SP})?randomi[sz]ed\b",
    rf"\brandomi[sz]ed{SP}(?:a{SP}total{SP}of{SP})?{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?"
    rf"(?:patients|participants|subjects|adults|outpatients|inpatients|males|females|women|men)",
    rf"\(N{SP}?={SP}?{_COUNT}\){SP}(?:were{SP})?(?:randomi[sz]ed|randomly)",
    rf"randomly{SP}(?:assigned|allocated)[^.;]{{0,120}}?\(N{SP}?={SP}?{_COUNT}\)",
    rf"\b{_COUNT}{SP}(?:who{SP}[^.;]{{0,80}}?)?(?:entered|underwent){SP}the{SP}randomi[sz]ed",
    rf"randomi[sz]ed[^.;]{{0,60}}?\({SP}?N{SP}?={SP}?{_COUNT}\)",
    rf"\b[Aa]{SP}total{SP}of{SP}{_COUNT}{SP}[^.;]{{0,150}}?\b(?:were{SP})?(?:randomi[sz]ed"
    rf"|randomly)",
]
_N_ENROLLED_PATTERNS = [
    rf"\b{_COUNT}{SP}(?:[\w-]+{SP}){{0,4}}?(?:were{SP})?(?:enrolled|included|recruited)\b",
    rf"\b[Oo]f{SP}(?:the{SP})?{_COUNT}{SP}(?:enrolled|included)\b",
    rf"\b(?:enrolled|included|recruited){SP}{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?(?:patients"
    rf"|participants|subjects|adults|outpatients|inpatients)",
    rf"\b(?:conducted|performed){SP}in{SP}{_COUNT}{SP}(?:patients|participants|subjects)",
    rf"\b[Aa]mong{SP}{_COUNT}{SP}(?:patients|participants|adults)\b",
    rf"\b{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?(?:participants|patients|subjects|adults)\b[^.;]{{0,90}}?"
    rf"\b(?:completed|participated{SP}in|took{SP}part{SP}in|received)\b",
    rf"\b{_COUNT}{SP}(?:participants|patients|subjects|adults){SP}(?:self-)?administered\b",
    rf"\b[Aa]{SP}total{SP}of{SP}{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?(?:patients|participants"
    rf"|subjects|adults|individuals)\b",
]
# Words each pattern needs (lower case): a pattern is run only on windows that have one.
_N_RANDOMIZED_PATTERN_NEEDLES = [
    ("of",), ("random",), ("assigned", "allocated"), ("of",), ("randomi",), ("(n",), ("(n",),
    ("entered", "underwent"), ("n",), ("total",),
]  # fmt: skip
_N_ENROLLED_PATTERN_NEEDLES = [
    ("enrolled", "included", "recruited"), ("enrolled", "included"),
    ("enrolled", "included", "recruited"), ("conducted", "performed"), ("among",),
    ("completed", "participated", "took part", "received"), ("administered",), ("total",),
]  # fmt: skip
_PATTERN_NEEDLES = {
    **dict(zip(_N_RANDOMIZED_PATTERNS, _N_RANDOMIZED_PATTERN_NEEDLES, strict=True)),
    **dict(zip(_N_ENROLLED_PATTERNS, _N_ENROLLED_PATTERN_NEEDLES, strict=True)),
}
_RANDOMIZED_NEEDLES = ("random", "assigned", "allocated")
# "... in TRD patients (n = 30)": the whole sample, where no sentence says how many enrolled
_TOTAL_N_RE = re.compile(
    rf"\b(?:in|of){SP}(?:[\w-]+{SP}){{0,2}}?(?:patients|participants|subjects|adults"
    rf"|outpatients|inpatients|individuals){SP}?\({SP}?[nN]{SP}?={SP}?(?P<n>\d+){SP}?\)"
    rf"|\btotal{SP}(?:[\w-]+{SP}){{0,2}}?(?:population|sample){SP}?\({SP}?[nN]{SP}?={SP}?"
    rf"(?P<total>\d+){SP}?\)"
)
# "esketamine [n = 122]", "placebo (n = 33)", "ESK, n = 316": the n first, then its label.
_ARM_N_RE = re.compile(rf"(?P<open>[\[(]|,){SP}?n{SP}?={SP}?(?P<n>\d+){SP}?[\])]?")
_ARM_UPPER_N_RE = re.compile(rf"(?P<open>[\[(]){SP}?N{SP}?={SP}?(?P<n>\d+){SP}?[\])]")
_ARM_LABEL_RE = re.compile(rf"(?P<label>[A-Za-z][\w/+.-]*(?:,?{SP}[\w/+.-]+){{0,4}}?){SP}?$")
_ASSIGNED_ARMS_RE = re.compile(
    rf"\b(?P<n1>\d+){SP}(?:patients{SP}|participants{SP})?were{SP}(?:assigned|randomi[sz]ed)"
    rf"{SP}to{SP}(?:the{SP})?(?P<l1>[\w/+ -]+?)(?:{SP}group)?{SP}and{SP}(?P<n2>\d+){SP}to{SP}"
    rf"(?:the{SP})?(?P<l2>[\w/+ -]+?)(?:{SP}group)?(?=[.,;)])"
)


_LEADING_WORDS_RE = re.compile(
    r"^(?:or|and|to|of|in|the|a|(?:a )?(?:single )?(?:intravenous )?dose of)\s", re.I
)


_PEOPLE_RE = re.compile(
    r"\s(?:[\w-]+\s){0,2}?(?:patients|participants|subjects|adults|outpatients|inpatients"
    r"|individuals|people|women|men|males|females|volunteers|children|adolescents|mothers"
    r"|parturients|veterans|responders|remitters)\b",
    re.I,
)
_NOT_PEOPLE_RE = re.compile(
    r"\s(?:(?:[\w-]+\s){0,2})(?:phase|stud(?:y|ies)|trials?|sites?|cent(?:er|re)s?|doses?|times"
    r"|antidepressants?|therap(?:y|ies)|treatments?|courses?|weeks?|days?|months?|years?|arms?"
    r"|groups?|infusions?|sessions?)\b",
    re.I,
)
_COUNT_KEYWORDS = (
    "randomi", "randomly", "enrol", "includ", "recruit", "conducted in", "performed in", "among",
    "completed", "participated", "took part", "received", "administered", "assigned", "allocated",
    "total of",
)  # fmt: skip
_ENROLLED_NEEDLES = (
    "enrol", "includ", "recruit", "conducted in", "performed in", "among", "completed",
    "participated", "took part", "received", "administered", "total of",
)  # fmt: skip
_NUMBER_WORDS = frozenset(
    [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
        "ninety", "hundred",
    ]
)  # fmt: skip


@functools.lru_cache(maxsize=4)
def _keyword_windows(text: str) -> tuple[tuple[str, str], ...]:
    """Stretches of text around the words a count of participants goes with, each with its
    lower-case form (both count patterns, randomized and enrolled, read the same windows)."""
    low = _lower(text)
    spans: list[tuple[int, int]] = []
    for keyword in _COUNT_KEYWORDS:
        at = low.find(keyword)
        while at >= 0:
            spans.append((max(0, at - 160), at + len(keyword) + 140))
            at = low.find(keyword, at + 1)
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    windows = (text[start:end] for start, end in merged)
    return tuple((window, window.lower()) for window in windows)


@functools.lru_cache(maxsize=4)
def _has_number_word(text: str) -> bool:
    """Whether a count could be written in words ("Forty-one patients")."""
    return not _NUMBER_WORDS.isdisjoint(_lower(text).replace("-", " ").split())


@functools.lru_cache(maxsize=128)
def _count_regex(pattern: str, number_words: bool, lower_case: bool) -> tuple[re.Pattern, bool]:
    """A count pattern, compiled with number words ("Forty-one") or, faster, digits only, and
    whether it reads the lower-cased text (when `lower_case` allows it: see _lowers_as_ascii)."""
    # ASCII classes: faster, and counts of people are written in ASCII words and digits.
    pattern = pattern if number_words else pattern.replace(_COUNT, _DIGIT_COUNT)
    regex = _lower_case_regex(pattern) if lower_case else None
    return (regex, True) if regex else (re.compile(pattern, re.I | re.A), False)


_NOT_COUNT_BEFORE_RE = re.compile(r"(?:phase|stage|cohort|day|week|\w-|[<>≤≥])\s?$", re.I)


def _first_count(
    patterns: list[str], text: str, needles: tuple[str, ...] = ("random",)
) -> int | None:
    """The first count a pattern finds, trying the patterns in order of preference.

    The patterns only run on windows around the words they need ("randomized", "enrolled"),
    and the number-word forms only where a number word occurs, which keeps this cheap.
    """
    windows = [(w, low) for w, low in _keyword_windows(text) if _contains_any(low, needles)]
    if not windows:
        return None
    words = _has_number_word(text)
    lower_case = _lowers_as_ascii(text)
    for pattern in patterns:
        regex, reads_lower = _count_regex(pattern, words, lower_case)
        required = _PATTERN_NEEDLES.get(pattern, ("",))
        for window, low in windows:
            if not _contains_any(low, required):
                continue
            # a match in the lower-cased window has the same offsets as in the window
            for match in regex.finditer(low if reads_lower else window):
                if _NOT_COUNT_BEFORE_RE.search(
                    window, max(0, match.start("n") - 8), match.start("n")
                ):
                    continue  # "phase 3", "NNT values <10": not a count of people
                after = match.end("n")
                if not _PEOPLE_RE.match(window, after) and _NOT_PEOPLE_RE.match(window, after):
                    continue  # "four phase III studies", "two antidepressant therapies"
                if _NOT_A_SIZE_AFTER_RE.match(window, after):
                    continue  # "0.5 mg/kg", "30%": a dose or a share, not a number of people
                value = parse_count(match["n"])
                if (
                    value
                    and 1900 <= value <= 2100
                    and _DATE_BEFORE_RE.search(
                        window, max(0, match.start("n") - 24), match.start("n")
                    )
                ):
                    continue  # "June 27, 2023, we enrolled 3209": the year is not the N
                if value and value > 1:
                    return value
    return None


# A year in a date: after a month ("June 27, 2023") or a preposition of time ("between 2018").
_DATE_BEFORE_RE = re.compile(
    r"(?:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s(?:\d{1,2},?\s)?"
    r"|\b(?:in|since|from|between|until|through|and|to)\s)$",
    re.IGNORECASE,
)
_NOT_A_SIZE_AFTER_RE = re.compile(r"\s?(?:mg|µg|mcg|g|ml|%|years?\b|months?\b|weeks?\b)", re.I)


_ARM_SENTENCE_RE = re.compile(r"randomi[sz]|randomly|assigned|groups?\b|arms?\b", re.I)
_SENTENCE_SPLIT_RE = re.compile(r"(?<=\.)\s+(?=[A-Z])")


def _arms(abstract: str, design: str | None = None) -> list[dict]:
    """Arms written "label (n = 30)" or "336 ... were assigned to A and 340 to B". Outside
    randomised trials only sentences that speak of groups or arms count, and never those that
    speak of cohorts (cohorts are not arms)."""
    arms = []
    randomized = design in ("rct", "crossover_rct", "post_hoc")
    low = _lower(abstract)
    assigned = (
        _ASSIGNED_ARMS_RE.search(abstract)
        if "assigned to" in low or "randomized to" in low or "randomised to" in low
        else None
    )
    if assigned:  # "336 patients were assigned to the esketamine group and 340 to the ..."
        return [
            {"label": assigned["l1"], "n": int(assigned["n1"])},
            {"label": assigned["l2"], "n": int(assigned["n2"])},
        ]
    # Every arm is written "label (n = 30)": without an "=" there is nothing to split for.
    sentences = _SENTENCE_SPLIT_RE.split(abstract) if "=" in abstract else []
    for sentence in sentences:
        if "=" not in sentence or not (
            _ARM_SENTENCE_RE.search(sentence)
            or (
                randomized
                and len(_ARM_N_RE.findall(sentence)) + len(_ARM_UPPER_N_RE.findall(sentence)) >= 2
            )
        ):
            continue
        if not randomized and _COHORT_WORD_RE.search(sentence):
            continue
        anchors = list(_ARM_N_RE.finditer(sentence))
        if not anchors:
            upper = list(_ARM_UPPER_N_RE.finditer(sentence))
            anchors = upper if len(upper) >= 2 else []
        for match in anchors:
            window = sentence[max(0, match.start() - 60) : match.start()]
            window = re.sub(r"\([^()]*\)\s*$", "", window)
            window = re.split(r"[(\[;:]|\bor\b|\band\b|\bversus\b|\bvs\b", window)[-1]
            found = _ARM_LABEL_RE.search(window)
            if not found:
                continue
            label = _LEADING_WORDS_RE.sub("", found["label"].strip(" ,;"))
            if re.fullmatch(r"(?:N|total|all|overall)", label, re.I) or re.search(
                r"\byears?\b|\bolder\b|\byounger\b|\baged?\b", label, re.I
            ):
                continue  # totals and age bands are not arms
            label = _TREATED_SUFFIX_RE.sub("", label) or label
            if label.lower() in ("mg", "mg/kg"):  # "esketamine 28 mg (n = 11), 56 mg (n = 11)"
                label = _dose_only_label(window, arms)
                if label is None:
                    continue
            arms.append({"label": label, "n": int(match["n"])})
    return arms or _assigned_groups(abstract)


# The sample of a study with no randomisation, written without "enrolled": "RESULTS: Of the 1088
# people who registered ...", "... in 18 patients (55.6% males, ...)".
_SAMPLE_RES = (
    re.compile(
        rf"(?:^|(?<=[.:]{SP}))Of{SP}(?:the{SP})?(?P<n>\d[\d,]*){SP}(?:[\w-]+{SP}){{0,2}}?(?:patients"
        rf"|participants|people|subjects|adults|individuals|respondents)\b"
    ),
    re.compile(
        rf"\bin{SP}(?P<n>\d[\d,]*){SP}(?:[\w-]+{SP}){{0,2}}?(?:patients|participants|subjects"
        rf"|adults){SP}\((?![^()]*\bn{SP}?=)"
    ),
)


def _sample_size(abstract: str) -> int | None:
    """The whole sample of a single-group or records study, when only these forms state it."""
    for regex in _SAMPLE_RES:
        found = regex.search(abstract)
        if found and int(found["n"].replace(",", "")) > 1:
            return int(found["n"].replace(",", ""))
    return None


_DOSE_AT_END_RE = re.compile(r"(?P<dose>\d+(?:\.\d+)?\s?(?:mg/kg|mg))\s?$")
_DOSE_IN_LABEL_RE = re.compile(r"\s?\d+(?:\.\d+)?\s?(?:mg/kg|mg)\b.*$")


def _dose_only_label(window: str, arms: list[dict]) -> str | None:
    """The label of an arm written as a dose alone ("56 mg (n = 11)" after "esketamine 28 mg
    (n = 11)"): the previous arm's drug with this dose; None when no previous arm names one."""
    dose = _DOSE_AT_END_RE.search(window)
    if not dose or not arms:
        return None
    drug = _DOSE_IN_LABEL_RE.sub("", arms[-1]["label"]).strip()
    if not drug or drug == arms[-1]["label"]:
        return None  # the previous arm had no dose: its label is not "drug dose"
    return f"{drug} {dose['dose']}"


_COHORT_WORD_RE = re.compile(r"\bcohorts?\b", re.I)
_PEOPLE_WORD = r"(?:patients|participants|adults|individuals|subjects)"
# "The esketamine cohort included 165 patients", "In the Medicaid cohort, 51,206 patients were
# included", "the respective cohorts was 122 for esketamine, 336 for ECT, ... and 4496 for ..."
_COHORT_COUNT_RES = (
    re.compile(
        rf"\b(?P<label>[\w-]+(?:{SP}[\w-]+)?){SP}cohort{SP}(?:included|comprised|consisted{SP}of)"
        rf"{SP}(?P<n>\d[\d,]*){SP}{_PEOPLE_WORD}\b"
    ),
    re.compile(
        rf"\b[Ii]n{SP}the{SP}(?P<label>[\w-]+(?:{SP}[\w-]+)?){SP}cohort,{SP}(?P<n>\d[\d,]*){SP}"
        rf"{_PEOPLE_WORD}{SP}were{SP}(?:included|identified)\b"
    ),
)
_COHORT_LIST_RE = re.compile(
    rf"\bnumber{SP}of{SP}{_PEOPLE_WORD}{SP}in{SP}the{SP}(?:respective{SP})?cohorts{SP}(?:was|were)"
    rf"{SP}(?P<list>[^.;]+)"
)
# "The study comprised four cohorts: esketamine (n = 107; ...), ECT (n = 55; ...), ..."
_COHORTS_WITH_N_RE = re.compile(rf"\bcohorts{SP}?:(?P<list>(?:[^.]|\.\d)+)")
_COHORT_N_RE = re.compile(rf"(?P<label>[\w-]+){SP}\({SP}?n{SP}?={SP}?(?P<n>\d+)")
_LIST_COUNT_RE = re.compile(rf"(?P<n>\d[\d,]*){SP}for{SP}(?P<label>[\w-]+(?:{SP}[\w-]+)?)")


def _cohorts(abstract: str) -> list[tuple[str, int]]:
    """The cohorts a records or post hoc study states with their sizes, as (label, n)."""
    if "cohort" not in abstract:
        return []
    listed = _COHORT_LIST_RE.search(abstract)
    if listed:
        return [
            (m["label"], int(m["n"].replace(",", "")))
            for m in _LIST_COUNT_RE.finditer(listed["list"])
        ]
    listed = _COHORTS_WITH_N_RE.search(abstract)
    if listed and len(sizes := _COHORT_N_RE.findall(listed["list"])) >= 2:
        return [(label, int(n)) for label, n in sizes]
    found = [m for regex in _COHORT_COUNT_RES for m in regex.finditer(abstract)]
    found.sort(key=lambda m: m.start())
    labels = [re.sub(r"^(?:the|and|The)\s", "", m["label"]) for m in found]
    return [(label, int(m["n"].replace(",", ""))) for label, m in zip(labels, found, strict=True)]


_TREATED_SUFFIX_RE = re.compile(
    r"[- ](?:treated|assigned|randomi[sz]ed)(?: patients| participants)?$"
)
# "the 7 placebo-assigned patients", "all 56 esketamine-treated participants"
_GROUP_COUNT_RE = re.compile(
    rf"\b(?:the|all){SP}(?P<n>\d+){SP}(?P<label>(?:es|ar)?ketamine|placebo|midazolam|ESK|PBO)"
    rf"-(?:assigned|treated|randomi[sz]ed){SP}(?:patients|participants|subjects)\b",
    re.I,
)


def _assigned_groups(abstract: str) -> list[dict]:
    """Arms counted as "the 7 placebo-assigned patients": only when two groups are named."""
    if "-assigned" not in abstract and "-treated" not in abstract:
        return []
    groups: dict[str, int] = {}
    for match in _GROUP_COUNT_RE.finditer(abstract):
        groups.setdefault(match["label"].lower(), int(match["n"]))
    if len(groups) < 2:
        return []
    return [{"label": label, "n": n} for label, n in groups.items()]


_DOSE_BEFORE_MG_RE = re.compile(
    r"(?:\d+(?:\.\d+)?(?:\s?(?:-|–|to|or|and|,)\s?\d+(?:\.\d+)?)*\s?mg/kg"
    r"|\b\d+(?:\s?(?:or|and|,|-|/)\s?\d+)*\s?mg)$"
)


def _dose(text: str) -> str | None:
    """The first dose written in mg or mg/kg ("0.5 mg/kg", "56 or 84 mg"), as written."""
    at = text.find("mg")
    while at >= 0:
        end = at + (5 if text.startswith("mg/kg", at) else 2)
        if end == len(text) or not text[end].isalnum():
            match = _DOSE_BEFORE_MG_RE.search(text[max(0, at - 60) : end])
            if match and (text.startswith("mg/kg", at) or text[end : end + 1] != "/"):
                return match.group()
        at = text.find("mg", at + 2)
    return None


# By a word each phrase contains: the phrases of a word absent from the text are not looked for.
_SCHEDULES = {
    "single": ("single dose", "single infusion", "single injection", "single administration"),
    "week": (
        "twice weekly", "twice-weekly", "thrice weekly", "thrice-weekly", "once weekly",
        "once-weekly", "weekly", "every other week", "two or three times weekly",
        "twice a week", "three times a week", "three times per week",
    ),
    "daily": ("daily",),
}  # fmt: skip


def _schedule(text: str) -> str | None:
    """The first dosing schedule named ("twice weekly", "single infusion"), lower case."""
    low = _lower(text)
    best: tuple[int, int] | None = None  # (position, -length): earliest, then longest
    phrases = [p for word, group in _SCHEDULES.items() if word in low for p in group]
    for phrase in phrases:
        at = low.find(phrase)
        while at >= 0 and at and low[at - 1].isalnum():  # "biweekly" is not "weekly"
            at = low.find(phrase, at + 1)
        end = at + len(phrase)
        whole_word = at >= 0 and (end == len(low) or not low[end].isalnum())
        if whole_word and (best is None or (at, -len(phrase)) < best):
            best = (at, -len(phrase))
    return low[best[0] : best[0] - best[1]] if best else None


# --- entry point ----------------------------------------------------------------------------


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
    design = _design(title, abstract, pubtypes)
    facts = TrialFacts(design=design)
    facts.drug = _drug(title, abstract)
    if {"ketamine"} & mesh_terms and not facts.drug:
        facts.drug = ["ketamine"]
    facts.route = _route(title, abstract) if facts.drug else None
    facts.population = _population(text)
    facts.comparator = _comparator(text, design)
    facts.scales = _labels(_SCALE_NAMES, text, 0) or None
    if design in ("rct", "crossover_rct", "post_hoc", "protocol", "open_label", "observational"):
        randomized = _first_count(_N_RANDOMIZED_PATTERNS, abstract, _RANDOMIZED_NEEDLES)
        facts.n_randomized = randomized
        if randomized is None and design not in ("rct", "crossover_rct"):
            facts.n_randomized = _first_count(_N_ENROLLED_PATTERNS, abstract, _ENROLLED_NEEDLES)
        if randomized is None and design in ("rct", "crossover_rct"):
            facts.n_randomized = _first_count(_N_ENROLLED_PATTERNS, abstract, _ENROLLED_NEEDLES)
        facts.arms = _arms(abstract, design) if design != "protocol" else []
        cohorts = _cohorts(abstract) if design in ("observational", "post_hoc") else []
        if len(cohorts) >= 2:  # claims and registry cohorts, or a trial's arms in a post hoc
            facts.n_randomized = sum(n for _, n in cohorts)
            if design == "post_hoc" and not facts.arms:
                facts.arms = [{"label": label, "n": n} for label, n in cohorts]
        if facts.n_randomized is None and len(facts.arms) >= 2:
            facts.n_randomized = sum(arm["n"] for arm in facts.arms)
        if facts.n_randomized is None and "=" in abstract:
            total = _TOTAL_N_RE.search(abstract)
            facts.n_randomized = int(total["n"] or total["total"]) if total else None
        if facts.n_randomized is None and design in ("open_label", "observational"):
            facts.n_randomized = _sample_size(abstract)
    facts.dose = _dose(abstract) if facts.drug else None
    facts.schedule = _schedule(abstract) if facts.drug else None
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
    return _drugs(text)


def routes_named(text: str) -> list[str]:
    """The routes a short label or description names (iv, intranasal, oral, sc, im, sublingual)."""
    return _routes_in(text) or []


def comparators_named(text: str) -> list[str]:
    """The comparators a label names (placebo, midazolam, ect, antidepressant, other)."""
    return _labels(_COMPARATORS, text)


def dose_written(text: str) -> str | None:
    """The first dose written in mg or mg/kg, as written ("56 mg"); None when there is none."""
    return _dose(text)
