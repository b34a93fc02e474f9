"""Arm rules: the arms an abstract states with their sizes ("ketamine (n = 20)", "150 were
assigned to A and 148 to B", "the 7 placebo-assigned patients"), as {"label", "n"}.

Labels are the words as written before each size; totals, age bands and cohorts are not arms.
The arms of `core.arms` (role, drug, dose, route, span) are built from these in
`pipeline.extract.arms`.
"""

from __future__ import annotations

import re

from pipeline.extract.facts.matching import lower
from pipeline.extract.facts.rule import Example, FactRule
from pipeline.extract.facts.sample_size import _COHORT_WORD_RE
from pipeline.extract.numbers import SP

ARM_N = FactRule(
    "label_then_n",
    "arms",
    "an arm written with its size after it: 'esketamine [n = 122]', 'placebo (n = 33)', "
    "'ESK, n = 316'; (N = ...) only when a sentence gives two or more",
    rf"(?P<open>[\[(]|,){SP}?n{SP}?={SP}?(?P<n>\d+){SP}?[\])]?",
    ("=",),
    (
        Example(
            "Randomized arms: ketamine (n = 20) and midazolam (n = 21).",
            [("ketamine", 20), ("midazolam", 21)],
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


RULES: tuple[FactRule, ...] = (ARM_N, ASSIGNED_ARMS, GROUP_COUNT)


def read(rule: FactRule, text: str) -> list[tuple[str, int]]:
    """The (label, n) arms a randomised trial's `text` states (every arm rule together)."""
    return [(arm["label"], arm["n"]) for arm in stated_arms(text, "rct")]
