"""Sample-size rules: how many people a study randomized (else enrolled), read from the
sentences that state it, never from a year, a dose, a share or one arm's size.

Each count form is a named rule (`FactRule`) with example sentences. The randomized forms are
tried first, in order, then the enrolled forms; a count is taken only where people follow it
("120 adults", not "four phase III studies") and no date, dose or percent does.
"""

from __future__ import annotations

import functools
import re

from pipeline.extract.facts.matching import contains_any, lower, lower_case_regex, lowers_as_ascii
from pipeline.extract.facts.rule import Example, FactRule
from pipeline.extract.numbers import SP, WORD_NUMBER, parse_count

_COUNT = rf"(?P<n>\d[\d,]*|{WORD_NUMBER})"
_DIGIT_COUNT = r"(?P<n>\d[\d,]*)"
# Words for the people a study counts.
_PEOPLE = (
    r"(?:patients|participants|subjects|adults|outpatients|inpatients|individuals|people|women"
    r"|men|children|adolescents|volunteers|veterans)\b"
)
# "Of the 70 patients randomized to antibiotics who later underwent surgery": a subset of one
# arm (randomized to one treatment, then a clause saying which of them), not the trial's N
_NOT_ONE_ARMS_SUBSET = rf"(?!{SP}to{SP}(?:[\w-]+{SP}){{1,4}}?(?:who|whom|that){SP})"


def _randomized(name: str, reads: str, pattern: str, needles, examples) -> FactRule:
    return FactRule(name, "n_randomized", reads, pattern, needles, tuple(examples))


def _enrolled(name: str, reads: str, pattern: str, needles, examples) -> FactRule:
    return FactRule(name, "n_enrolled", reads, pattern, needles, tuple(examples))


# "a study of 17 patients", "a trial involving 149 subjects": the words a count follows
_STUDY_OF_NEEDLES = (
    "study of", "trial of", "study involving", "trial involving", "study including",
    "trial including",
)  # fmt: skip

# In order of preference: the first form that finds a count gives N randomized.
N_RANDOMIZED_RULES: tuple[FactRule, ...] = (
    _randomized(
        "of_n_people_then_randomized",
        "'Of 120 patients, ... randomized'",
        rf"\b[Oo]f{SP}{_COUNT}{SP}(?:patients|participants|subjects|adults),[^.;]{{0,40}}randomi",
        ("of",),
        [Example("Of 64 adults, half were randomized to ketamine.", 64)],
    ),
    _randomized(
        "n_were_randomized",
        "'120 adults with TRD were randomized', 'forty underwent randomization'",
        rf"\b{_COUNT}{SP}(?:[\w-]+{SP}){{0,4}}?(?:\([^()]{{1,30}}\){SP})?(?:were{SP})?"
        rf"(?:randomi[sz]ed|randomly{SP}(?:assigned|allocated)|underwent{SP}randomi[sz]ation)\b"
        rf"{_NOT_ONE_ARMS_SUBSET}",
        ("random",),
        [
            Example("Forty-two outpatients were randomly assigned to two arms.", 42),
            Example("After screening, 88 adults were randomized.", 88),
            Example("Of the 70 patients randomized to surgery who had a relapse, 9 died.", None),
        ],
    ),
    _randomized(
        "n_people_were_assigned_to",
        "'120 patients were assigned to', not one arm's '336 ... to A and 340 to B'",
        rf"\b{_COUNT}{SP}(?:patients|participants|subjects|adults|outpatients|inpatients)"
        rf"(?:{SP}[\w-]+){{0,4}}?{SP}were{SP}(?:assigned|allocated){SP}to\b"
        rf"(?![^.;]{{0,60}}\band{SP}\d+{SP}to\b)",
        ("assigned", "allocated"),
        [
            Example("In all, 75 participants were allocated to three groups.", 75),
            Example("Here 30 patients were assigned to A and 31 to B.", None),
        ],
    ),
    _randomized(
        "of_the_n_randomized",
        "'Of the 120 randomized patients'",
        rf"\b[Oo]f{SP}(?:the{SP})?{_COUNT}{SP}(?:[\w-]+{SP})?randomi[sz]ed\b{_NOT_ONE_ARMS_SUBSET}",
        ("of",),
        [
            Example("Of the 58 randomized patients, 50 finished.", 58),
            Example("Of the 70 patients randomized to drug A who relapsed, 9 died.", None),
        ],
    ),
    _randomized(
        "randomized_n_people",
        "'we randomized a total of 120 adults'",
        rf"\brandomi[sz]ed{SP}(?:a{SP}total{SP}of{SP})?{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?"
        rf"(?:patients|participants|subjects|adults|outpatients|inpatients|males|females|women"
        rf"|men)",
        ("randomi",),
        [Example("We randomized a total of 96 women to two doses.", 96)],
    ),
    _randomized(
        "randomly_assigned_n_people",
        "'we randomly assigned 5734 patients with ... to receive A or B'",
        rf"\brandomly{SP}(?:assigned|allocated){SP}(?:a{SP}total{SP}of{SP})?{_COUNT}{SP}"
        rf"(?:[\w-]+{SP}){{0,2}}?{_PEOPLE}",
        ("randomly",),
        [Example("We randomly assigned 812 adults with asthma to drug A or placebo.", 812)],
    ),
    _randomized(
        "allocated_n_people_to_the_groups",
        "'randomization was used to allocate 300 participants to either group'",
        rf"\b(?:allocat|assign)(?:e|ed|ing){SP}(?:a{SP}total{SP}of{SP})?{_COUNT}{SP}"
        rf"(?:[\w-]+{SP}){{0,2}}?{_PEOPLE}{SP}to{SP}(?:either|both|each{SP}of|one{SP}of|two|three"
        rf"|four|the{SP}(?:two|three|four))\b",
        ("allocat", "assign"),
        [
            Example("Block randomization was used to allocate 120 women to either group.", 120),
            Example("We assigned 64 adults to two arms at random.", 64),
        ],
    ),
    _randomized(
        "upper_n_then_randomized",
        "'Adults (N = 120) were randomized'",
        rf"\(N{SP}?={SP}?{_COUNT}\){SP}(?:were{SP})?(?:randomi[sz]ed|randomly)",
        ("(n",),
        [Example("Adults with TRD (N = 47) were randomized.", 47)],
    ),
    _randomized(
        "randomly_assigned_then_upper_n",
        "'randomly assigned ... (N = 120)'",
        rf"randomly{SP}(?:assigned|allocated)[^.;]{{0,120}}?\(N{SP}?={SP}?{_COUNT}\)",
        ("(n",),
        [Example("Veterans were randomly assigned to two arms (N = 36).", 36)],
    ),
    _randomized(
        "n_entered_the_randomized_phase",
        "'120 who responded entered the randomized phase'",
        rf"\b{_COUNT}{SP}(?:who{SP}[^.;]{{0,80}}?)?(?:entered|underwent){SP}the{SP}randomi[sz]ed",
        ("entered", "underwent"),
        [Example("Then 176 who had remitted entered the randomized withdrawal phase.", 176)],
    ),
    _randomized(
        "randomized_then_upper_n",
        "'a randomized trial ... (N = 120)'",
        rf"randomi[sz]ed[^.;]{{0,60}}?\({SP}?N{SP}?={SP}?{_COUNT}\)",
        ("n",),
        [Example("A randomized trial in older adults (N = 53).", 53)],
    ),
    _randomized(
        "total_of_n_then_randomized",
        "'A total of 120 adults ... were randomized'",
        rf"\b[Aa]{SP}total{SP}of{SP}{_COUNT}{SP}(?!of{SP})[^.;]{{0,150}}?\b(?:were{SP})?"
        rf"(?:randomi[sz]ed|randomly)",
        ("total",),
        [
            Example("A total of 210 people with MDD at 12 sites were randomized.", 210),
            Example("A total of 30 of the 1274 patients randomly assigned to drugx died.", None),
        ],
    ),
    _randomized(
        "randomized_trial_of_n_people",
        "'a randomized, double-blind trial of 1402 patients with ...'",
        rf"randomi[sz]ed\b[^.;]{{0,60}}?\b(?:trial|study){SP}(?:of|in|involving|including)"
        rf"{SP}{_COUNT}{SP}(?:(?!in{SP}|of{SP}|with{SP})[\w-]+{SP}){{0,2}}?{_PEOPLE}",
        ("randomi",),
        [
            Example("In a randomized, open trial of 612 adults with asthma, X was tested.", 612),
            Example("A randomized trial of 2 doses in adults.", None),
        ],
    ),
)
# Tried when no randomized form finds a count.
N_ENROLLED_RULES: tuple[FactRule, ...] = (
    _enrolled(
        "n_were_enrolled",
        "'120 adults were enrolled', 'included', 'recruited'",
        rf"\b{_COUNT}{SP}(?:[\w-]+{SP}){{0,4}}?(?:were{SP})?(?:enrolled|included|recruited)\b",
        ("enrolled", "included", "recruited"),
        [Example("Overall, 33 inpatients were recruited.", 33)],
    ),
    _enrolled(
        "n_people_entered_the_trial",
        "'eight children entered the trial', 'started the study'",
        rf"\b{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?{_PEOPLE}{SP}(?:entered|started|began){SP}the{SP}"
        rf"(?:trial|study)\b",
        ("entered", "started", "began"),
        [
            Example("Of 40 screened, twelve children entered the trial.", 12),
            Example("Then 30 patients entered the open-label phase.", None),
        ],
    ),
    _enrolled(
        "of_the_n_enrolled",
        "'Of the 120 enrolled'",
        rf"\b[Oo]f{SP}(?:the{SP})?{_COUNT}{SP}(?:enrolled|included)\b",
        ("enrolled", "included"),
        [Example("Of the 41 enrolled, 38 completed.", 41)],
    ),
    _enrolled(
        "enrolled_n_people",
        "'we enrolled 120 adults'",
        rf"\b(?:enrolled|included|recruited){SP}{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?{_PEOPLE}",
        ("enrolled", "included", "recruited"),
        [
            Example("We recruited 25 depressed outpatients.", 25),
            Example("The study included 64 pregnant women at term.", 64),
        ],
    ),
    _enrolled(
        "conducted_in_n_people",
        "'conducted in 120 patients'",
        rf"\b(?:conducted|performed){SP}in{SP}{_COUNT}{SP}(?:patients|participants|subjects)",
        ("conducted", "performed"),
        [Example("The study was conducted in 19 patients.", 19)],
    ),
    _enrolled(
        "among_n_people",
        "'Among 120 patients', 'Among 3891 women'",
        rf"\b[Aa]mong{SP}{_COUNT}{SP}{_PEOPLE}",
        ("among",),
        [
            Example("Among 140 adults treated, most improved.", 140),
            Example("RESULTS: Among 3891 women, 2344 (60.2%) completed the scale.", 3891),
            Example("Among 12 sites, 3 stopped.", None),
        ],
    ),
    _enrolled(
        "study_of_n_people",
        "'an open label study of 17 patients', 'a real-world study involving 149 TRD subjects'",
        rf"\b(?:trial|study){SP}(?:of|involving|including){SP}{_COUNT}{SP}"
        rf"(?:(?!in{SP}|of{SP}|with{SP})[\w-]+{SP}){{0,2}}?{_PEOPLE}",
        _STUDY_OF_NEEDLES,
        [
            Example("It was tested in an open label study of 17 patients with MDD.", 17),
            Example("In a retrospective study involving 149 TRD subjects, data were kept.", 149),
            Example("A study of 2 doses in adults.", None),
        ],
    ),
    _enrolled(
        "n_people_completed_or_received",
        "'120 patients ... completed', 'took part in', 'received', also after a description "
        "with decimals ('52 adults (62.5 % female, median age 49.1 years) received')",
        rf"\b{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?(?:participants|patients|subjects|adults)\b"
        rf"(?:[^.;]|\.\d){{0,90}}?\b(?:completed|participated{SP}in|took{SP}part{SP}in"
        rf"|received)\b",
        ("completed", "participated", "took part", "received"),
        [
            Example("Twenty-six participants took part in the study.", 26),
            Example(
                "Fifty-two adults (62.5 % female, median age 49.1 years) received IV ketamine.", 52
            ),
        ],
    ),
    _enrolled(
        "we_treated_n_people",
        "'We treated 89 hospitalized patients with ...'",
        rf"\b[Ww]e{SP}treated{SP}{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?{_PEOPLE}",
        ("treated",),
        [
            Example("METHODS: We treated 89 hospitalized patients with COVID-19.", 89),
            Example("We treated 40 of the 120 patients with ketamine.", None),
        ],
    ),
    _enrolled(
        "n_people_administered",
        "'120 patients self-administered'",
        rf"\b{_COUNT}{SP}(?:participants|patients|subjects|adults){SP}(?:self-)?administered\b",
        ("administered",),
        [Example("Then 12 patients self-administered the spray.", 12)],
    ),
    _enrolled(
        "total_of_n_people",
        "'A total of 120 patients'",
        rf"\b[Aa]{SP}total{SP}of{SP}{_COUNT}{SP}(?:[\w-]+{SP}){{0,2}}?(?:patients|participants"
        rf"|subjects|adults|individuals)\b"
        rf"(?![^.;]{{0,80}}?,{SP}and{SP}\d[\d,]*{SP}(?:with|had|to|in)\b)",  # one part of a split
        ("total",),
        [
            Example("A total of 77 adults took the tablets.", 77),
            Example("A total of 500 patients had a leg clot, and 300 with a lung clot.", None),
        ],
    ),
    _enrolled(
        "n_people_were_treated",
        "'45 adults with bipolar depression were treated with ...'",
        rf"\b{_COUNT}{SP}(?:[\w-]+{SP}){{0,6}}?{_PEOPLE}[^.;]{{0,80}}?\bwere{SP}treated\b",
        ("treated",),
        [Example("In all, 45 adults with bipolar depression were treated with esketamine.", 45)],
    ),
    _enrolled(
        "data_from_n_people",
        "'we collected data from 512 patients', 'records of 512 patients'",
        rf"\b(?:data|records){SP}(?:from|of|on){SP}{_COUNT}{SP}"
        rf"(?:(?!of{SP}|in{SP}|with{SP})[\w-]+{SP}){{0,2}}?{_PEOPLE}"
        rf"(?![^.;]{{0,60}}?\bpooled\b)",  # a pooled analysis's total is not a sample's
        ("data from", "data of", "data on", "records of", "records from"),
        [
            Example("We gathered data from 512 patients with a mean age of 48 years.", 512),
            Example("We used data from two studies of patients with TRD.", None),
            Example("Data from 90 participants were pooled from three trials.", None),
        ],
    ),
)
_N_RANDOMIZED_PATTERNS = [rule.pattern for rule in N_RANDOMIZED_RULES]
_N_ENROLLED_PATTERNS = [rule.pattern for rule in N_ENROLLED_RULES]
# Words each pattern needs (lower case): a pattern is run only on windows that have one.
_PATTERN_NEEDLES = {rule.pattern: rule.needles for rule in (*N_RANDOMIZED_RULES, *N_ENROLLED_RULES)}
_RANDOMIZED_NEEDLES = ("random", "assigned", "allocated")
TOTAL_N = FactRule(
    "people_n_equals",
    "n_total",
    "the whole sample written 'in TRD patients (n = 30)', where no sentence says how many enrolled",
    rf"\b(?:in|of){SP}(?:[\w-]+{SP}){{0,2}}?(?:patients|participants|subjects|adults"
    rf"|outpatients|inpatients|individuals){SP}?\({SP}?[nN]{SP}?={SP}?(?P<n>\d+){SP}?\)"
    rf"|\btotal{SP}(?:[\w-]+{SP}){{0,2}}?(?:population|sample){SP}?\({SP}?[nN]{SP}?={SP}?"
    rf"(?P<total>\d+){SP}?\)",
    ("=",),
    (
        Example("Ketamine was studied in adolescent inpatients (n = 17).", 17),
        Example("The total study sample (N = 230) was older.", 230),
    ),
    flags=0,
)
_TOTAL_N_RE = re.compile(TOTAL_N.pattern)
TOTAL_N_DESCRIBED = FactRule(
    "people_described_n_equals",
    "n_total",
    "the whole sample with its description before the size: 'outpatients with TRD treated "
    "with IV ketamine (n = 64)'; tried after people_n_equals",
    rf"\b(?:in|of|included|studied|enrolled|recruited){SP}(?:[\w-]+{SP}){{0,3}}?{_PEOPLE}"
    rf"[^.;()\d%]{{0,80}}?{SP}?\({SP}?[nN]{SP}?={SP}?(?P<n>\d+){SP}?\)",
    ("=",),
    (
        Example("We studied outpatients with TRD (n = 64) treated with IV ketamine.", 64),
        Example("A cohort of adults receiving esketamine in routine care (n = 150).", 150),
        Example("Of patients who switched, 29% (n = 4) stopped.", None),
    ),
    flags=0,
)
_TOTAL_N_DESCRIBED_RE = re.compile(TOTAL_N_DESCRIBED.pattern)
SPLIT_TOTAL = FactRule(
    "total_of_n_with_a_and_m_with_b",
    "n_total",
    "a total split in two parts: 'A total of 4921 patients had X, and 3319 (had) Y' (the sum)",
    rf"\b[Aa]{SP}total{SP}of{SP}(?P<n>\d[\d,]*){SP}(?:[\w-]+{SP}){{0,2}}?{_PEOPLE}"
    rf"[^.;]{{0,80}}?,{SP}and{SP}(?P<m>\d[\d,]*){SP}(?:with|had)\b",
    ("total of",),
    (Example("A total of 500 patients had a leg clot, and 300 with a lung clot.", 800),),
    flags=0,
)
_SPLIT_TOTAL_RE = re.compile(SPLIT_TOTAL.pattern)


PATIENTS_AND_CONTROLS = FactRule(
    "n_patients_and_m_healthy_controls",
    "n_total",
    "a sample of patients and healthy controls: 'Twenty patients with MDD and 20 healthy "
    "controls received ...' (the sum, never the patients alone)",
    rf"\b(?P<n>\d[\d,]*|(?i:{WORD_NUMBER})){SP}(?:[\w-]+{SP})?{_PEOPLE}(?:{SP}with{SP}[^.;,]{{1,40}}?)?"
    rf"{SP}and{SP}(?P<m>\d[\d,]*|(?i:{WORD_NUMBER})){SP}(?:(?:age|sex)[\w-]*{SP})?(?:healthy|matched)"
    rf"{SP}(?:controls|volunteers|(?:control{SP})?(?:subjects|participants|individuals))\b",
    ("healthy", "matched"),
    (
        Example("Thirty patients with TRD and 30 healthy controls were scanned.", 60),
        Example("We studied 25 adults with PTSD and 20 matched controls.", 45),
    ),
    flags=0,
)
_PATIENTS_AND_CONTROLS_RE = re.compile(PATIENTS_AND_CONTROLS.pattern)


def patients_and_controls(abstract: str) -> int | None:
    """The whole sample of patients and healthy controls ("20 patients with MDD and 20
    healthy controls"): the sum of the two counts."""
    if "healthy" not in abstract and "matched" not in abstract:
        return None
    found = _PATIENTS_AND_CONTROLS_RE.search(abstract)
    if found is None:
        return None
    n, m = parse_count(found["n"]), parse_count(found["m"])
    return n + m if n and m else None


ARMS_IN_OUTCOME_COUNTS = FactRule(
    "of_the_n_assigned_to_each_arm",
    "n_randomized",
    "each arm's size where an outcome is counted in it: '30 of the 1274 patients randomly "
    "assigned to receive dabigatran, as compared with 27 of the 1265 patients randomly assigned "
    "to warfarin' (the sum, when two arms of different treatments are counted so)",
    rf"\bof{SP}the{SP}(?P<n>\d[\d,]*){SP}(?:[\w-]+{SP})?{_PEOPLE}{SP}(?:who{SP}were{SP})?"
    rf"(?:randomly{SP}assigned|randomi[sz]ed|assigned){SP}to{SP}(?:receive{SP})?(?:the{SP})?"
    rf"(?P<arm>[A-Za-z][\w-]+)",
    ("of the",),
    (
        Example("Events occurred in 30 of the 1274 patients randomly assigned to receive drugx "
                "(2.4%), as compared with 27 of the 1265 patients randomly assigned to drugy "
                "(2.1%).", 2539),
        Example("Of the 70 patients randomized to drugx, 9 died.", None),
    ),
    flags=0,
)  # fmt: skip
_ARMS_IN_OUTCOME_COUNTS_RE = re.compile(ARMS_IN_OUTCOME_COUNTS.pattern)


def arms_in_outcome_counts(abstract: str) -> int | None:
    """The sum of two arms' sizes given where an outcome is counted in each ("30 of the 1274
    patients randomly assigned to A, as compared with 27 of the 1265 patients randomly assigned
    to B"), the first sentence holding two such arms of different treatments; else None."""
    if "assigned" not in abstract and "randomi" not in abstract:
        return None
    counted = []
    at = abstract.find("of the ")
    while at >= 0:  # a cheap test first: two counts "of the 1274" are needed
        if abstract[at + 7 : at + 8].isdigit():
            counted.append(at)
        at = abstract.find("of the ", at + 7)
    if len(counted) < 2:
        return None
    found = [
        m for at in counted if (m := _ARMS_IN_OUTCOME_COUNTS_RE.match(abstract, at)) is not None
    ]
    for at in range(len(found) - 1):
        first, second = found[at], found[at + 1]
        if _SENTENCE_END_RE.search(abstract, first.end(), second.start()):
            continue  # not one sentence
        if first["arm"].lower() == second["arm"].lower():
            continue  # one arm counted twice
        if at + 2 < len(found) and not _SENTENCE_END_RE.search(
            abstract, second.end(), found[at + 2].start()
        ):
            return None  # three arms or more in one sentence: not two arms' sizes
        return int(first["n"].replace(",", "")) + int(second["n"].replace(",", ""))
    return None


_SENTENCE_END_RE = re.compile(r"[.;]\s")


def split_total(abstract: str) -> int | None:
    """The sum of a total written in two parts ("A total of 500 had X, and 300 with Y")."""
    found = _SPLIT_TOTAL_RE.search(abstract) if "total of" in abstract else None
    if found is None:
        return None
    return int(found["n"].replace(",", "")) + int(found["m"].replace(",", ""))


def total_n(abstract: str) -> int | None:
    """The whole sample written "in TRD patients (n = 30)", else with a description between."""
    if "=" not in abstract:
        return None
    total = _TOTAL_N_RE.search(abstract)
    if total:
        return int(total["n"] or total["total"])
    described = _TOTAL_N_DESCRIBED_RE.search(abstract)
    return int(described["n"]) if described else None


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
    "total of", "were treated", "we treated", "data from", "data of", "data on", "records of",
    "records from", "entered", "started", "began", *_STUDY_OF_NEEDLES,
)  # fmt: skip
_ENROLLED_NEEDLES = (
    "enrol", "includ", "recruit", "conducted in", "performed in", "among", "completed",
    "participated", "took part", "received", "administered", "total of", "were treated",
    "we treated", "data from", "data of", "data on", "records of", "records from", "entered",
    "started", "began", *_STUDY_OF_NEEDLES,
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
    low = lower(text)
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
    return not _NUMBER_WORDS.isdisjoint(lower(text).replace("-", " ").split())


@functools.lru_cache(maxsize=128)
def _count_regex(pattern: str, number_words: bool, lower_case: bool) -> tuple[re.Pattern, bool]:
    """A count pattern, compiled with number words ("Forty-one") or, faster, digits only, and
    whether it reads the lower-cased text (when `lower_case` allows it: see lowers_as_ascii)."""
    # ASCII classes: faster, and counts of people are written in ASCII words and digits.
    pattern = pattern if number_words else pattern.replace(_COUNT, _DIGIT_COUNT)
    regex = lower_case_regex(pattern) if lower_case else None
    return (regex, True) if regex else (re.compile(pattern, re.I | re.A), False)


_NOT_COUNT_BEFORE_RE = re.compile(r"(?:phase|stage|cohort|day|week|\w-|[<>≤≥])\s?$", re.I)


def first_count(
    patterns: list[str], text: str, needles: tuple[str, ...] = ("random",)
) -> int | None:
    """The first count a pattern finds, trying the patterns in order of preference.

    The patterns only run on windows around the words they need ("randomized", "enrolled"),
    and the number-word forms only where a number word occurs, which keeps this cheap.
    """
    windows = [(w, low) for w, low in _keyword_windows(text) if contains_any(low, needles)]
    if not windows:
        return None
    words = _has_number_word(text)
    lower_case = lowers_as_ascii(text)
    for pattern in patterns:
        regex, reads_lower = _count_regex(pattern, words, lower_case)
        required = _PATTERN_NEEDLES.get(pattern, ("",))
        for window, low in windows:
            if not contains_any(low, required):
                continue
            # a match in the lower-cased window has the same offsets as in the window
            scanned = low if reads_lower else window
            match = regex.search(scanned)
            while match:
                value = _count_at(match, window)
                if value is not None:
                    return value
                # a number passed over ("2021, 88 adults were randomized") does not take the
                # words after it with it: the next try starts right after that number
                match = regex.search(scanned, match.end("n"))
    return None


def _count_at(match: re.Match, window: str) -> int | None:
    """The count of people a count pattern's match gives, None when its number is a phase, a
    bound, a dose, a share, a year or not a number of people."""
    if _NOT_COUNT_BEFORE_RE.search(window, max(0, match.start("n") - 8), match.start("n")):
        return None  # "phase 3", "NNT values <10": not a count of people
    after = match.end("n")
    if not _PEOPLE_RE.match(window, after) and _NOT_PEOPLE_RE.match(window, after):
        return None  # "four phase III studies", "two antidepressant therapies"
    if _NOT_A_SIZE_AFTER_RE.match(window, after):
        return None  # "0.5 mg/kg", "30%": a dose or a share, not a number of people
    value = parse_count(match["n"])
    if (
        value
        and 1900 <= value <= 2100
        and _DATE_BEFORE_RE.search(window, max(0, match.start("n") - 24), match.start("n"))
    ):
        return None  # "June 27, 2023, we enrolled 3209": the year is not the N
    return value if value and value > 1 else None


# A year in a date: after a month ("June 27, 2023") or a preposition of time ("between 2018").
_DATE_BEFORE_RE = re.compile(
    r"(?:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s(?:\d{1,2},?\s)?"
    r"|\b(?:in|since|from|between|until|through|and|to)\s)$",
    re.IGNORECASE,
)
_NOT_A_SIZE_AFTER_RE = re.compile(r"\s?(?:mg|µg|mcg|g|ml|%|years?\b|months?\b|weeks?\b)", re.I)


# The sample of a study with no randomisation, written without "enrolled".
SAMPLE_RULES: tuple[FactRule, ...] = (
    FactRule(
        "of_the_n_people",
        "n_sample",
        "a sentence opening 'Of the 1088 people who registered ...'",
        rf"(?:^|(?<=[.:]{SP}))Of{SP}(?:the{SP})?(?P<n>\d[\d,]*){SP}(?:[\w-]+{SP}){{0,2}}?(?:patients"
        rf"|participants|people|subjects|adults|individuals|respondents)\b",
        examples=(Example("RESULTS: Of the 1,204 respondents, most were women.", 1204),),
        flags=0,
    ),
    FactRule(
        "cohort_comprised_n_people",
        "n_sample",
        "'The TRD cohort comprised 269 patients'",
        rf"\bcohort{SP}(?:comprised|included|consisted{SP}of){SP}(?P<n>\d[\d,]*){SP}{_PEOPLE}",
        examples=(Example("The study cohort comprised 1,311 patients.", 1311),),
        flags=0,
    ),
    FactRule(
        "n_people_were_analyzed",
        "n_sample",
        "a sentence opening 'Sixteen subjects were analyzed.'",
        rf"(?:^|(?<=[.:]{SP}))(?P<n>\d[\d,]*|(?i:{WORD_NUMBER})){SP}(?:[\w-]+{SP}){{0,2}}?"
        rf"{_PEOPLE}{SP}were{SP}analy[sz]ed\b",
        examples=(
            Example("METHODS: Twenty-two outpatients were analyzed.", 22),
            Example("Of these, 18 patients were analyzed.", None),
        ),
        flags=0,
    ),
    FactRule(
        "sentence_opening_n_equals_people",
        "n_sample",
        "a sentence opening with its sample: 'n = 32 adults (aged 22-72 years) with ...'",
        rf"(?:^|(?<=[.:]{SP}))[nN]{SP}?={SP}?(?P<n>\d[\d,]*){SP}(?:[\w-]+{SP})?{_PEOPLE}",
        examples=(
            Example("Studies are lacking. n = 32 adults (aged 22-72 years) were treated.", 32),
            Example("Of these, n = 12 patients relapsed.", None),
        ),
        flags=0,
    ),
    FactRule(
        "in_n_people_described",
        "n_sample",
        "'... in 18 patients (55.6% males, ...)'",
        rf"\bin{SP}(?P<n>\d[\d,]*){SP}(?:[\w-]+{SP}){{0,2}}?(?:patients|participants|subjects"
        rf"|adults){SP}\((?![^()]*\bn{SP}?=)",
        examples=(
            Example("Ketamine was given in 23 consecutive patients (61% women).", 23),
            Example("Ketamine was given in 23 patients (n = 23).", None),
        ),
        flags=0,
    ),
)
_SAMPLE_RES = tuple(re.compile(rule.pattern) for rule in SAMPLE_RULES)


def sample_size(abstract: str) -> int | None:
    """The whole sample of a single-group or records study, when only these forms state it."""
    for regex in _SAMPLE_RES:
        found = regex.search(abstract)
        count = parse_count(found["n"]) if found else None
        if count and count > 1:
            return count
    return None


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


def cohorts(abstract: str) -> list[tuple[str, int]]:
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


RANDOMIZED_NEEDLES = _RANDOMIZED_NEEDLES
ENROLLED_NEEDLES = _ENROLLED_NEEDLES
RULES: tuple[FactRule, ...] = (
    *N_RANDOMIZED_RULES, *N_ENROLLED_RULES, TOTAL_N, TOTAL_N_DESCRIBED, SPLIT_TOTAL,
    PATIENTS_AND_CONTROLS, ARMS_IN_OUTCOME_COUNTS, *SAMPLE_RULES,
)  # fmt: skip


def read(rule: FactRule, text: str) -> int | None:
    """The count one sample-size rule reads from `text`, None when it reads none."""
    if rule is ARMS_IN_OUTCOME_COUNTS:
        return arms_in_outcome_counts(text)
    if rule.family == "n_randomized":
        return first_count([rule.pattern], text, _RANDOMIZED_NEEDLES)
    if rule.family == "n_enrolled":
        return first_count([rule.pattern], text, _ENROLLED_NEEDLES)
    if rule is SPLIT_TOTAL:
        return split_total(text)
    if rule is PATIENTS_AND_CONTROLS:
        return patients_and_controls(text)
    found = re.search(rule.pattern, text, rule.flags)
    if found is None:
        return None
    return parse_count(found["n"] or found.groupdict().get("total") or "0") or None
