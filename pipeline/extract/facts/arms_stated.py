"""Arm rules: the arms an abstract states with their sizes ("ketamine (n = 20)", "150 were
assigned to A and 148 to B", "the 7 placebo-assigned patients"), as {"label", "n"}.

Labels are the words as written before each size; totals, age bands and cohorts are not arms.
The arms of `core.arms` (role, drug, dose, route, span) are built from these in
`pipeline.extract.arms`.
"""

from __future__ import annotations

import re

from pipeline.extract.facts.drugs_routes import drugs_in
from pipeline.extract.facts.matching import lower
from pipeline.extract.facts.rule import Example, FactRule
from pipeline.extract.facts.sample_size import _COHORT_WORD_RE
from pipeline.extract.facts.terms import _COMPARATORS, labels
from pipeline.extract.numbers import SP

ARM_N = FactRule(
    "label_then_n",
    "arms",
    "an arm written with its size after it: 'esketamine [n = 122]', 'placebo (n = 33)', "
    "'ESK, n = 316', also after a description in the bracket: 'control (no probiotic; n=59)'; "
    "(N = ...) only when a sentence gives two or more",
    rf"(?P<open>[\[(]|,|\((?P<described>[^()\d=;]{{1,60}});){SP}?n{SP}?={SP}?(?P<n>\d+){SP}?[\])]?",
    ("=",),
    (
        Example(
            "Randomized arms: ketamine (n = 20) and midazolam (n = 21).",
            [("ketamine", 20), ("midazolam", 21)],
        ),
        Example(
            "They were randomly assigned to two groups: control (no probiotic; n=59) and "
            "drugx (drugx tablets; n=58).",
            [("control", 59), ("drugx", 58)],
        ),
    ),
    flags=0,
)
_ARM_N_RE = re.compile(ARM_N.pattern)
_ARM_UPPER_N_RE = re.compile(rf"(?P<open>[\[(]){SP}?N{SP}?={SP}?(?P<n>\d+){SP}?[\])]")
_ARM_LABEL_RE = re.compile(rf"(?P<label>[A-Za-z][\w/+.-]*(?:,?{SP}[\w/+.-]+){{0,4}}?){SP}?$")
ASSIGNED_ARMS = FactRule(
    "n_assigned_to_a_and_n_to_b",
    "arms",
    "two arms in one clause: '336 patients were assigned to the esketamine group and 340 to ...'",
    rf"\b(?P<n1>\d+){SP}(?:patients{SP}|participants{SP})?were{SP}(?:assigned|randomi[sz]ed)"
    rf"{SP}to{SP}(?:the{SP})?(?P<l1>[\w/+ -]+?)(?:{SP}group)?{SP}and{SP}(?P<n2>\d+){SP}to{SP}"
    rf"(?:the{SP})?(?P<l2>[\w/+ -]+?)(?:{SP}group)?(?=[.,;)])",
    ("assigned to", "randomized to", "randomised to"),
    (
        Example(
            "In total 150 were assigned to the ketamine group and 148 to the ECT group.",
            [("ketamine", 150), ("ECT", 148)],
        ),
    ),
    flags=0,
)
_ASSIGNED_ARMS_RE = re.compile(ASSIGNED_ARMS.pattern)


EQUAL_GROUPS = FactRule(
    "k_groups_of_n_each",
    "arms",
    "groups of one size: 'randomized into two groups of 70 patients each', 'divided into three "
    "groups (n = 20 each)'; labelled as the abstract names them ('Group 1 (control group)', or "
    "a list after a colon), else 'group 1', 'group 2', ...",
    rf"\b(?P<k>two|three|four|2|3|4){SP}(?:equal{SP})?(?:groups|arms){SP}(?:of{SP}(?P<n>\d+)"
    rf"(?:{SP}(?:patients|participants|subjects|adults|children|women|men))?{SP}each\b"
    rf"|\({SP}?n{SP}?={SP}?(?P<n2>\d+){SP}(?:each|per{SP}group|in{SP}each){SP}?\))",
    ("each", "per group"),
    (
        Example(
            "In all, 80 adults were randomized into two groups of 40 patients each.",
            [("group 1", 40), ("group 2", 40)],
        ),
        Example(
            "Patients were randomly divided into three groups (n = 25 each): ketamine, "
            "esketamine and saline.",
            [("ketamine", 25), ("esketamine", 25), ("saline", 25)],
        ),
    ),
    flags=re.I,
)
_EQUAL_GROUPS_RE = re.compile(EQUAL_GROUPS.pattern, EQUAL_GROUPS.flags)
_GROUP_NAMED_RE = re.compile(
    rf"\b[Gg]roup{SP}(?P<number>\d|[A-D]){SP}?\((?P<label>[^()]{{2,40}})\)"
)
_LISTED_AFTER_RE = re.compile(rf"\)?{SP}?:{SP}(?P<list>[^.;()]{{3,120}})(?=[.;]|$)")
_EACH_AFTER_RE = re.compile(rf"{SP}?(?:each|per{SP}group|in{SP}each)\b", re.I)
_COUNT_WORDS = {"two": 2, "three": 3, "four": 4}


def _equal_groups(abstract: str) -> list[dict]:
    """Groups of one size, "two groups of 70 patients each" (see EQUAL_GROUPS)."""
    low = lower(abstract)
    if "each" not in low and "per group" not in low:
        return []
    found = _EQUAL_GROUPS_RE.search(abstract)
    if found is None:
        return []
    k = _COUNT_WORDS.get(found["k"].lower()) or int(found["k"])
    n = int(found["n"] or found["n2"])
    named = {m["number"]: m["label"].strip() for m in _GROUP_NAMED_RE.finditer(abstract)}
    listed = _LISTED_AFTER_RE.match(abstract, found.end())
    items = [i for i in re.split(r",\s(?:and\s)?|\sand\s", listed["list"])] if listed else []
    if len(named) == k:
        labels = list(named.values())
    elif len(items) == k and all(len(item.split()) <= 4 for item in items):
        labels = [item.strip() for item in items]
    else:
        labels = [f"group {i}" for i in range(1, k + 1)]
    return [{"label": label, "n": n} for label in labels]


_ARM_SPACE_N_RE = re.compile(rf"(?<=[A-Za-z]){SP}(?P<open>)n{SP}?={SP}?(?P<n>\d+)\b")
# Everything up to the words that assign people to an arm: "Adults were randomly assigned to".
_ASSIGNMENT_WORDS_RE = re.compile(
    r"^.*\b(?<!-)(?:randomi[sz]ed|assigned|allocated|received|receiving|given|treated)"
    r"\s(?:(?:to|with)\s)?(?:receive\s)?(?:either\s)?",
    re.I,
)
_NOT_AN_ARM_RE = re.compile(
    r"^(?:N|total|all|overall)$|\byears?\b|\bolder\b|\byounger\b|\baged?\b|\btrial\b"
    r"|\bstudy\b|\bdesign\b|\bpilot\b",
    re.I,
)
_GROUP_WORD_RE = re.compile(
    r"\b(?:groups?|arms?|placebo|control|sham|saline|usual care|standard care)\b", re.I
)
_P_VALUE_RE = re.compile(rf"\b[Pp]{SP}?[=<>≤]")
_ARM_NAME = r"[\w/+-]+(?:[ ][\w/+-]+){0,5}?"
# "Seventy adults took part: 36 in the usual care arm and 34 in the ketamine arm"
_IN_THE_ARMS_RE = re.compile(
    rf"\b(?:included|enrolled|randomi[sz]ed|took{SP}part|participated|assigned|allocated)\b"
    rf"[^.;]{{0,40}}?[:,]{SP}(?P<list>\d+{SP}in{SP}the{SP}[^.;]+)"
)
_IN_THE_ARM_RE = re.compile(rf"(\d+){SP}in{SP}the{SP}({_ARM_NAME}{SP}(?:arm|group))\b")
# "There were 273 patients in the surgical group and 257 in the antibiotic group", "70 were
# randomized, with 36 in the A group and 34 in the B group": two arms' sizes, after "there were"
# or the words of enrolment, in a sentence that counts no outcome ("12 in the ketamine group and
# 4 in the placebo group had nausea") and no analysed subset ("with 34 in A and 33 in B
# available for analysis")
_TWO_ARMS_IN_THE_RE = re.compile(
    rf"(?:\b[Tt]here{SP}were|\b(?:recruited|enrolled|randomi[sz]ed|included|allocated|assigned)"
    rf"[^.;]{{0,40}}?(?:,{SP}with|:)){SP}(?P<n1>\d[\d,]*){SP}(?:patients{SP}|participants{SP})?"
    rf"in{SP}the{SP}(?P<l1>{_ARM_NAME}{SP}(?:group|arm)){SP}and{SP}(?P<n2>\d[\d,]*){SP}"
    rf"(?:patients{SP}|participants{SP})?in{SP}the{SP}(?P<l2>{_ARM_NAME}{SP}(?:group|arm))\b"
)
_OUTCOME_COUNTED_RE = re.compile(
    r"%|\b(?:had|experienced|reported|developed|died|deaths?|achieved|discontinued|withdrew"
    r"|events?|adverse|remission|response|relapsed?|responded|remitted"
    r"|analy[sz]\w*|evaluable|completed)\b",
    re.I,
)
# "99, 101 and 100 assigned to drug A, drug B, and placebo, respectively"
_RESPECTIVELY_RE = re.compile(
    rf"\b(?P<sizes>\d+(?:,{SP}\d+)*,?{SP}and{SP}\d+){SP}(?:patients{SP}|participants{SP})?"
    rf"(?:were{SP})?(?:allocated|assigned|randomi[sz]ed){SP}to{SP}(?:the{SP})?"
    rf"(?P<labels>[^.;]+?),?{SP}respectively\b"
)
# "20 (5.1%) of 392 patients assigned to ketamine", "30 of the 1279 dabigatran patients",
# "504 of 2833 patients (17.8%) in the finerenone group"
_DENOMINATOR_RE = re.compile(
    rf"\bof{SP}(?:the{SP})?(?P<n>\d[\d,]*){SP}(?:patients|participants|subjects|adults){SP}"
    rf"(?:\([\d.,]+{SP}?%\){SP})?(?:assigned{SP}to|randomi[sz]ed{SP}to|in{SP}the|receiving){SP}(?:the{SP})?"
    rf"(?P<label>[\w/+-]+(?:{SP}(?:group|arm))?)(?=[\s,;.)])"
    rf"|\bof{SP}the{SP}(?P<n2>\d[\d,]*){SP}(?P<label2>[A-Za-z][\w/+-]*){SP}(?:patients"
    rf"|participants)\b"
)
_LEADING_WORDS_RE = re.compile(
    r"^(?:or|and|to|of|in|the|a|(?:a )?(?:single )?(?:intravenous )?dose of)\s", re.I
)


_ARM_SENTENCE_RE = re.compile(r"randomi[sz]|randomly|assigned|groups?\b|arms?\b", re.I)
_SENTENCE_SPLIT_RE = re.compile(r"(?<=\.)\s+(?=[A-Z])")


def stated_arms(abstract: str, design: str | None = None) -> list[dict]:
    """Arms written "label (n = 30)" or "336 ... were assigned to A and 340 to B". Outside
    randomised trials only sentences that speak of groups or arms count, and never those that
    speak of cohorts (cohorts are not arms)."""
    arms = []
    randomized = design in ("rct", "crossover_rct", "post_hoc")
    low = lower(abstract)
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
                and len(_ARM_N_RE.findall(sentence))
                + len(_ARM_UPPER_N_RE.findall(sentence))
                + len(_ARM_SPACE_N_RE.findall(sentence))
                >= 2
            )
        ):
            continue
        if not randomized and _COHORT_WORD_RE.search(sentence):
            continue
        anchors = list(_ARM_N_RE.finditer(sentence))
        if not anchors:
            upper = list(_ARM_UPPER_N_RE.finditer(sentence))
            anchors = upper if len(upper) >= 2 else []
        if not anchors:  # "(aticaprant n = 85, placebo n = 84)": two or more in one sentence
            spaced = list(_ARM_SPACE_N_RE.finditer(sentence))
            anchors = spaced if len(spaced) >= 2 else []
        reports_p = bool(_P_VALUE_RE.search(sentence))
        for match in anchors:
            if _EACH_AFTER_RE.match(sentence, match.end()):
                continue  # "three groups (n = 20 each)": every group's size (EQUAL_GROUPS)
            window = sentence[max(0, match.start() - 60) : match.start()]
            window = re.sub(r"\([^()]*\)\s*$", "", window)
            window = re.split(r"[(\[;:]|\bor\b|\band\b|\bversus\b|\bvs\b", window)[-1]
            found = _ARM_LABEL_RE.search(window)
            if not found:
                continue
            label = _ASSIGNMENT_WORDS_RE.sub("", found["label"].strip(" ,;"))
            label = _LEADING_WORDS_RE.sub("", label)
            if not label or _NOT_AN_ARM_RE.search(label):
                continue  # totals, age bands and the study itself are not arms
            if reports_p and not _GROUP_WORD_RE.search(label) and not _names_a_treatment(label):
                continue  # "latency fell (n = 9; p = 0.01)": the size of an analysis
            label = _TREATED_SUFFIX_RE.sub("", label) or label
            if label.lower() in ("mg", "mg/kg"):  # "esketamine 28 mg (n = 11), 56 mg (n = 11)"
                label = _dose_only_label(window, arms)
                if label is None:
                    continue
            arms.append({"label": label, "n": int(match["n"])})
    if not randomized and len(arms) < 2:
        arms = []  # one size in a study without randomisation is its sample, not an arm
    return (
        arms
        or _assigned_groups(abstract)
        or _listed_arms(abstract, randomized)
        or (_equal_groups(abstract) if randomized else [])
    )


def _names_a_treatment(label: str) -> bool:
    """Whether an arm label names a vocabulary drug or comparator."""
    return bool(drugs_in(label) or labels(_COMPARATORS, label))


def _listed_arms(abstract: str, randomized: bool) -> list[dict]:
    """Arms written as lists: "36 in the usual care arm and 34 in the ketamine arm" after the
    count included, "99, 101 and 100 assigned to A, B, and C, respectively", and in a randomised
    trial "There were 273 patients in the A group and 257 in the B group" (counting no outcome)
    and the denominators "of 392 patients assigned to A ... of 388 patients assigned to B"."""
    low = lower(abstract)
    if "respectively" in low:
        for match in _RESPECTIVELY_RE.finditer(abstract):
            sizes = [int(n) for n in re.findall(r"\d+", match["sizes"])]
            names = [n.strip() for n in re.split(r",\s(?:and\s)?|\sand\s", match["labels"])]
            if len(sizes) == len(names) >= 2 and all(names):
                return [{"label": name, "n": n} for name, n in zip(names, sizes, strict=True)]
    if " in the " in low:
        for match in _IN_THE_ARMS_RE.finditer(abstract):
            parts = _IN_THE_ARM_RE.findall(match["list"])
            if len(parts) >= 2:
                return [{"label": label, "n": int(n)} for n, label in parts]
    if not randomized or (" in the " not in low and " of " not in low):
        return []
    sentences = _SENTENCE_SPLIT_RE.split(abstract)
    if " in the " in low:
        for sentence in sentences:
            two = _TWO_ARMS_IN_THE_RE.search(sentence)
            if two and not _OUTCOME_COUNTED_RE.search(sentence):
                return [
                    {"label": two[f"l{i}"], "n": int(two[f"n{i}"].replace(",", ""))} for i in (1, 2)
                ]
    if " of " not in low:
        return []
    for sentence in sentences:
        found = {}
        for match in _DENOMINATOR_RE.finditer(sentence):
            label = match["label"] or match["label2"]
            size = match["n"] or match["n2"]
            found.setdefault(label.lower(), (label, int(size.replace(",", ""))))
        if len(found) >= 2:
            return [{"label": label, "n": n} for label, n in found.values()]
    return []


_DOSE_AT_END_RE = re.compile(r"(?<![\d.])(?P<dose>(?:\d+(?:\.\d+)?|\.\d+)\s?(?:mg/kg|mg))\s?$")
_DOSE_IN_LABEL_RE = re.compile(r"\s?(?<![\d.])(?:\d+(?:\.\d+)?|\.\d+)\s?(?:mg/kg|mg)\b.*$")


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


_TREATED_SUFFIX_RE = re.compile(
    r"[- ](?:treated|assigned|randomi[sz]ed)(?: patients| participants)?$"
)
# "the 7 placebo-assigned patients", "all 56 esketamine-treated participants"
GROUP_COUNT = FactRule(
    "the_n_drug_assigned_people",
    "arms",
    "arms counted as 'the 7 placebo-assigned patients', when two groups are named so",
    rf"\b(?:the|all){SP}(?P<n>\d+){SP}(?P<label>(?:es|ar)?ketamine|placebo|midazolam|ESK|PBO)"
    rf"-(?:assigned|treated|randomi[sz]ed){SP}(?:patients|participants|subjects)\b",
    ("-assigned", "-treated"),
    (
        Example(
            "Of the 12 ketamine-treated patients and the 11 placebo-treated patients, few left.",
            [("ketamine", 12), ("placebo", 11)],
        ),
    ),
    flags=re.I,
)
_GROUP_COUNT_RE = re.compile(GROUP_COUNT.pattern, GROUP_COUNT.flags)


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


RULES: tuple[FactRule, ...] = (ARM_N, ASSIGNED_ARMS, GROUP_COUNT, EQUAL_GROUPS)


def read(rule: FactRule, text: str) -> list[tuple[str, int]]:
    """The (label, n) arms a randomised trial's `text` states (every arm rule together)."""
    return [(arm["label"], arm["n"]) for arm in stated_arms(text, "rct")]
