"""A study's arms as data: each arm the abstract names, with its words and span, role, drug, dose,
route and sizes, and each effect pointed at the arm (and comparator arm) it is about.

Arms come from two places: the trial facts' arms ("esketamine (n = 114)") and the arms the
effect rules read in each effect's sentence ("esketamine vs placebo"). Mentions that name the
same group (the same drug and dose words after folding ESK/PBO/AD) are one arm. A single-group
study (open label, case series, a treated one-drug cohort) has one arm more: its treatment as
the methods first name it, with the study's N, and its within-arm results that name no arm.
Nothing is guessed: a dose is read only from the arm's own words, a size only where the text
gives it, and no other design gets an arm its words do not name.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass

from pipeline import vocab
from pipeline.extract.effects import _ARM_MENTION_RE, Effect

# A dose as written: ".5 mg/kg" is 0.5 (a decimal without its leading zero), never 5.
DOSE_RE = re.compile(
    r"(?<![\w.])(?P<value>\d+(?:\.\d+)?|\.\d+)\s?-?(?P<unit>mg/kg|µg/kg|mcg/kg|mg|µg|mcg)\b",
    re.IGNORECASE,
)
_SIDES_RE = re.compile(r"\s(?:vs\.?|versus|v\.|compared (?:with|to))\s", re.IGNORECASE)
_NOISE = frozenset(
    [
        "the", "a", "an", "group", "groups", "arm", "arms", "patients", "participants",
        "treated", "assigned", "receiving", "with", "plus", "and", "or", "of", "in", "for", "to",
        "ns", "nasal", "spray", "therapy", "dose", "doses", "who", "received",
    ]
)  # fmt: skip
# Words before an arm's name that are not part of it ("randomized to esketamine 56 mg").
_LEADING_RE = re.compile(
    r"^(?:(?:were|was|then)\s)?(?:randomi[sz]ed|randomly\sassigned|assigned|allocated|received)"
    r"\s(?:to\s)?(?:receive\s)?(?:the\s|an?\s)?",
    re.IGNORECASE,
)
_DRUG_RES = [(d.code, re.compile(d.pattern, re.IGNORECASE)) for d in vocab.DRUGS]
_COMPARATOR_RES = [
    (c.code, re.compile(c.pattern, re.IGNORECASE)) for c in vocab.COMPARATORS if c.pattern
]
_ROUTE_RES = [
    (r.code, re.compile(r.pattern, re.IGNORECASE), tuple(n.lower() for n in r.needles))
    for r in vocab.ROUTES
]
# "lower ... by", "higher ... by": the words a difference's direction is written in.
_DIRECTION_WORDS = {
    "lower": "lower", "less": "lower", "smaller": "lower", "fewer": "lower",
    "higher": "higher", "greater": "higher", "larger": "higher", "more": "higher",
}  # fmt: skip
_DIRECTION_RE = re.compile(
    r"\b(?P<word>lower|higher|greater|larger|smaller|less|more|fewer)\b[^.;()]{0,80}\bby\s*$",
    re.IGNORECASE,
)
_TIMEPOINT_RE = re.compile(
    r"(?:(?P<unit1>minute|min|hour|h|hr|day|week|wk|month|year)s?\s?(?P<n1>\d+(?:\.\d+)?)\b"
    r"|(?P<n2>\d+(?:\.\d+)?)\s?-?\s?(?P<unit2>minute|min|hour|h|hr|day|week|wk|month|year)s?\b)",
    re.IGNORECASE,
)
# Between a per-arm value and the arm named after it: "40% (12/30) in the esketamine group",
# "6 of 30 (20%) receiving placebo", "50% with ketamine".
_AFTER_ARM_RE = re.compile(
    r"[\])]*(?:\s?[\[(][^\[\]()]{0,25}[\])])?\s?,?\s?(?:of\s(?:the\s)?)?"
    r"(?:(?:patients|participants|subjects)\s)?"
    r"(?:in|with|for|on|among|receiving|treated\swith|given|who\sreceived|assigned\sto)\s"
    r"(?:the\s|those\s(?:receiving|given|on|treated\swith)\s)?",
    re.IGNORECASE,
)
_AFTER_DOSE_RE = re.compile(r"\s?\d*\.?\d+\s?-?(?:mg/kg|mg)\b", re.IGNORECASE)
# Designs with one treated group; an RCT, crossover or post hoc analysis never is one.
SINGLE_GROUP_DESIGNS = ("open_label", "case_report", "observational")
# Where the methods or results begin: the treatment's first mention there is its arm's label.
_METHODS_RE = re.compile(
    r"\b(?:METHODS?|Methods?|MATERIALS AND METHODS|Materials and methods|RESULTS|Results)\s?:"
)
_ROUTE_WORDS = (
    r"(?:intravenous|IV|i\.v\.|intranasal|subcutaneous|s\.c\.|intramuscular|i\.m\.|oral"
    r"|sublingual)"
)
# A cohort that was treated: "patients treated with", "the start of ESK-NS treatment".
_TREATED_RE = re.compile(
    rf"\b(?:treated|treatment|received|receiving|given|underwent|maintained|sessions?"
    rf"|infusions?)\b[^.;]{{0,40}}?(?:{vocab.ANY_KETAMINE_PATTERN})"
    rf"|(?:{vocab.ANY_KETAMINE_PATTERN})[\w\s/.-]{{0,25}}?\b(?:treatment|therapy|sessions?"
    rf"|infusions?)\b|(?:{vocab.ANY_KETAMINE_PATTERN})\S*-treated\b",
    re.IGNORECASE,
)
# Records, claims, reports and surveys of many people, or several cohorts: not one treated group.
_NOT_ONE_TREATED_GROUP_RE = re.compile(
    r"\bdatabases?\b|\bclaims\b|\bsurvey\b|\bpharmacovigilance\b|\bFAERS\b|\bVigiBase\b"
    r"|\bEudraVigilance\b|\bdisproportionality\b|Adverse Event Reporting|\bregistry\b"
    r"|\b(?:two|three|four|five|six|\d+) (?:cohorts|groups|arms)\b",
    re.IGNORECASE,
)
# Words every match of the pattern above holds, for a cheap test before it (see _may_hold).
_NOT_ONE_TREATED_GROUP_WORDS = (
    "database", "claims", "survey", "pharmacovigilance", "faers", "vigibase", "eudravigilance",
    "disproportionality", "adverse event reporting", "registry", "cohorts", "groups", "arms",
)  # fmt: skip
_GROUP_WORDS_RE = re.compile(
    r"\b(?:cohorts?|groups?|arms?|versus|vs\.?|compared (?:with|to))(?!\w)", re.IGNORECASE
)
_GROUP_WORDS = ("cohort", "group", "arm", "versus", "vs", "compared")
# Letters that re.IGNORECASE matches as an ASCII letter but str.lower() leaves as another
# character ("ſ" matches "s", "ı" and "İ" match "i"): a text holding one is always searched.
_CASE_FOLDED_LETTERS = ("ſ", "ı", "İ")
_POPULATION_RES = [
    (p.code, re.compile(p.pattern, re.IGNORECASE), tuple(n.lower() for n in p.needles))
    for p in vocab.POPULATIONS
]


@dataclass
class Arm:
    """One arm of a study as the abstract names it; sizes and dose only where written."""

    arm_id: str
    label: str
    start: int | None
    end: int | None
    role: str
    drug: str | None = None
    dose: float | None = None
    dose_unit: str | None = None
    dose_text: str | None = None
    route: str | None = None
    schedule: str | None = None
    n_randomized: int | None = None
    n_analysed: int | None = None

    def to_dict(self) -> dict:
        """The arm as JSON (the extract-text `trial.arms` entry, with `label` and `n` first)."""
        data = asdict(self)
        return {"label": data.pop("label"), "n": self.n_randomized, **data}


@functools.lru_cache(maxsize=512)
def arm_key(label: str) -> frozenset[str]:
    """What an arm's words mean, for telling mentions apart: lower case, synonyms folded,
    group and joining words dropped, doses as numbers (".5 mg/kg" = "0.5 mg/kg")."""
    low = label.lower()
    words = {format(float(m["value"]), "g") for m in DOSE_RE.finditer(low)}
    for word in re.split(r"[^\w.-]+|(?<=\w)[-/+](?=\w)", DOSE_RE.sub(" ", low)):
        word = word.strip(".-")
        word = vocab.ARM_SYNONYMS.get(word, word)
        if word and word not in _NOISE and word not in ("mg", "kg"):
            words.add(word)
    return frozenset(words)


@functools.lru_cache(maxsize=512)
def drug_of(label: str) -> str | None:
    """The ketamine form an arm's words name, else the comparator they name, else None."""
    for code, regex in _DRUG_RES:
        if regex.search(label):
            return code
    for code, regex in _COMPARATOR_RES:
        if regex.search(label):
            return code
    if re.search(r"\bAD\b|antidepressant", label):
        return "antidepressant"
    return None


@functools.lru_cache(maxsize=512)
def dose_of(label: str) -> tuple[float | None, str | None, str | None]:
    """(value, unit, words as written) of the one dose an arm's words give, else Nones."""
    found = list(DOSE_RE.finditer(label))
    if len(found) != 1:
        return None, None, None
    match = found[0]
    return float(match["value"]), match["unit"].lower().replace("mcg", "µg"), match.group(0)


def _the_one_named(text: str, patterns) -> str | None:
    """The code of the one (code, regex, needles) entry that `text` names, else None; a regex is
    tried only where one of its lower-case needles occurs."""
    low = text.lower()
    found = [
        code
        for code, regex, needles in patterns
        if any(n in low for n in needles) and regex.search(text)
    ]
    return found[0] if len(found) == 1 else None


@functools.lru_cache(maxsize=512)
def _route_of(label: str) -> str | None:
    return _the_one_named(label, _ROUTE_RES)


def sides(arm: str | None) -> list[str]:
    """The one or two arm labels an effect's arm words hold ("A vs B" -> ["A", "B"])."""
    if not arm:
        return []
    return [part.strip() for part in _SIDES_RE.split(f" {arm} ") if part.strip()][:2]


class _Arms:
    """The arms of one abstract, found or added by label."""

    def __init__(self, pmid: str, abstract: str) -> None:
        self.pmid, self.abstract, self.arms = pmid, abstract, []
        self.keys: list[frozenset[str]] = []

    def find(self, label: str) -> Arm | None:
        key = arm_key(label)
        if not key:
            return None
        exact = [arm for arm, k in zip(self.arms, self.keys, strict=True) if k == key]
        if exact:
            return exact[0]
        wider = [arm for arm, k in zip(self.arms, self.keys, strict=True) if key < k]
        return wider[0] if len(wider) == 1 else None

    def add(self, label: str, near: int = 0, n: int | None = None) -> Arm | None:
        """The arm `label` names (added when new); its span is where the words first occur
        from `near` on (else anywhere), None when they are not in the abstract verbatim."""
        label = _LEADING_RE.sub("", label.strip()).strip()
        found = self.find(label)
        if found is not None:
            if found.n_randomized is None and n is not None:
                found.n_randomized = n
            return found
        drug = drug_of(label)
        if not arm_key(label) or (drug is None and vocab.role_of(None, label) != "placebo"):
            return None  # a total, a cohort or an age band: not a treatment arm
        start, end = self._span(label, near)
        dose, unit, dose_text = dose_of(label)
        arm = Arm(
            arm_id=f"{self.pmid}:{len(self.arms) + 1}",
            label=label,
            start=start,
            end=end,
            role=vocab.role_of(drug, label),
            drug=drug,
            dose=dose,
            dose_unit=unit,
            dose_text=dose_text,
            route=_route_of(label),
            n_randomized=n,
        )
        self.arms.append(arm)
        self.keys.append(arm_key(label))
        return arm

    def _span(self, label: str, near: int) -> tuple[int | None, int | None]:
        """Where `label` occurs as whole words (never inside a word: "ketamine" is not found in
        "esketamine"), first from `near` on, else anywhere; case as written, else folded."""
        for flags in (0, re.IGNORECASE):
            regex = _whole_words(label, flags)
            match = regex.search(self.abstract, near) or regex.search(self.abstract)
            if match:
                return match.start(), match.end()
        return None, None


@functools.lru_cache(maxsize=256)
def _whole_words(label: str, flags: int) -> re.Pattern:
    """`label` as whole words: not inside a longer word."""
    return re.compile(rf"(?<!\w){re.escape(label)}(?!\w)", flags)


def study_structure(
    pmid: str, abstract: str, trial, effects: list[Effect], title: str = ""
) -> list[Arm]:
    """The study's arms, and each effect's `arm_id`, `comparator_arm_id`, `timepoint_days`,
    `direction` and `population` set in place."""
    arms = _Arms(pmid, abstract)
    _arms_named_after(effects)
    for stated in trial.arms:
        arms.add(str(stated["label"]), n=stated.get("n"))
    single = _single_group_arm(arms, title, abstract, trial, effects)
    for effect in effects:
        named = sides(effect.arm)
        found = [arms.add(label, near=effect.sentence_start) for label in named]
        if found and found[0] is not None:
            effect.arm_id = found[0].arm_id
        if len(found) == 2 and found[1] is not None and found[1] is not found[0]:
            effect.comparator_arm_id = found[1].arm_id
        effect.timepoint_days = timepoint_days(effect.timepoint)
        effect.direction = direction(effect)
        effect.population = population_in(effect.sentence)
    if single is not None:
        _point_at_the_one_arm(single, effects)
    _point_signals_at_the_drug(arms, title, abstract, trial, effects)
    _complete(arms.arms, trial, effects)
    return arms.arms


def _single_group_arm(arms: _Arms, title: str, abstract: str, trial, effects) -> Arm | None:
    """The one arm of a single-group study (open label, case series, a one-treatment cohort of
    one ketamine form, with no comparator, no second arm and no comparison in its words), added
    as the abstract first names the treatment in its methods or results; else None."""
    drugs = trial.drug or []
    if (
        trial.design not in SINGLE_GROUP_DESIGNS
        or len(drugs) != 1
        or trial.comparator
        or len(trial.arms) > 1
        or _SIDES_RE.search(f" {title} ")
    ):
        return None
    drug = drugs[0]
    for effect in effects:
        named = sides(effect.arm)
        if len(named) > 1 or any(drug_of(label) != drug for label in named):
            return None  # a second group named beside a result
    if trial.arms:
        return arms.add(str(trial.arms[0]["label"]))
    found = _first_treatment_mention(abstract, drug)
    if found is None:
        return None
    text = f"{title} {abstract}"
    if trial.design != "open_label" and (
        not _TREATED_RE.search(abstract)
        or (
            _may_hold(text, _NOT_ONE_TREATED_GROUP_WORDS) and _NOT_ONE_TREATED_GROUP_RE.search(text)
        )
        or _compared_with_another_treatment(text)
    ):
        return None  # people who may not have had the drug, records of many, or other treatments
    section = _METHODS_RE.search(abstract)
    methods_on = min(found[1], section.end()) if section else found[1]
    if any(code != drug and regex.search(abstract, methods_on) for code, regex in _DRUG_RES):
        return None  # a second ketamine form in the methods or results
    arm = arms.add(found[0], near=found[1], n=trial.n_randomized)
    return arm if arm is not None and arm.drug == drug else None


# A disproportionality analysis of spontaneous reports (FAERS, VigiBase, ...): each signal it
# gives (ROR, PRR, IC, EBGM) is its drug's reports set against every other drug's.
_REPORTS_DATABASE_RE = re.compile(
    r"\b(?:FAERS|adverse event reporting system|VigiBase|EudraVigilance|pharmacovigilance"
    r"|disproportionality)\b",
    re.IGNORECASE,
)
_SIGNAL_RE = re.compile(
    r"\W*(?:ROR|PRR|IC(?:025)?|EBGM|EB05|reporting odds ratios?|proportional reporting ratios?"
    r"|information components?)\b",
    re.IGNORECASE,
)


_GROUPS_SET_APART_RE = re.compile(
    r"\b(?:compared|relative to|versus|vs\b|than|against|antidepressants?)\b", re.IGNORECASE
)


def _sets_groups_apart(sentence: str) -> bool:
    """Whether a sentence sets a signal's groups against each other ("compared to fluoxetine,
    children ...") or names a comparator (antidepressants, placebo): its signal is then
    not the drug's against every other drug's."""
    return bool(_GROUPS_SET_APART_RE.search(sentence)) or any(
        regex.search(sentence) for _, regex in _COMPARATOR_RES
    )


def _point_signals_at_the_drug(arms: _Arms, title: str, abstract: str, trial, effects) -> None:
    """In a disproportionality analysis of one ketamine form's spontaneous reports, each signal
    that names no arm, in a sentence that sets no groups apart, is that drug's (labelled as the
    abstract first names it)."""
    drugs = trial.drug or []
    signals = [
        e
        for e in effects
        if e.arm_id is None and _SIGNAL_RE.match(e.quote) and not _sets_groups_apart(e.sentence)
    ]
    if not signals or len(drugs) != 1 or not _REPORTS_DATABASE_RE.search(f"{title} {abstract}"):
        return
    found = _first_treatment_mention(abstract, drugs[0])
    arm = arms.add(found[0], near=found[1]) if found else None
    if arm is None or arm.drug != drugs[0]:
        return
    for effect in signals:
        effect.arm_id = arm.arm_id
        effect.arm = effect.arm or arm.label


def _compared_with_another_treatment(text: str) -> bool:
    """Whether a comparator (placebo, ECT, ...) is named as a group the study compares: beside
    "cohort", "group", "arm", "versus" or "compared with" (not as a treatment had before)."""
    if not _may_hold(text, _GROUP_WORDS):
        return False  # no group word for a comparator to stand beside
    for _, regex in _COMPARATOR_RES:
        for match in regex.finditer(text):
            window = text[max(0, match.start() - 40) : match.end() + 40]
            if _GROUP_WORDS_RE.search(window):
                return True
    return False


def _may_hold(text: str, words: tuple[str, ...]) -> bool:
    """A cheap test before a case-insensitive pattern every match of which holds one of
    `words` (lower case): False only when `text` holds none of them, in any case."""
    low = text.lower()
    return any(word in low for word in words) or any(c in text for c in _CASE_FOLDED_LETTERS)


def _first_treatment_mention(abstract: str, drug: str) -> tuple[str, int] | None:
    """(words, offset) of the first mention of `drug` in the methods or results (else in the
    whole abstract), with the route before it and the dose or form right after it."""
    section = _METHODS_RE.search(abstract)
    match = _treatment_re(drug).search(abstract, section.end() if section else 0)
    if match is None and section is not None:
        match = _treatment_re(drug).search(abstract)
    return (match.group(0), match.start()) if match else None


@functools.lru_cache(maxsize=8)
def _treatment_re(drug: str) -> re.Pattern:
    """A mention of `drug` with the route words before it and its form and dose after it."""
    pattern = next(d.pattern for d in vocab.DRUGS if d.code == drug)
    return re.compile(
        rf"(?:{_ROUTE_WORDS}\s)?(?<![\w-])(?:{pattern})(?:[- ](?:NS|nasal spray|infusions?))?"
        r"(?:,?\s(?:\d+(?:\.\d+)?|\.\d+)\s?(?:mg/kg|µg/kg|mcg/kg|mg)\b)?",
        re.IGNORECASE,
    )


def _point_at_the_one_arm(arm: Arm, effects: list[Effect]) -> None:
    """A single-group study's within-arm results that name no arm are its one arm's: rates,
    changes and shares (never a between-group kind, nor an `other` that is not a share)."""
    for effect in effects:
        if effect.arm_id is not None or effect.comparator_arm_id is not None:
            continue
        if effect.kind in vocab.BETWEEN_GROUP_KINDS:
            continue
        if effect.kind == "other" and "%" not in effect.quote and effect.n_events is None:
            continue
        effect.arm_id = arm.arm_id
        if effect.arm is None:
            effect.arm = arm.label


def _arms_named_after(effects: list[Effect]) -> None:
    """A per-arm value the rules left without an arm gets the arm named right after it in its
    clause ("40% (12/30) in the esketamine group"), when only joining words stand between."""
    for index, effect in enumerate(effects):
        if effect.arm is not None or effect.kind in vocab.BETWEEN_GROUP_KINDS:
            continue
        base = effect.sentence_start
        stop = len(effect.sentence)
        following = effects[index + 1] if index + 1 < len(effects) else None
        if following is not None and following.sentence_start == base:
            stop = min(stop, following.start - base)
        stop = min(stop, effect.end - base + 80)
        at = effect.end - base
        joining = _AFTER_ARM_RE.match(effect.sentence, at, stop)
        if not joining:
            continue
        mention = _ARM_MENTION_RE.match(effect.sentence, joining.end(), stop)
        if not mention:
            continue
        dose = _AFTER_DOSE_RE.match(effect.sentence, mention.end(), stop)
        effect.arm = effect.sentence[mention.start() : dose.end() if dose else mention.end()]


def _complete(arms: list[Arm], trial, effects: list[Effect]) -> None:
    """Route and schedule of the one drug arm of a one-route trial; n analysed of an arm whose
    rates all give the same denominator."""
    routes, interventions = trial.route or [], [a for a in arms if a.role == "intervention"]
    for arm in interventions:
        if arm.route is None and len(routes) == 1 and len(set(a.drug for a in interventions)) == 1:
            arm.route = routes[0]
    if len(interventions) == 1 and trial.schedule:
        interventions[0].schedule = trial.schedule
    for arm in arms:
        totals = {
            e.n_total
            for e in effects
            if e.arm_id == arm.arm_id and e.comparator_arm_id is None and e.n_total
        }
        if len(totals) == 1:
            arm.n_analysed = totals.pop()


def timepoint_days(words: str | None) -> float | None:
    """A timepoint's length in days ("day 28" 28, "24 hours" 1, "week 4" 28), None when the
    words give no single time (a range or an unknown unit)."""
    if not words:
        return None
    found = list(_TIMEPOINT_RE.finditer(words))
    if len(found) != 1 or len(re.findall(r"\d+(?:\.\d+)?", words)) != 1:
        return None
    match = found[0]
    number = float(match["n1"] or match["n2"])
    unit = (match["unit1"] or match["unit2"]).lower()
    return number * vocab.TIME_UNITS[unit]


def direction(effect: Effect) -> str | None:
    """'lower' or 'higher' when the words before a difference give its direction ("lower in
    the ketamine group ... by 7.95"), else None (the sign is as written)."""
    if effect.kind not in ("mean_difference", "percent_change", "mean_change"):
        return None
    before = effect.sentence[: max(0, effect.start - effect.sentence_start)]
    match = _DIRECTION_RE.search(before)
    return _DIRECTION_WORDS[match["word"].lower()] if match else None


@functools.lru_cache(maxsize=64)
def population_in(sentence: str) -> str | None:
    """The one vocabulary population an effect's own sentence names, else None."""
    return _the_one_named(sentence, _POPULATION_RES)
