"""Which arm an effect belongs to, from its sentence: an arm named right before a value or
after it ("in the control group (3.5%)", "13.3/8.7 mmHg for X", "of all X-treated patients"),
a pair "X% vs Y%" of a two-arm comparison, a list of values followed by its list of arms, the
shares listed after "the adverse events reported for X (versus Y) were", and between-group
effects "A vs B" (ratios, differences, risk differences, NNH, relative differences in percent);
and the study's one comparison from its title or abstract ("X versus Y", "randomized 1:1 to X
or Y", add-on designs, arms named in brackets), from its two stated arms, or for a review from
its treatment against a control. A list of three values, or an estimate after "than", gets no
pair arm: a wrong arm is worse than none. Where a sentence says what its estimate compares, that
wins over the study's comparison: estimates bracketed after each of a list of treatments, a
comparator named before an estimate's bracket or after "vs." or opening "Compared with X,"; and
an estimate of something else gets none (a predictor's association, people with and without a
characteristic, two doses, times or groups that are no arm)."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from pipeline import vocab
from pipeline.extract.effect_rules.effect import BETWEEN_GROUP_KINDS, Effect
from pipeline.extract.effect_rules.rates import _RATE_RE
from pipeline.extract.effect_rules.reading import _ANCHORED_WINDOW, _CI, _match_end
from pipeline.extract.numbers import NUMBER_RE, SP, UNSIGNED

# Words that name a treatment arm, and a short phrase around one ("esketamine 56 mg",
# "esketamine plus AD", "antidepressant/placebo", "the quetiapine XR").
_ARM_WORD = vocab.ARM_WORD_PATTERN
_ARM_PHRASE = (
    rf"\b(?:[A-Za-z][\w.-]*{SP}){{0,2}}?{_ARM_WORD}(?:{SP}(?:nasal{SP}spray|NS|XR|tablets?))?"
    rf"(?:{SP}?(?:/|\+|plus|and){SP}?(?:an?{SP})?(?:oral{SP})?{_ARM_WORD})?"
    rf"(?:{SP}\d+(?:\.\d+)?{SP}?mg(?:/kg)?)?"
)
_COMPARISON_RE = re.compile(
    rf"(?P<a>{_ARM_PHRASE})(?:-treated)?(?:{SP}(?:group|arm|cohort|patients))?{SP}(?:vs\.?|versus"
    rf"|v\.|compared{SP}(?:with|to)|than(?:{SP}(?:with|in|for))?){SP}(?:the{SP})?(?P<b>{_ARM_PHRASE})",
    _CI,
)
# Between the two values of a pair: "64% vs 28%", "-8.1 ± 10.0 vs -2.5", "24 (26.7%) and 16".
_PAIR_GAP_RE = re.compile(
    rf"(?:{SP}?(?:±{SP}?{UNSIGNED}|[\[(][^\[\]()]{{1,20}}[\])]))?[\])]?{SP}?,?{SP}?"
    rf"(?:vs\.?|versus|v\.|and|compared with){SP}?"
)


# Statistics labelled "other" (no kind of their own) that compare two groups, as a between-
# group kind does: "absolute risk reduction 1.1%", "NNH=17".
_BETWEEN_GROUP_LABELS = frozenset(["risk difference", "number needed to harm"])


# A percentage that is one arm's relative difference from the other: "43.2% more weeks ...
# versus the comparator", "decreased the risk of relapse by 51% ... compared with placebo".
_COMPARED_WITH = rf"\b(?:versus|vs\.?|compared{SP}(?:with|to)|relative{SP}to|than)\b"
_RELATIVE_AFTER_RE = re.compile(
    rf"{SP}?%?{SP}(?:more|fewer|greater|higher|lower|less|reduction|increase|decrease)\b"
    rf"[^;]*?{_COMPARED_WITH}",
    _CI,
)
_RISK_BY_BEFORE_RE = re.compile(rf"\b(?:risk|odds|hazard){SP}of{SP}[\w-]+{SP}by{SP}?$", _CI)
_COMPARED_AFTER_RE = re.compile(_COMPARED_WITH, _CI)


def between_groups(effect: Effect) -> bool:
    """Whether an effect compares two groups: a between-group kind, a risk difference or
    number needed to harm (kind "other", labelled), or a percent change written as one arm's
    relative difference from the other (see `_RELATIVE_AFTER_RE`, `_RISK_BY_BEFORE_RE`)."""
    if effect.kind in BETWEEN_GROUP_KINDS:
        return True
    if effect.kind == "other":  # also a difference of two shares or rates
        return effect.label in _BETWEEN_GROUP_LABELS or (effect.label or "").startswith(
            "difference in "
        )
    if effect.kind != "percent_change":
        return False
    start = effect.start - effect.sentence_start
    end = start + len(effect.quote)
    value_end = next(
        (m.end() for m in reversed(list(NUMBER_RE.finditer(effect.sentence, start, end)))), end
    )
    if _RELATIVE_AFTER_RE.match(effect.sentence, value_end):
        return True
    before = effect.sentence[max(0, start - 60) : start]
    return bool(
        _RISK_BY_BEFORE_RE.search(before) and _COMPARED_AFTER_RE.search(effect.sentence, end)
    )


_ARM_WORD_RE = re.compile(_ARM_WORD, _CI)
# The same words in lower-cased text (which holds no ASCII capital): a case-sensitive scan, faster.
_ARM_WORD_LOWER_RE = re.compile(_ARM_WORD.lower(), re.ASCII)
_ARM_MODIFIERS = frozenset(
    ["oral", "intranasal", "intravenous", "iv", "subcutaneous", "racemic", "active", "matching"]
)


def _arm_name(phrase: str) -> str | None:
    """The arm as the text names it, from its first treatment word ("lower with ketamine" ->
    "ketamine"), keeping a route or formulation word just before it ("oral ketamine")."""
    first = _ARM_WORD_RE.search(phrase)
    if not first:
        return None
    before = phrase[: first.start()].split()
    kept = before[-1:] if before and before[-1].lower() in _ARM_MODIFIERS else []
    name = " ".join([*kept, phrase[first.start() :].strip()])
    if name[:2].istitle():
        name = name[0].lower() + name[1:]  # "Esketamine" opening a title: "esketamine"
    return name or None


_ARM_WORD_BOUNDED = rf"\b{_ARM_WORD}\b"
# One arm as a sentence names it: "ketamine", "esketamine/antidepressant", "esketamine+AD",
# "propofol-ECT", "esketamine and antidepressant group" ("and" joins only before "group").
_ARM_MENTION_RE = re.compile(
    rf"{_ARM_WORD_BOUNDED}(?:(?:{SP}?(?:/|\+|-){SP}?|{SP}plus{SP}(?:an?{SP})?(?:oral{SP})?)"
    rf"{_ARM_WORD_BOUNDED}|{SP}and{SP}{_ARM_WORD_BOUNDED}(?={SP}(?:group|arm)\b))?",
    _CI,
)
_ARM_CANONICAL = vocab.ARM_SYNONYMS
_COMPARED_BEFORE_RE = re.compile(
    rf"(?:compared{SP}(?:to|with)|relative{SP}to|versus|vs\.?|than){SP}(?:the{SP})?$",
    _CI,
)


_CONTROLS = frozenset(["placebo", "midazolam", "ect", "antidepressant", "quetiapine"])


def _arm_key(name: str) -> frozenset[str]:
    """What an arm name means, for telling two mentions apart: "ESK+AD" = "esketamine plus AD"."""
    words = _ARM_WORD_RE.findall(name)
    return frozenset(_ARM_CANONICAL.get(w.lower(), w.lower()) for w in words)


def _sentence_arms(text: str, found: list[re.Match]) -> tuple[str, str] | None:
    """The two arms a sentence compares, first arm first, or None when it names not exactly two.

    `found` are the sentence's arm mentions (`_ARM_MENTION_RE`). "A vs B" (or "A compared
    with B", "A than B") decides the order where it is written; otherwise the order of first
    mention, unless the first mention follows "compared with" ("Compared with placebo,
    esketamine had higher response (64% vs 28%)").
    """
    if len(found) < 2:
        return None
    low = text.lower()
    if any(word in low for word in (" vs", "versus", " than ", "compared", " v. ")):
        # the comparison's first arm may start two words before the first mention
        comparison = _COMPARISON_RE.search(text, max(0, found[0].start() - 40))
        if comparison:
            first, second = _arm_name(comparison["a"]), _arm_name(comparison["b"])
            if first and second and _arm_key(first) != _arm_key(second):
                return first, second
    if "mg" in text:
        return None  # several doses of one drug: more arms than mentions
    mentions: dict[frozenset[str], tuple[int, str]] = {}
    for match in found:
        if text.startswith("-", match.end()) and text[match.end() + 1 : match.end() + 2].isdigit():
            continue  # "KET01-03": a trial's name
        if _LABEL_AFTER_RE.match(text, match.end()):
            continue  # "ketamine: RR = 0.72": a subgroup's label, not one side of a comparison
        mentions.setdefault(_arm_key(match.group()), (match.start(), match.group()))
    if len(mentions) != 2:
        return None
    (first_at, first), (_, second) = sorted(mentions.values())
    if _COMPARED_BEFORE_RE.search(text, max(0, first_at - 20), first_at):
        first, second = second, first
    return first, second


# An arm named right before its value: "ESK (4.5%)", "placebo 31.0%", "ketamine: RR = 0.72",
# "esketamine 28 mg: -4.2", "esketamine-treated patients (57.1%)".
_ARM_BEFORE_RE = re.compile(
    rf"(?<![\w-])(?P<arm>{_ARM_MENTION_RE.pattern}(?:{SP}\d+(?:\.\d+)?{SP}?mg(?:/kg)?)?)"
    rf"(?:-(?:treated|assigned))?(?:{SP}(?:group|arm|patients|participants))?"
    rf"{SP}?[:,]?{SP}?[\[(]?{SP}?$",
    _CI,
)


_LABEL_AFTER_RE = re.compile(rf"{SP}?:")
_RESPECTIVELY_RE = re.compile(rf"(?:{SP}?[\[(][^\[\]()]{{1,20}}[\])])?[\])]*,?{SP}respectively")
_LABELLED_BEFORE_RE = re.compile(rf"[\w)]{SP}?:{SP}?$")
_LIST_GAP_RE = re.compile(
    rf"(?:{SP}?[\[(][^\[\]()]{{1,20}}[\])])?{SP}?(?:,{SP}?(?:and{SP})?|{SP}and{SP})"
)
_ARM_LIST_RE = re.compile(
    rf"[\])]*,?{SP}(?:for|in){SP}(?:the{SP})?(?P<items>(?:vs\.|[^;.()]){{1,120}}?)"
    rf"(?:(?:{SP}(?:dose{SP})?(?:groups|arms|cohorts))?(?:,?{SP}respectively)?(?=[;.)]|$)"
    rf"|{SP}(?:dose{SP})?(?:groups|arms|cohorts)(?={SP}?[\[(]))"
)
_DOSE_ITEM_RE = re.compile(rf"\d+(?:\.\d+)?{SP}?-?mg")


_VERSUS_RE = re.compile(rf"{SP}(?:vs\.?|versus){SP}")


def _comparison_name(text: str) -> str:
    """ "esketamine+AD vs. placebo+AD" -> "esketamine+AD vs placebo+AD"."""
    return _VERSUS_RE.sub(" vs ", text.strip())


_LIST_SPLIT_RE = re.compile(rf",{SP}?(?:and{SP}|or{SP})?|{SP}(?:and|or){SP}")


_NAMED_PAIR_GAP_RE = re.compile(
    rf"[\])]?{SP}?,?{SP}?(?:vs\.?|versus|v\.|compared{SP}with|and){SP}(?P<rest>.{{1,60}})"
)


def _arm_before(
    text: str, start: int, found: list[re.Match], *, after_versus: bool = False
) -> str | None:
    """The arm written directly before an effect's span (within a few words), or None.

    `found` are the sentence's arm mentions; the arm must start at the last one before the
    span. An arm that follows "compared with", "than" or "vs" counts only with `after_versus`
    (the second value of a pair: "esketamine 52.5% vs placebo 31.0%")."""
    last = bisect_right(found, start, key=_match_end) - 1  # `found` is in text order
    if last < 0 or start - found[last].end() > 40:
        return None
    match = _ARM_BEFORE_RE.match(text, found[last].start(), start)
    if not match:
        return None
    if not after_versus and _COMPARED_BEFORE_RE.search(
        text, max(0, match.start() - 20), match.start()
    ):
        return None
    return match["arm"]


def assign_arms(
    effects: list[Effect], first: str, second: str, skip: set[int] | frozenset = frozenset()
) -> None:
    """Give effects without an arm the arms of a two-arm comparison: the values of a pair
    written "X vs Y" (or "X and Y") get `first` and `second`, between-group effects "A vs B".
    Effects whose id is in `skip` are left alone, and so are a list of three or more values
    ("by 58%, 21%, and 37%": more groups than two) and an estimate written after "than" the
    one before it ("higher for the pooled A trials (MD = 4.1) than for the B trials (MD =
    2.1)": the second is B's, not the study's comparison)."""
    joined = [_joined(left, right) for left, right in zip(effects, effects[1:], strict=False)]
    in_pairs = _pairs_listed(effects, joined)
    for left, right in in_pairs:
        if id(left) not in skip and id(right) not in skip and left.arm is None is right.arm:
            left.arm, right.arm = first, second
    for at, (left, right) in enumerate(zip(effects, effects[1:], strict=False)):
        if (
            not joined[at]
            or (at > 0 and joined[at - 1])
            or (at + 1 < len(joined) and joined[at + 1])
        ):
            continue  # not joined as a pair, or part of a longer list
        if id(left) in skip or id(right) in skip:
            continue
        if left.arm is None and right.arm is None and _PAIR_GAP_RE.fullmatch(_gap(left, right)):
            left.arm, right.arm = first, second
    previous: Effect | None = None
    for effect in effects:
        after_than = (
            previous is not None
            and previous.sentence_start == effect.sentence_start
            and _THAN_RE.search(_gap(previous, effect))
        )
        if between_groups(effect):
            previous = effect
        if not between_groups(effect) or id(effect) in skip or after_than:
            continue
        if effect.arm is None or (
            " vs " not in effect.arm
            and _arm_key(effect.arm) == _arm_key(second)
            and _arm_key(second) & _CONTROLS
        ):
            effect.arm = f"{first} vs {second}"
        elif (
            " vs " not in effect.arm
            and not _arm_key(first)
            and first.lower() in effect.arm.lower().split()
        ):
            effect.arm = f"{effect.arm} vs {second}"  # a trial of another treatment
        elif " vs " not in effect.arm and not _arm_key(effect.arm):
            # "for the 56-mg dose" against placebo: "esketamine 56-mg vs placebo"
            effect.arm = f"{first} {effect.arm} vs {second}"
        elif (
            " vs " not in effect.arm
            and _arm_key(effect.arm) == _arm_key(first)
            and _arm_key(second) & _CONTROLS
        ):
            effect.arm = f"{effect.arm} vs {second}"  # "esketamine 28 mg: -4.2" vs placebo


_THAN_RE = re.compile(r"\bthan\b")
# "..., and 3 patients (42.9%)": a later clause counting patients of the same group
_COUNTED_LATER_RE = re.compile(rf",{SP}and{SP}[^,;]{{0,40}}$")
_COUNTED_PATIENTS_RE = re.compile(rf"\d+{SP}(?:patients|participants){SP}?\(")
# The arm written right after a value and its unit (see `_arm_written_after_the_value`).
_ARM_AFTER_UNIT_RE = re.compile(
    rf"(?:/\d+(?:\.\d+)?)?{SP}?mmHg{SP}(?:for|in|with){SP}(?:the{SP})?"
    rf"(?P<arm>{_ARM_MENTION_RE.pattern})(?![\w/+-])"
    rf"|{SP}?%?[\])]?{SP}(?:of{SP}(?:all{SP})?(?:the{SP})?(?:\d+{SP})?)?"
    rf"(?P<treated>{_ARM_MENTION_RE.pattern})-treated{SP}(?:patients|participants)\b",
    _CI,
)
# "The most common adverse events reported for X (combined doses) were ...", "... observed
# with X (versus placebo) were ...": the arm (and its comparator) a list of shares is about.
_EVENTS_FOR_RE = re.compile(
    rf"\b(?:reported|observed|seen|occurring)(?:{SP}most{SP}often)?{SP}(?:for|with|in|among)"
    rf"{SP}(?:the{SP})?(?P<a>[A-Za-z][\w/+-]{{2,}})(?:{SP}(?:group|arm))?{SP}?"
    rf"(?:\((?:combined{SP}doses|(?:versus|vs\.?){SP}(?:the{SP})?(?P<b>[A-Za-z][\w/+-]{{2,}}))\)"
    rf"{SP}?)?,?{SP}(?:were|was|included)\b",
    _CI,
)
_VERSUS_GAP_RE = re.compile(rf"[\])]?{SP}?,?{SP}?(?:vs\.?|versus){SP}?")


def _pairs_listed(effects: list[Effect], joined: list[bool]) -> list[tuple[Effect, Effect]]:
    """The pairs of a list of pairs "69.0% vs 55.3% (MADRS), 64.5% vs 48.9% (SDS), and 77.1% vs
    64.7% (PHQ-9)": a run of joined values whose gaps alternate "vs" (within a pair) and a list
    gap (between pairs), starting and ending with a pair."""
    pairs: list[tuple[Effect, Effect]] = []
    at = 0
    while at < len(joined):
        if not joined[at]:
            at += 1
            continue
        end = at
        while end < len(joined) and joined[end]:
            end += 1
        run = effects[at : end + 1]  # joined[at:end] are its gaps
        gaps = [_gap(left, right) for left, right in zip(run, run[1:], strict=False)]
        if (
            len(run) >= 4
            and len(run) % 2 == 0
            and all(_VERSUS_GAP_RE.fullmatch(gap) for gap in gaps[0::2])
            and not any(_VERSUS_GAP_RE.fullmatch(gap) for gap in gaps[1::2])
        ):
            pairs.extend(zip(run[0::2], run[1::2], strict=True))
        at = end
    return pairs


def _gap(left: Effect, right: Effect) -> str:
    """The words between two effects of one sentence."""
    return left.sentence[left.end - left.sentence_start : right.start - right.sentence_start]


def _joined(left: Effect, right: Effect) -> bool:
    """Whether two effects of one kind and sentence are written side by side as a pair or
    list ("64% vs 28%", "58%, 21%")."""
    if left.sentence_start != right.sentence_start or left.kind != right.kind:
        return False
    gap = _gap(left, right)
    return bool(_PAIR_GAP_RE.fullmatch(gap) or _LIST_GAP_RE.fullmatch(gap))


_RATIO = rf"(?:{SP}(?:\(\d+:\d+\)|\d+:\d+|in{SP}an?{SP}\d+:\d+{SP}ratio))?"
_RANDOMIZED_TO_RE = re.compile(
    rf"\b(?:randomi[sz]ed|randomly{SP}(?:assigned|allocated)|assigned){_RATIO}"
    rf"{SP}to{SP}(?:receive{SP})?(?:either{SP})?(?P<a>{_ARM_PHRASE}){SP}or{SP}(?P<b>{_ARM_PHRASE})",
    _CI,
)
# An add-on design: both arms take the same background treatment, written after them
# ("to esketamine or placebo, each in conjunction with a newly initiated oral antidepressant").
_ADD_ON_AFTER_RE = re.compile(
    rf",?{SP}(?:each|both){SP}(?:in{SP}conjunction{SP}with|combined{SP}with|with|plus"
    rf"|added{SP}to|in{SP}addition{SP}to){SP}(?:an?{SP})?(?:(?:newly{SP})?initiated{SP}|new{SP})?"
    rf"(?:oral{SP})?(?P<c>{_ARM_WORD})\b",
    _CI,
)
# Arms given short names in brackets as they are defined: "randomized (1:1) to esketamine and
# a new oral antidepressant (esketamine/antidepressant) or a new oral antidepressant and
# placebo (antidepressant/placebo)".
_ARM_LABEL = rf"{_ARM_WORD}(?:{SP}?(?:/|\+){SP}?|{SP}plus{SP}){_ARM_WORD}"
_RANDOMIZED_LABELS_RE = re.compile(
    rf"\b(?:randomi[sz]ed|randomly{SP}(?:assigned|allocated)|assigned)\b"
    rf"(?:[^.;()]|\([^.;()]{{1,12}}\)){{0,80}}?\bto{SP}[^.;()]{{1,100}}?\((?P<a>{_ARM_LABEL})\)"
    rf"{SP}or{SP}[^.;()]{{1,100}}?\((?P<b>{_ARM_LABEL})\)",
    _CI,
)


def study_arms(title: str, abstract: str) -> tuple[str, str] | None:
    """The study's one comparison ("esketamine versus quetiapine", "randomized to ketamine or
    midazolam") from its title or abstract; None when it names none or several."""
    found: dict[frozenset, tuple[str, str]] = {}
    for text in (title, abstract):
        low = text.lower()
        for regex, needles, before, after in (
            (_COMPARISON_RE, (" vs", "versus", " than ", "compared", " v. "), 70, 90),
            (_RANDOMIZED_TO_RE, ("random", "assigned"), 0, 150),
            (_RANDOMIZED_LABELS_RE, ("random", "assigned"), 0, 320),
        ):
            for start, end in _windows(low, needles, before, after):
                for match in regex.finditer(text, start, end):
                    first, second = _arm_name(match["a"]), _arm_name(match["b"])
                    if not first or not second or _arm_key(first) == _arm_key(second):
                        continue
                    add_on = regex is _RANDOMIZED_TO_RE and _ADD_ON_AFTER_RE.match(
                        text, match.end()
                    )
                    if add_on and not {_arm_key(add_on["c"])} & {
                        _arm_key(first),
                        _arm_key(second),
                    }:
                        first, second = (
                            f"{first} plus {add_on['c']}",
                            f"{second} plus {add_on['c']}",
                        )
                    found.setdefault(
                        frozenset([_arm_key(first), _arm_key(second)]), (first, second)
                    )
    if len(found) == 1:
        return next(iter(found.values()))
    if found or _ANY_KETAMINE_RE.search(title) or _ANY_KETAMINE_RE.search(abstract):
        return None
    return other_treatment_arms(title, abstract)


_ANY_KETAMINE_RE = re.compile(vocab.ANY_KETAMINE_PATTERN, re.IGNORECASE)
_GROUP_SUFFIX_RE = re.compile(rf"{SP}(?:group|arm)$", re.IGNORECASE)
_PLACEBO_LABEL_RE = re.compile(r"^(?:matching )?(?:placebo|sham|saline|vehicle)$", re.IGNORECASE)


def _treatment_and_placebo(first: str, second: str) -> tuple[str, str] | None:
    """Two stated arms of another treatment: one word naming it and a placebo ("finerenone
    group", "placebo group"), the placebo second; None for any other two labels."""
    first, second = (_GROUP_SUFFIX_RE.sub("", label.strip()) for label in (first, second))
    if _PLACEBO_LABEL_RE.match(first):
        first, second = second, first
    if not _PLACEBO_LABEL_RE.match(second) or not re.fullmatch(_TREATMENT, first):
        return None
    if first.lower() in _NOT_A_TREATMENT or first.lower() in _CONTROL_WORDS:
        return None
    return _as_in_text(first), second


def stated_arms_comparison(labels: list[str]) -> tuple[str, str] | None:
    """The comparison of a study whose facts state exactly two arms of different treatments
    ("esketamine nasal spray (n = 336) or quetiapine extended release (n = 340)"): the
    ketamine arm first, a control second; None for other counts, or two doses of one drug."""
    if len(labels) != 2:
        return None
    first, second = labels
    if not _arm_key(first) or not _arm_key(second):
        return _treatment_and_placebo(first, second)
    if _arm_key(first) == _arm_key(second):
        return None
    if _arm_key(first) & _CONTROLS and not _ANY_KETAMINE_RE.search(first):
        first, second = second, first
    return first, second


# One word naming a treatment in a trial of another drug: "edoxaban", "SOC", "placebo"
_TREATMENT = r"[A-Za-z][\w-]{2,}"
_NOT_A_TREATMENT = frozenset(
    [
        "patients", "participants", "subjects", "those", "both", "each", "either", "treatment",
        "treatments", "therapy", "therapies", "group", "groups", "arm", "arms", "study",
        "studies", "trial", "trials", "baseline", "before", "after", "the", "this", "that",
        "which", "other", "others", "older", "younger", "women", "men", "male", "female",
        "high", "low", "higher", "lower", "early", "late", "week", "weeks", "day", "days",
        "month", "months", "year", "years", "time", "respectively", "intervention",
        "interventions", "receive", "received", "receiving", "active", "usual", "standard",
        "current", "previous", "conventional",
    ]
)  # fmt: skip
_CONTROL_WORDS = frozenset(["placebo", "control", "controls", "sham", "soc", "vehicle", "saline"])
# "Edoxaban versus Warfarin for ...", "tocilizumab compared with SOC"
_TREATMENT_VERSUS_RE = re.compile(
    rf"\b(?P<a>{_TREATMENT})(?:{SP}(?:groups?|arms?))?{SP}(?:versus|vs\.?|v\.|compared{SP}"
    rf"(?:with|to)){SP}(?:the{SP})?(?P<b>{_TREATMENT})\b"
)
# The forms that say what each arm was given: with these, a control word on one side is enough
_ASSIGNED_ONE_OF_TWO_RES = (
    # "randomly assigned to receive colchicine or placebo", "to receive evolocumab (either 140
    # mg every 2 weeks or 420 mg monthly) or matching placebo": the regimen may follow in brackets
    re.compile(
        rf"\b(?:randomi[sz]ed|randomly{SP}(?:assigned|allocated)|assigned)(?:{SP}\([\d:]+\))?"
        rf"(?:{SP}in{SP}an?{SP}[\d:]+{SP}ratio)?{SP}to{SP}(?:receive{SP})?(?:either{SP})?"
        rf"(?:oral{SP}|intravenous{SP})?(?P<a>{_TREATMENT})(?:{SP}\([^()]{{1,80}}\))?{SP}or{SP}"
        rf"(?:matching{SP})?(?P<b>{_TREATMENT})\b",
        re.IGNORECASE,
    ),
    # "172 adults scheduled for surgery received colchicine or placebo"
    re.compile(
        rf"\breceived{SP}(?:either{SP})?(?P<a>{_TREATMENT})(?:{SP}\([^()]{{1,80}}\))?{SP}or{SP}"
        rf"(?:matching{SP})?(?P<b>{_TREATMENT})\b",
        re.IGNORECASE,
    ),
)
_OTHER_COMPARISON_RES = (_TREATMENT_VERSUS_RE, *_ASSIGNED_ONE_OF_TWO_RES)
_GROUP_NAME_RE = re.compile(rf"\b(?:in|the){SP}(?P<a>{_TREATMENT}){SP}(?:group|arm)\b")


# "Treatment of ... with dabigatran or warfarin": a title naming the two treatments
_TITLE_WITH_RE = re.compile(
    rf"\b(?:with|of){SP}(?P<a>{_TREATMENT}){SP}(?:or|versus|vs\.?){SP}(?P<b>{_TREATMENT})\b"
)


def other_treatment_arms(title: str, abstract: str) -> tuple[str, str] | None:
    """The one comparison of a trial of another treatment, for an abstract that names no
    ketamine form: "X versus Y" (or "with X or Y") in its title, else "randomized to X or Y",
    else "X versus Y" in its abstract where both name arms, else exactly two arms named "in the
    X group"; the control second."""
    names: dict[str, str] = {}
    for match in _GROUP_NAME_RE.finditer(abstract):
        if match["a"].lower() not in _NOT_A_TREATMENT:
            names.setdefault(match["a"].lower(), match["a"])

    def names_an_arm(word: str) -> bool:
        return word.lower() in _CONTROL_WORDS or word.lower() in names

    for text, regexes in (
        (title, (*_OTHER_COMPARISON_RES, _TITLE_WITH_RE)),
        (abstract, _OTHER_COMPARISON_RES),
    ):
        for regex in regexes:
            for match in regex.finditer(text):
                if not _whole_phrases(text, match):
                    continue
                pair = _treatment_pair(match["a"], match["b"])
                assigned = (
                    regex in _ASSIGNED_ONE_OF_TWO_RES and pair and pair[1].lower() in _CONTROL_WORDS
                )
                if pair and (text is title or assigned or all(names_an_arm(word) for word in pair)):
                    return pair
    return _treatment_pair(*names.values()) if len(names) == 2 else None


# A review's one comparison: its treatment against a control, as its methods or results write
# it ("RCTs comparing metformin with placebo or no treatment", "colchicine versus standard of
# care", "Compared with placebo, adjunctive esketamine ...", "the drug group showed better
# results than the control group", "allocated to colchicine and 3591 received placebo").
_REVIEW_CONTROL = (
    r"(?:placebo(?:/no treatment)?|controls?(?: groups?)?|sham|no treatment|usual care"
    r"|standard(?: of)? care)"
)
_REVIEW_TREATMENT = (
    rf"(?:(?:low|high)-dose{SP})?(?P<a>[A-Za-z][\w-]{{3,}})(?:{SP}(?:nasal{SP}spray|NS)\b)?"
)
_REVIEW_COMPARISON_RES = (
    re.compile(
        rf"\bcompar(?:ing|ed|es){SP}(?:the{SP})?"
        rf"(?:(?:use|effects?|effectiveness|efficacy|impact){SP}of{SP}(?:using{SP})?)?"
        rf"{_REVIEW_TREATMENT}(?:{SP}(?:treatment|therapy))?(?:{SP}\([^()]{{1,60}}\))?{SP}"
        rf"(?:with|to|versus|vs\.?|against|and){SP}(?:an?{SP}|the{SP})?(?P<b>{_REVIEW_CONTROL})\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"{_REVIEW_TREATMENT}(?:{SP}(?:groups?|arms?))?{SP}(?:versus|vs\.?|compared{SP}(?:with|to)"
        rf"|relative{SP}to){SP}(?:the{SP})?(?P<b>{_REVIEW_CONTROL})\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\bcompared{SP}(?:with|to){SP}(?P<b>{_REVIEW_CONTROL}),{SP}(?:(?:adjunctive|intranasal"
        rf"|intravenous|oral){SP})*{_REVIEW_TREATMENT}\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"{_REVIEW_TREATMENT}{SP}(?:groups?|arms?)\b[^.;,()]{{1,50}}?\bthan{SP}(?:in{SP})?"
        rf"(?:the{SP})?(?P<b>{_REVIEW_CONTROL})\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:allocated|assigned|randomi[sz]ed){SP}to{SP}{_REVIEW_TREATMENT}{SP}and\b"
        rf"(?:[^.;]|\.\d){{1,40}}?\breceived{SP}(?P<b>{_REVIEW_CONTROL})\b",
        re.IGNORECASE,
    ),
)
_REVIEW_NEEDLES = (
    ("compar",),
    ("versus", "vs", "compared", "relative to"),
    ("compared",),
    (" than ",),
    ("received",),
)
# The treatment compared with anything ("metformin versus letrozole"): a second comparison.
_ANY_COMPARISON_RE = re.compile(
    rf"\b(?P<a>[A-Za-z][\w-]{{3,}}){SP}(?:versus|vs\.?|compared{SP}(?:with|to)){SP}(?:the{SP})?"
    rf"(?P<b>[A-Za-z][\w-]+)",
    re.IGNORECASE,
)


def review_comparison(title: str, abstract: str) -> tuple[str, str] | None:
    """A review's one comparison of the treatment its title names against a control, from
    its abstract (see `_REVIEW_COMPARISON_RES`); None when it names none, when the treatment
    is not in the title, or when a treatment is compared with several controls or another
    treatment."""
    low_title = f" {title.lower()} "
    found: dict[str, tuple[str, str]] = {}
    low_abstract = abstract.lower()
    for regex, needles in zip(_REVIEW_COMPARISON_RES, _REVIEW_NEEDLES, strict=True):
        if not any(needle in low_abstract for needle in needles):
            continue  # a cheap test first: most abstracts have none of the words
        for match in regex.finditer(abstract):
            treatment = match["a"]
            low = treatment.lower()
            if low in _NOT_A_TREATMENT or low in _CONTROL_WORDS:
                continue
            if not re.search(rf"\b{re.escape(low)}\b", low_title):
                continue
            control = match["b"].lower()
            found.setdefault(low, (_as_in_text(treatment), control))
    if len(found) != 1:
        return None
    (treatment, control), low = next(iter(found.values())), next(iter(found))
    for match in _ANY_COMPARISON_RE.finditer(abstract):
        other = match["b"].lower()
        if match["a"].lower() == low and other not in _CONTROL_WORDS | {
            "placebo/no",
            "standard",
            "usual",
            "no",
            "sham",
        }:
            return None  # the treatment is compared with another treatment too
    return treatment, control


# A review's treatment as its title names it: first ("Corticosteroids in critically ill ...")
# or after "of" ("Efficacy and safety of corticosteroids in ...")
_TITLE_TREATMENT_RE = re.compile(
    rf"^(?P<a>[A-Za-z][\w-]{{3,}})\b|\bof{SP}(?P<b>[A-Za-z][\w-]{{3,}})\b"
)
_NOT_A_TITLE_TREATMENT = frozenset(
    [
        "efficacy", "effect", "effects", "effectiveness", "safety", "use", "role", "impact",
        "association", "comparison", "evaluation", "assessment", "outcomes", "risk", "benefits",
        "systematic", "meta-analysis", "review", "trials", "evidence", "what", "does", "should",
    ]
)  # fmt: skip
# "... (RR 0.58, 95% CI 0.37-0.86) compared with placebo": the control a sentence names
_SENTENCE_CONTROL_RE = re.compile(
    rf"\b(?:compared{SP}(?:with|to)|versus|vs\.?){SP}(?:the{SP})?(?P<b>placebo|controls?|sham"
    rf"|usual{SP}care|standard{SP}of{SP}care)\b",
    re.IGNORECASE,
)


def review_sentence_comparison(title: str, text: str) -> tuple[str, str] | None:
    """For a review with no one comparison: the comparison one sentence makes of the treatment
    its title names against the control it names ("Corticosteroids reduced mortality compared
    to placebo", "The use of corticosteroids showed ... compared with placebo"); None when the
    sentence names no control, or not the title's treatment where a treatment stands (opening
    the sentence, or after "with", "of" or "using")."""
    control = _SENTENCE_CONTROL_RE.search(text)
    if control is None:
        return None
    for match in _TITLE_TREATMENT_RE.finditer(title):
        word = match["a"] or match["b"]
        low = word.lower()
        if low in _NOT_A_TITLE_TREATMENT or low in _NOT_A_TREATMENT or low in _CONTROL_WORDS:
            continue
        stem = re.escape(low[:-1] if low.endswith("s") else low)
        named = re.search(
            rf"(?:^|\b(?:with|of|using){SP})(?:[\w-]+{SP})?(?P<t>{stem}s?)\b", text, re.IGNORECASE
        )
        if named:
            return _as_in_text(word), control["b"].lower()
    return None


# What may follow the second treatment of a comparison: its noun phrase has ended
_PHRASE_ENDS_RE = re.compile(
    rf"$|[\s]*[,.;:()\[\]]|{SP}(?:for|in|among|on|to|after|before|during|with|alone|plus|and|or"
    rf"|as|at|group|arm|was|were|is|in)\b",
    re.IGNORECASE,
)
# What may come before the first: its noun phrase starts there
_PHRASE_STARTS_RE = re.compile(
    rf"(?:^|[,.;:()\[\]]{SP}?|\b(?:of|with|and|between|the|receive|received|either|to|plus|oral"
    rf"|intravenous){SP})$",
    re.IGNORECASE,
)


def _whole_phrases(text: str, match: re.Match) -> bool:
    """Whether both treatments of a comparison are whole phrases, not the head or tail of a
    longer one ("anticoagulants versus vitamin K antagonists" names no "vitamin" arm)."""
    return bool(
        _PHRASE_ENDS_RE.match(text, match.end("b"))
        and _PHRASE_STARTS_RE.search(text[max(0, match.start("a") - 12) : match.start("a")])
    )


def _treatment_pair(first: str, second: str) -> tuple[str, str] | None:
    """(treatment, comparator) from two words naming treatments, or None when either is not."""
    low_first, low_second = first.lower(), second.lower()
    if low_first in _NOT_A_TREATMENT or low_second in _NOT_A_TREATMENT or low_first == low_second:
        return None
    if low_first in _CONTROL_WORDS and low_second not in _CONTROL_WORDS:
        first, second = second, first
    return _as_in_text(first), _as_in_text(second)


def _as_in_text(word: str) -> str:
    """A treatment's word as a sentence writes it: "Edoxaban" opening a title is "edoxaban"."""
    return word.lower() if word[:1].isupper() and word[1:].islower() else word


def _windows(low: str, needles: tuple[str, ...], before: int, after: int) -> list[tuple[int, int]]:
    """Spans from `before` characters ahead of a needle to `after` characters past it, where
    an arm is named on both sides (a cheap test that spares most spans the full pattern)."""
    spans = []
    for needle in needles:
        at = low.find(needle)
        while at >= 0:
            start, end = max(0, at - before), at + len(needle) + after
            if _ARM_WORD_LOWER_RE.search(low, at + len(needle), end) and (
                not before or _ARM_WORD_LOWER_RE.search(low, start, at)
            ):
                spans.append((start, end))
            at = low.find(needle, at + 1)
    return spans


_ARM_RE = re.compile(
    rf"^[\])]*{SP}?(?:,{SP})?(?:for|in|with){SP}(?:the{SP})?(?P<arm>(?:[\w/+.-]+{SP}){{0,4}}?"
    rf"[\w/+.-]+?)(?:{SP}(?:group|groups|arm|cohort|dose|dose group))?(?=[,;.)]|{SP}and\b|"
    rf"{SP}vs\b|{SP}compared|{SP}at\b|{SP}versus|$)"
)


# "the Saccharomyces boulardii group (": a group named right before its share's bracket
_GROUP_BEFORE_BRACKET_RE = re.compile(
    rf"\b(?:the{SP})?(?P<group>(?:[\w/+-]+{SP}){{0,3}}?[\w/+-]+){SP}(?:group|arm){SP}?\({SP}?$"
)
# "In the antibiotic group, 70 patients (27.3%) ...": the sentence is about one group; a
# section heading may open it ("RESULTS: In the saline group, ...")
_IN_THE_GROUP_OPENING_RE = re.compile(
    rf"(?:[A-Z][A-Z&/ -]*:+{SP}?)?In{SP}the{SP}(?P<group>(?:[\w/+-]+{SP}){{0,3}}?[\w/+-]+)"
    rf"{SP}(?:group|arm),"
)
# "70 patients (": a count of one group's patients right before its share
_COUNT_BRACKET_RE = re.compile(rf"\b\d+{SP}(?:[\w-]+{SP})?\({SP}?$")
# "1,139 patients (14.3%)": the same count opening the share's own quote
_COUNTED_QUOTE_RE = re.compile(rf"\d[\d,]*{SP}(?:[\w-]+{SP})?\(")
_LEADING_JOINS_RE = re.compile(r"^(?:(?:to|and|or|vs|versus|than|in|of|with|the)\s)+", re.I)
_NOT_ONE_GROUP_RE = re.compile(
    r"\b(?:each|both|all|either|two|three|four|other|same|study|age|patients|participants)\b",
    re.IGNORECASE,
)
# an action named after a value ("in reducing", "for preventing"), not an arm
_GERUND_RE = re.compile(r"[a-z]+ing\b")
_VERSUS_AFTER_RE = re.compile(
    rf"{SP}(?:vs\.?|versus|compared{SP}(?:with|to)){SP}(?:the{SP})?(?P<b>{_ARM_PHRASE})", _CI
)
_PERCENT_SIGN_AFTER_RE = re.compile(rf"{SP}?%")


def _is_share(effect: Effect) -> bool:
    """Whether an effect's value is written as a percentage in its quote ("70 patients
    (27.3%)"), not only its CI's level ("-4.27 95%CI")."""
    if "%" not in effect.quote:
        return False
    for number in NUMBER_RE.finditer(effect.quote):
        digits = re.sub(r"[^\d.]", "", number.group())
        if digits.strip(".") and float(digits) == abs(effect.value):
            return bool(_PERCENT_SIGN_AFTER_RE.match(effect.quote, number.end()))
    return False


# After an arm named beside a value, "and" another name with "group": the arm is both names
# ("in the esketamine and antidepressant group"); with "groups": a list of arms, not one.
_AND_GROUP_AFTER_RE = re.compile(
    rf"{SP}and{SP}(?P<rest>(?:[\w/+.-]+{SP}){{0,2}}?[\w/+.-]+){SP}(?P<word>group|arm|cohort"
    rf"|groups|arms|cohorts)\b"
)


def _arm(text: str, end: int) -> str | None:
    window = text[end : end + 70]
    match = _ARM_RE.match(window)
    if not match:
        return None
    arm = match["arm"].strip()
    joined = _AND_GROUP_AFTER_RE.match(window, match.end("arm"))
    if joined and joined["word"].endswith("s"):
        return None  # "in the esketamine and placebo groups": the value is not one arm's
    if joined:
        arm = f"{arm} and {joined['rest']}"  # "esketamine and antidepressant group"
    if arm.lower() in ("both", "each", "all", "patients", "participants", "those", "this"):
        return None
    if _RATE_RE.search(arm) or (arm[:1].isdigit() and "mg" not in arm):
        return None  # "for remission", "with 57 ...": an outcome or a number, not an arm
    if _GERUND_RE.match(arm) and not window.startswith("the", match.start("arm") - 4):
        return None  # "(RR 0.35) in reducing 30-day mortality": what was achieved, not an arm
    return arm


# "improved with drugx (MD 25.1, ...), antidepressants (MD 54.4, ...), and drugy (MD 21.6)":
# a list of treatments, each followed by its own bracket of estimates. The first is introduced
# by "with", the others follow the previous bracket; each head is a short name.
_HEAD = r"(?P<head>[A-Za-z][\w-]*(?: [A-Za-z][\w-]*){0,3})"
_FIRST_LISTED_HEAD_RE = re.compile(rf"\bwith{SP}{_HEAD}{SP}?$")
_NEXT_LISTED_HEAD_RE = re.compile(rf"^\){SP}?(?:,{SP}?)?(?:(?:and|or){SP})?{_HEAD}{SP}?$")
# "were significantly lower among those with baseline SI (HR = 0.36": a comparison of people
# with a characteristic and people without it, not of the study's treatments
_STRATUM_COMPARED_RE = re.compile(
    rf"\b(?:higher|lower|greater|smaller|increased|reduced|decreased|more|less){SP}"
    rf"(?:[\w-]+{SP}){{0,3}}?(?:among|in){SP}(?:those|patients|participants|individuals|people"
    rf"|subjects){SP}with{SP}(?P<x>[A-Za-z][\w-]*(?:{SP}[A-Za-z][\w-]*){{0,3}}){SP}?[\[(]{SP}?$",
    re.IGNORECASE,
)
# "(36 events [2.1%], vs. 51 events with enoxaparin-vitamin K antagonist [3.0%]": the
# comparator a sentence names itself, after "vs." and a count ("vs. 10 patients with BD" names a
# condition, not a treatment: not read)
_COMPARATOR_NAMED_RE = re.compile(
    rf"\b(?:vs\.?|versus){SP}(?:\d[\d,]*{SP}(?:events?{SP})?)?"
    rf"(?:with|in{SP}the|on){SP}(?P<b>[A-Za-z][\w-]*(?:{SP}[A-Za-z][\w-]*){{0,3}}?)"
    rf"(?:{SP}(?:group|arm))?{SP}?[\[(,;]"
)


def _words(name: str) -> set[str]:
    """The words of an arm name, lower case, for telling two names apart."""
    return {w for w in re.split(r"[^\w]+", name.lower()) if w and w not in ("the", "group", "arm")}


# "Older age was associated with lower odds of response (OR 0.95)", "Female sex predicted
# remission (OR 1.8)": an estimate of a predictor, not of the treatments compared
_PREDICTOR_RE = re.compile(
    r"\b(?:(?:was|were|is|are)(?:\s\w+ly)?\s(?:not\s)?associated\swith|predict(?:ed|s|ive\sof)"
    r"|predictors?\sof)\b",
    re.IGNORECASE,
)


# "more events than women", "Compared with drugy,": a group the sentence compares with, which
# is none of the study's arms when the sentence names none ("short vs long courses (OR ...)" is
# left alone: the treatments' estimate in each subgroup)
_OTHER_GROUP_COMPARED_RE = re.compile(
    rf"(?:\bthan|\b[Cc]ompared{SP}(?:with|to)|\bdiffer(?:ed|s)?{SP}from)"
    rf"{SP}(?:(?:with|in|among|for|at){SP})?(?:the{SP}|those{SP})?"
    rf"(?P<b>[a-z][\w-]+|[A-Z][a-z][\w-]*)\b"  # not an abbreviation ("vs OR: 0.96")
)
# "The 84 mg dose was superior to the 56 mg dose": two doses compared with each other (not
# "0.48 and 0.63 for the 56-mg and 84-mg dose groups", each against the control)
_DOSES_COMPARED_RE = re.compile(
    rf"\b\d+(?:\.\d+)?{SP}?-?mg\b[^.;()]{{0,40}}?\b(?:than|to|versus|vs\.?|compared{SP}(?:with|to))"
    rf"{SP}(?:the{SP})?\d+(?:\.\d+)?{SP}?-?mg\b"
)
# "Compared with drugy, drugx ...": a sentence opening with its own comparator
_COMPARED_OPENING_RE = re.compile(
    rf"(?:[A-Z][A-Z&/ -]*:+{SP}?)?Compared{SP}(?:with|to){SP}(?:the{SP})?(?P<b>[A-Za-z][\w-]+),"
)
# words after "than" or "compared with" that name no group ("than expected", "than baseline")
_NOT_A_COMPARATOR = frozenset(
    [
        "expected", "baseline", "before", "previously", "previous", "prior", "usual", "that",
        "those", "other", "others", "in", "at", "with", "after", "pre-treatment", "pretreatment",
        "one", "two", "three", "half", "twice", "the", "a", "an",
        "placebo", "control", "controls", "sham", "standard", "no", "non-users", "nonusers",
        "untreated", "ever", "predicted", "reported", "observed", "anticipated",
        # words that name the study's own arms in general
        "comparator", "comparators", "intervention", "active", "reference", "patients",
        "participants", "subjects", "group", "groups", "arm", "arms", "treatment", "treatments",
        "therapy", "conventional", "routine", "best",
    ]
)  # fmt: skip


def _names_an_arm(text: str, first: str, second: str) -> bool:
    """Whether a sentence names either side of a comparison, or any arm word."""
    low = text.lower()
    words = (_words(first) | _words(second)) - {"plus", "and", "with", "or"}
    return bool(_ARM_MENTION_RE.search(text)) or any(
        re.search(rf"\b{re.escape(word)}", low) for word in words
    )


# "superior to placebo (", "and to midazolam (", "than with ECT (": the comparator of the
# estimate in the bracket that follows
_COMPARATOR_BEFORE_BRACKET_RE = re.compile(
    rf"\b(?:to|than|over|versus|vs\.?|compared{SP}(?:with|to))(?:{SP}(?:with|in|for))?{SP}"
    rf"(?:the{SP})?(?P<b>{_ARM_MENTION_RE.pattern})(?:{SP}(?:group|arm))?{SP}?$",
    _CI,
)


def against_named(
    effects: list[Effect], comparators: dict[int, str], first: str, second: str, no_arm: set[int]
) -> None:
    """Give a between-group effect whose own comparator is named before its bracket (see
    `_comparator_named_before_the_bracket`) the comparison `first` against that comparator,
    where it is not `second`; where it is `first` itself, no arm (added to `no_arm`)."""
    for effect in effects:
        named = comparators.get(id(effect))
        if named is None or effect.arm is not None or _arm_key(named) == _arm_key(second):
            continue
        if _arm_key(named) == _arm_key(first):
            no_arm.add(id(effect))
        else:
            effect.arm = f"{first} vs {named}"


def sentence_comparison(text: str, first: str, second: str) -> tuple[str, str] | None:
    """The study's comparison `first` vs `second` as it holds in one sentence: unchanged, or
    against the comparator the sentence names itself after "vs." ("vs. 51 events with
    enoxaparin [3.0%]": a second trial's control), or None when the sentence names another
    comparator and not the study's first arm, or when it gives a predictor's estimate ("older
    age was associated with ...", "female sex predicted ...") and names no arm."""
    if (
        ("associated" in text or "predict" in text)
        and _PREDICTOR_RE.search(text)
        and not _names_an_arm(text, first, second)
    ):
        return None
    if "mg" in text and _DOSES_COMPARED_RE.search(text) and not _names_an_arm(text, first, second):
        return None  # two doses compared, the study's arms named in neither
    if " than " in text or "ompared" in text or "differ" in text:
        other = _OTHER_GROUP_COMPARED_RE.search(text)
        if other and other["b"].lower() in _NOT_A_COMPARATOR | _words(first) | _words(second):
            other = None
        opening = other and _COMPARED_OPENING_RE.match(text)
        if other and not _names_an_arm(text, first, second):
            return None  # "men had more events than women (HR 1.5)": two other groups
        if opening and re.search(rf"\b{re.escape(first)}\b", text, re.IGNORECASE):
            return first, opening["b"]  # "Compared with drugy, drugx reduced events"
    if "vs" not in text and "versus" not in text:
        return first, second
    named = _COMPARATOR_NAMED_RE.search(text)
    if named is None or named["b"].lower() in _NOT_A_TREATMENT:
        return first, second
    comparator = named["b"]
    if _words(comparator) & (_words(second) | _words(first)):
        return first, second
    if re.search(rf"\b{re.escape(first)}\b", text, re.IGNORECASE):
        return first, comparator
    return None


class _ArmAssignmentRules:
    """The sentence reader's arm assignment rules (mixed into the reader)."""

    def _treatments_listed_with_their_estimates(self) -> None:
        """Between-group estimates in brackets, each bracket after the treatment it is of, in a
        list that one arm word shows to be a list of treatments ("improved with drugx (MD
        25.1), antidepressants (MD 54.4) and drugy (MD 21.6)"): each estimate is its
        treatment's, against the control the sentence names; with no control named, none."""
        base = self.sentence.start
        brackets: dict[int, list[Effect]] = {}
        for effect in self.effects:
            if effect.arm is not None or id(effect) in self.no_arm or not between_groups(effect):
                continue
            start = effect.start - base
            opening = self.text.rfind("(", 0, start)
            if opening < 0 or ")" in self.text[opening:start]:
                continue
            brackets.setdefault(opening, []).append(effect)
        if len(brackets) < 2:
            return
        heads: dict[int, str] = {}
        previous_close = None
        for opening in sorted(brackets):
            if previous_close is not None:
                head = _NEXT_LISTED_HEAD_RE.match(self.text[previous_close:opening])
            else:
                head = None
            if head is None:
                head = _FIRST_LISTED_HEAD_RE.search(self.text, max(0, opening - 50), opening)
                if head is None or heads:
                    heads = {}  # a bracket outside the list: start again from it
                    if head is None:
                        previous_close = self.text.find(")", opening)
                        continue
            heads[opening] = head["head"]
            previous_close = self.text.find(")", opening)
            if previous_close < 0:
                break
        if len(heads) < 2 or not any(_ARM_WORD_RE.search(h) for h in heads.values()):
            return
        controls = {
            m.group() for m in self.mentions if _arm_key(m.group()) & {"placebo", "control"}
        }
        control = next(iter(controls)) if len(controls) == 1 else None
        for head in heads.values():
            if _arm_key(head) & _CONTROLS and _arm_key(head) & {"placebo"}:
                return  # "with placebo (": the control itself, not a listed treatment
        for opening, head in heads.items():
            for effect in brackets[opening]:
                if control:
                    effect.arm = f"{head} vs {control}"
                else:
                    self.no_arm.add(id(effect))

    def _comparator_named_before_the_bracket(self) -> None:
        """A between-group estimate in brackets right after its own comparator: "superior to
        placebo (SMD 0.8) and to midazolam (SMD 0.4)": the second is against midazolam, whatever
        the sentence's or the study's comparison (see `against_named`)."""
        base = self.sentence.start
        for effect in self.effects:
            if effect.arm is not None or id(effect) in self.no_arm or not between_groups(effect):
                continue
            start = effect.start - base
            opening = self.text.rfind("(", max(0, start - 40), start)
            if opening < 0 or ")" in self.text[opening:start]:
                continue
            named = _COMPARATOR_BEFORE_BRACKET_RE.search(self.text, max(0, opening - 60), opening)
            if named:
                self.comparators[id(effect)] = named["b"]

    def _stratum_compared(self) -> None:
        """A between-group estimate right after "lower among those with X (": people with X
        against people without it, in a sentence that names no arm."""
        base = self.sentence.start
        for effect in self.effects:
            if effect.arm is not None or id(effect) in self.no_arm or not between_groups(effect):
                continue
            start = effect.start - base
            stratum = _STRATUM_COMPARED_RE.search(self.text, max(0, start - 120), start)
            if stratum:
                effect.arm = f"{stratum['x']} vs no {stratum['x']}"

    def _arms_from_comparison(self) -> None:
        """Arms from the sentence: an arm named right before a value ("ESK (4.5%)",
        "placebo 31.0%"), then the sentence's two arms: in a pair "X% vs Y%" the first value
        is the first arm's, and a between-group effect gets "A vs B"."""
        self.mentions = list(_ARM_MENTION_RE.finditer(self.text))
        if self.share_arms:
            self._shares_of_named_arms()
        if " for " in self.text or " with " in self.text or " in " in self.text:
            self._events_reported_for_an_arm()
        if self.mentions and ("mmHg" in self.text or "-treated" in self.text):
            self._arm_written_after_the_value()
        self._arm_lists()
        if self.mentions and self.text.count("(") > 1 and "with" in self.text:
            self._treatments_listed_with_their_estimates()
        if (
            not self.mentions
            and " with " in self.text
            and (" among " in self.text or " in " in self.text)
        ):
            self._stratum_compared()
        if "group (" in self.text or "arm (" in self.text or "In the " in self.text:
            self._group_named_before_a_share()
        if self.mentions:
            self._arms_named_before()
        if len(self.effects) > 1 and self.mentions:
            self._the_same_group_a_clause_later()
        if self.mentions and "(" in self.text:
            self._comparator_named_before_the_bracket()
        arms = _sentence_arms(self.text, self.mentions)
        if arms:
            against_named(self.effects, self.comparators, *arms, self.no_arm)
            assign_arms(self.effects, *arms, skip=self.no_arm)
            return
        base = self.sentence.start
        for left, right in zip(self.effects, self.effects[1:], strict=False):
            if left.arm is None and _RESPECTIVELY_RE.match(self.text, right.end - base):
                # "... for the 0.2 and 0.4 mg/kg groups were -16.8 and -16.9, respectively":
                # the arms are a list written earlier, not the study's two arms
                self.no_arm.update((id(left), id(right)))

    def _shares_of_named_arms(self) -> None:
        """A share whose arm is named beside it, in a sentence that names an arm beside
        another share: "130 patients in the drug group (3.2%) and 146 patients in the control
        group (3.5%)", "12.9% in the drug arm and 32.3% in the control arm". The second share
        is read as the first one's kind, so the arm beside it is read here."""
        base = self.sentence.start
        for effect in self.effects:
            if effect.arm is not None or between_groups(effect):
                continue
            if id(effect) in self.no_arm or "%" not in effect.quote:
                continue
            start, end = effect.start - base, effect.end - base
            token = next(
                (t for t in reversed(self.tokens) if t.percent and start <= t.start < end), None
            )
            if token is not None:
                effect.arm = self._share_of_an_arm(token)

    def _group_named_before_a_share(self) -> None:
        """A share right after the group it is of: "compared to the BQP group (17%)", or in a
        sentence opening "In the antibiotic group, 70 patients (27.3%) ..."."""
        base = self.sentence.start
        opening = _IN_THE_GROUP_OPENING_RE.match(self.text)
        for effect in self.effects:
            if effect.arm is not None or between_groups(effect) or id(effect) in self.no_arm:
                continue
            if not _is_share(effect):
                continue  # not a share: "(Coefficient -4.27 95%CI: ...)"
            start = effect.start - base
            named = _GROUP_BEFORE_BRACKET_RE.search(self.text, max(0, start - 60), start)
            group = named["group"] if named else None
            if (
                group is None
                and opening
                and (
                    _COUNT_BRACKET_RE.search(self.text, max(0, start - 30), start)
                    or _COUNTED_QUOTE_RE.match(effect.quote)
                )
                and not _COMPARED_AFTER_RE.search(self.text, opening.end(), start)
            ):  # "..., compared to 1,211 patients (15.4%)": the other group's count
                group = opening["group"]
            if group:
                group = _LEADING_JOINS_RE.sub("", group.rsplit(" the ", 1)[-1])
            if group and not _NOT_ONE_GROUP_RE.search(group):
                effect.arm = group

    def _the_same_group_a_clause_later(self) -> None:
        """A share counted "and 3 patients (42.9%) achieved remission" a clause after a share
        of a named group ("Four of the 7 esketamine-assigned patients (57.1%) responded") is
        that group's, when the sentence names no other arm."""
        if len({_arm_key(m.group()) for m in self.mentions}) != 1:
            return
        base = self.sentence.start
        named: Effect | None = None
        for effect in self.effects:
            if between_groups(effect):
                continue
            if effect.arm is not None and _arm_key(effect.arm):
                named = effect
            elif (
                named is not None
                and effect.arm is None
                and id(effect) not in self.no_arm
                and _COUNTED_LATER_RE.search(self.text, named.end - base, effect.start - base + 1)
                and _COUNTED_PATIENTS_RE.match(effect.quote)
            ):
                effect.arm = named.arm

    def _arm_written_after_the_value(self) -> None:
        """A value whose arm follows its unit: "13.3/8.7 mmHg for esketamine/antidepressant"
        (both numbers of the pressure), "in 12.8% of all esketamine-treated patients"."""
        base = self.sentence.start
        for effect in self.effects:
            if effect.arm is not None or between_groups(effect) or id(effect) in self.no_arm:
                continue
            after = _ARM_AFTER_UNIT_RE.match(self.text, effect.end - base)
            if after:
                effect.arm = after["arm"] or after["treated"]

    def _events_reported_for_an_arm(self) -> None:
        """Shares listed after "the adverse events reported for X were": each is X's ("nausea
        (24.8%), dizziness (21.7%)"); after "reported for X (versus Y) were", each pair "a%
        versus b%" is X's and Y's, and a lone share is left alone."""
        found = _EVENTS_FOR_RE.search(self.text)
        if found is None or found["a"].lower() in _NOT_A_TREATMENT:
            return
        first, second = _as_in_text(found["a"]), found["b"] and _as_in_text(found["b"])
        base = self.sentence.start
        after = [
            e
            for e in self.effects
            if e.start - base >= found.end() and not between_groups(e) and "%" in e.quote
        ]
        paired: set[int] = set()
        for left, right in zip(after, after[1:], strict=False):
            if _VERSUS_GAP_RE.fullmatch(_gap(left, right)):
                paired |= {id(left), id(right)}
                if second and left.arm is None and right.arm is None:
                    left.arm, right.arm = first, second
        if second is None:
            for effect in after:
                if effect.arm is None and id(effect) not in paired:
                    effect.arm = first

    def _arms_named_before(self) -> None:
        """Per-arm values with their arm written right before them. In a pair "X vs Y" both
        must be named ("esketamine 52.5% vs placebo 31.0%"); a lone value whose arm follows
        "compared with" or "than" is the comparator's, which the rule leaves alone."""
        base = self.sentence.start
        named = {}
        for effect in self.effects:
            if effect.arm is not None:
                continue
            if id(effect) in self.no_arm:
                continue
            arm = _arm_before(self.text, effect.start - base, self.mentions)
            if not between_groups(effect):
                named[id(effect)] = arm
            elif arm and _LABELLED_BEFORE_RE.search(
                self.text, max(0, effect.start - base - _ANCHORED_WINDOW), effect.start - base
            ):
                effect.arm = arm  # "esketamine: RR = 0.43": the estimate of that subgroup
        paired: set[int] = set()
        for left, right in zip(self.effects, self.effects[1:], strict=False):
            if left.kind != right.kind:
                continue
            gap = self.text[left.end - base : right.start - base]
            if _PAIR_GAP_RE.fullmatch(gap):
                paired |= {id(left), id(right)}
            first = named.get(id(left))
            versus = first and _NAMED_PAIR_GAP_RE.fullmatch(gap)
            if versus and _ARM_BEFORE_RE.fullmatch(versus["rest"]):
                # "esketamine 52.5% vs placebo 31.0%": both values named
                paired |= {id(left), id(right)}
                second = _ARM_BEFORE_RE.fullmatch(versus["rest"])["arm"]
                if _arm_key(first) != _arm_key(second):
                    left.arm, right.arm = first, second
        for effect in self.effects:
            if id(effect) not in paired and effect.arm is None and named.get(id(effect)):
                effect.arm = named[id(effect)]

    def _arm_lists(self) -> None:
        """A list of values followed by its list of arms: "(-15.2, -14.5 and -15.3 for
        esketamine 28 mg, 56 mg and placebo groups)", "0.48 and 0.63 for the 56-mg and 84-mg
        dose groups": the i-th value is the i-th arm's; when the lists differ in length (or a
        value of the list is not an effect), the arms stay unknown."""
        base = self.sentence.start
        groups: list[list[Effect]] = [[self.effects[0]]]
        for effect in self.effects[1:]:
            last = groups[-1][-1]
            gap = self.text[last.end - base : effect.start - base]
            if effect.kind == last.kind and _LIST_GAP_RE.fullmatch(gap):
                groups[-1].append(effect)
            else:
                groups.append([effect])
        for group in groups:
            if len(group) < 2:
                continue
            after = _ARM_LIST_RE.match(self.text, group[-1].end - base)
            if not after:
                continue
            items = [i for i in _LIST_SPLIT_RE.split(after["items"].strip()) if i]
            if not all(_ARM_WORD_RE.search(i) or _DOSE_ITEM_RE.match(i) for i in items):
                if not between_groups(group[0]):
                    self.no_arm.update(id(e) for e in group)  # "for men and women": not arms
                continue
            if len(items) == 1 and between_groups(group[0]):
                for effect in group:  # "NNT of 8 and 6 for esketamine vs placebo"
                    effect.arm = _comparison_name(items[0])
                continue
            span_start, span_end = group[0].start - base, group[-1].end - base
            values = [m.start() for m in NUMBER_RE.finditer(self.text, span_start, span_end)]
            values = [v for v in values if not self._overlaps(self.blocked, v, v + 1)]
            positions = [self._value_position(e, values) for e in group]
            if len(items) != len(values) or None in positions:
                self.no_arm.update(id(e) for e in group)
                for effect in group:
                    effect.arm = None
                continue
            drug = next((_ARM_WORD_RE.search(i)[0] for i in items if _ARM_WORD_RE.search(i)), None)
            for effect, position in zip(group, positions, strict=True):
                item = items[position]
                if drug and not _ARM_WORD_RE.search(item) and item[:1].isdigit():
                    item = f"{drug} {item}"  # "56 mg" after "esketamine 28 mg"
                effect.arm = item

    def _value_position(self, effect: Effect, values: list[int]) -> int | None:
        """The index in `values` (number starts) of the number an effect's value is."""
        start, end = effect.start - self.sentence.start, effect.end - self.sentence.start
        first = bisect_left(values, start)  # `values` rise
        return first if first < len(values) and values[first] < end else None
