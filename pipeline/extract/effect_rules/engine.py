"""The sentence reader: splits an abstract into sentences, runs every rule family on each
sentence that may report an effect, fills arms and scales the sentence leaves open, and
quarantines what cannot be output."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from functools import cached_property

from pipeline.extract.effect_rules import rule_modules
from pipeline.extract.effect_rules.adverse import (
    _AdverseRules,
    _may_list_adverse_events,
    _may_name_adverse_event,
)
from pipeline.extract.effect_rules.arm_assignment import (
    _VERSUS_AFTER_RE,
    _arm,
    _arm_name,
    _ArmAssignmentRules,
    against_named,
    assign_arms,
    between_groups,
    sentence_comparison,
)
from pipeline.extract.effect_rules.context import (
    _TIMEPOINT_RE,
    _measured_on_a_scale,
    _scale,
    _scale_matches,
    _subgroup,
    _subgroups,
    _timepoint,
)
from pipeline.extract.effect_rules.differences import _DifferencesRules, _may_change_level
from pipeline.extract.effect_rules.effect import (
    BETWEEN_GROUP_KINDS,
    Effect,
    QuarantinedEffect,
    quarantine_reason,
)
from pipeline.extract.effect_rules.other import (
    _may_compare_arm_values,
    _may_give_times_likely,
    _OtherRules,
)
from pipeline.extract.effect_rules.rates import (
    _may_hold_counts,
    _may_name_event,
    _may_name_rate,
    _Proportions,
    _RatesRules,
)
from pipeline.extract.effect_rules.reading import (
    _CI_NAME_RE,
    _CLAUSE_BREAK_RE,
    _DECIMAL_COMMA_RE,
    _DIGIT_RE,
    _LABELLED_CI_RE,
    _NAME_NUMBER_RE,
    _PERCENT_SIGN_RE,
    _SIGNED_NUMBER_RE,
    _STAT_RE,
    _balanced,
    _number,
    _p_number,
    _Spans,
    _Token,
    _with_thousands,
)
from pipeline.extract.effect_rules.statistics import (
    _OTHER_STATISTICS,
    _STRONG_RE,
    _may_name_statistic,
    _StatisticsRules,
    _strong_kind,
)
from pipeline.extract.numbers import NUMBER_RE, P_VALUE_RE, p_operator
from pipeline.extract.sentences import Sentence, split_sentences


def _may_report_effect(text: str, low: str) -> bool:
    """A cheap test: every rule needs a digit and a %, a signed number or a named statistic
    (or a percentage written in words); `low` is `text` in lower case."""
    if "ercent" in text:
        return True
    if not _DIGIT_RE.search(text):
        return False
    return (
        "%" in text
        or "points" in text
        or " pp" in text
        or "mmHg" in text
        or bool(_SIGNED_NUMBER_RE.search(text))
        or _may_name_statistic(text, low)
        or ((_may_name_rate(low) or _may_name_event(text)) and _may_hold_counts(text))
        or _may_compare_arm_values(text)
        or _may_change_level(text)
        or _may_give_times_likely(text)
    )


def extract_effects(
    abstract: str,
    *,
    study_arms: tuple[str, str] | Callable[[], tuple[str, str] | None] | None = None,
    single_arm: str | None = None,
    study_scale: str | None = None,
    quarantined: list[QuarantinedEffect] | None = None,
    sentence_arms: Callable[[str], tuple[str, str] | None] | None = None,
) -> list[Effect]:
    """Every effect the rules find in `abstract`, in text order, with spans into it.

    Effects that cannot be output (see `quarantine_reason`) are appended to `quarantined`
    instead; pass a list to receive them.

    Arms come from each effect's sentence first; what a sentence leaves open is filled from
    the study when the caller knows it: `single_arm` (a single-arm study's treatment) for every
    effect, else `study_arms` (the study's one comparison, or a function finding it, called
    only when an effect needs it) for pairs and between-group effects, else `sentence_arms` (the
    comparison one sentence makes, from its text, where the study has none). `study_scale` (the one
    depression scale the abstract names) is the scale of efficacy effects whose sentence names
    none: rates, changes and differences, and ratios or NNTs of response, remission or relapse.
    """
    effects: list[Effect] = []
    arms = _Lazy(study_arms)
    printed = abstract
    if "·" in abstract:
        # "0·85" (a decimal point printed as a middle dot) is read as "0.85": one character
        # for one, so every span is the same; quotes are taken from the text as printed
        abstract = _MIDDLE_DOT_POINT_RE.sub(".", abstract)
    for sentence in split_sentences(abstract):
        low = sentence.text.lower()
        if not _may_report_effect(sentence.text, low):
            continue
        extractor = _SentenceExtractor(sentence, low)
        found = extractor.run()
        if quarantined is not None:
            quarantined.extend(extractor.quarantined)
        open_arms = [
            e
            for e in found
            if id(e) not in extractor.no_arm
            and (e.arm is None or (between_groups(e) and " vs " not in e.arm))
        ]
        if single_arm:
            for effect in open_arms:
                if effect.arm is None:
                    effect.arm = single_arm
        elif open_arms and arms.value():
            compared = sentence_comparison(sentence.text, *arms.value())
            if compared:
                against_named(found, extractor.comparators, *compared, extractor.no_arm)
                assign_arms(found, *compared, skip=extractor.no_arm)
        elif open_arms and sentence_arms is not None:
            compared = sentence_arms(sentence.text)
            if compared:
                assign_arms(found, *compared, skip=extractor.no_arm)
        if study_scale:
            for effect in found:
                if id(effect) in extractor.no_scale:
                    continue
                if effect.scale is None and _measured_on_a_scale(effect):
                    effect.scale = study_scale
        effects.extend(found)
    if printed is not abstract:
        _quote_as_printed(printed, effects, quarantined or [])
    return effects


_MIDDLE_DOT_POINT_RE = re.compile(r"(?<=\d)·(?=\d)")


def _quote_as_printed(
    printed: str, effects: list[Effect], quarantined: list[QuarantinedEffect]
) -> None:
    """Quotes and sentences from the abstract as printed (with its middle dots)."""
    for effect in effects:
        effect.quote = printed[effect.start : effect.end]
        effect.sentence = printed[
            effect.sentence_start : effect.sentence_start + len(effect.sentence)
        ]
    for held in quarantined:
        held.quote = printed[held.start : held.end]


class _Lazy:
    """A value, or a function computing it on first use."""

    def __init__(self, source) -> None:
        self.source, self.done = source, not callable(source)

    def value(self):
        """The value, computed once."""
        if not self.done:
            self.source, self.done = self.source(), True
        return self.source


# A number continued or preceded by a thousands group: "2,257.80" is neither "2" nor "257.80"
_THOUSANDS_GROUP_RE = re.compile(r",\d{3}(?!\d)")


def _readers_of_new_rule_files() -> tuple[type, ...]:
    """The `<Name>Rules` classes with a `read` method that rule files beyond the built-in ones
    define (see the package's how-to): each `read` runs on every sentence after the built-in
    rules."""
    built_in = {"adverse", "arm_assignment", "differences", "nnt", "other", "rates", "ratios",
                "statistics"}  # fmt: skip
    return tuple(
        value
        for module in rule_modules()
        if module.__name__.rsplit(".", 1)[-1] not in built_in
        for value in vars(module).values()
        if isinstance(value, type)
        and value.__module__ == module.__name__
        and value.__name__.endswith("Rules")
        and callable(getattr(value, "read", None))
    )


_NEW_READERS = _readers_of_new_rule_files()


class _SentenceExtractor(
    _AdverseRules,
    _StatisticsRules,
    _DifferencesRules,
    _OtherRules,
    _RatesRules,
    _ArmAssignmentRules,
):
    """The rules applied to one sentence; offsets are made absolute on the way out.

    Every rule is linear in the sentence's length overall: what a rule asks of the text
    before or after each number is either bounded in length or answered from indexes built
    once per sentence (sorted positions and bisection), so that one long sentence without a
    full stop costs no more per character than a short one.
    """

    def __init__(self, sentence: Sentence, low: str | None = None) -> None:
        self.sentence = sentence
        self.text = sentence.text
        self.low = sentence.text.lower() if low is None else low
        self.taken = _Spans()  # spans already used by an effect or a CI
        self.blocked = _Spans()
        self.effects: list[Effect] = []
        self.quarantined: list[QuarantinedEffect] = []
        has_operator = any(op in self.text for op in "=<>≤≥")  # p-values and statistics need one
        self.p_values = (
            [
                (m.start(), m.end(), _p_number(m["value"]), p_operator(m["op"]))
                for m in P_VALUE_RE.finditer(self.text)
            ]
            if has_operator
            else []
        )
        self.blocked.extend((s, e) for s, e, _, _ in self.p_values)
        if has_operator:
            self.blocked.extend(m.span() for m in _STAT_RE.finditer(self.text))
        self.has_ci_label = (
            [m.start() for m in _CI_NAME_RE.finditer(self.text)]
            if "CI" in self.text or "onfidence" in self.text or "redible" in self.text
            else []
        )
        # The labelled CIs ("95% CI, 1.1-9.3"), found once for the rules that read them: their
        # bounds are never estimates or rates themselves.
        self.labelled_cis = (
            list(_LABELLED_CI_RE.finditer(self.text))
            if self.has_ci_label and "%" in self.text
            else []
        )
        self.blocked.extend(m.span() for m in self.labelled_cis)
        self.strong = []
        named = _may_name_statistic(self.text, self.low)
        for match in _STRONG_RE.finditer(self.text) if named else ():
            kind = _strong_kind(match, self.text)
            if kind:
                self.strong.append((match.start(), match.end(), kind))
        has_percent = "%" in self.text
        self.tokens = [
            _Token(
                m.start(),
                m.end(),
                _number(m.group()),
                has_percent and self._is_percent(m.end()),
            )
            for m in NUMBER_RE.finditer(self.text)
        ]
        if "," in self.text:
            self.tokens = _with_thousands(
                self.text, self.tokens, lambda end: has_percent and self._is_percent(end)
            )
        self.scales: list[re.Match] | None = None
        self.timepoints: list[re.Match] | None = None
        self.subgroups: list[tuple[int, int, str]] | None = None
        self.share_arms: dict[int, str] = {}  # the arm named beside a share (rates)
        self.share_rules: dict[int, str] = {}  # the rule that named a share's event (rates)
        # rates and labelled shares, for "X% vs Y%" lists
        self.proportions = _Proportions(sentence.start)
        self.last_percent_change: Effect | None = None
        self.next_matches: dict[tuple[re.Pattern, int], tuple[int, re.Match | None]] = {}
        self.no_arm: set[int] = set()  # ids of effects whose arm the sentence leaves ambiguous
        # ids of between-group effects whose comparator is named right before their bracket
        self.comparators: dict[int, str] = {}
        self.no_scale: set[int] = set()  # ids of effects whose scale the sentence leaves open
        self.mentions: list[re.Match] = []  # the arms the sentence names (_ARM_MENTION_RE)
        low = self.low if "%" in self.text else ""
        self.names_events = "side effect" in low or "adverse" in low or "teae" in low

    # -- helpers --

    def _is_percent(self, end: int) -> bool:
        return _PERCENT_SIGN_RE.match(self.text, end) is not None

    def _overlaps(self, spans: _Spans, start: int, end: int) -> bool:
        return spans.overlaps(start, end)

    @cached_property
    def _token_ends(self) -> list[int]:
        return [token.end for token in self.tokens]  # increasing: the tokens do not overlap

    @cached_property
    def _strong_ends(self) -> list[int]:
        return [end for _, end, _ in self.strong]  # increasing: the matches do not overlap

    @cached_property
    def _clause_breaks(self) -> list[int]:
        return [m.start() for m in _CLAUSE_BREAK_RE.finditer(self.text)]

    def _next_match(self, regex: re.Pattern, pos: int, endpos: int) -> re.Match | None:
        """`regex.search(self.text, pos, endpos)`, remembering the last answer for `endpos`:
        a search from a later `pos` that does not pass the match found (or found none) has
        the same answer, so rising positions scan the text once, not once each."""
        key = (regex, endpos)
        known = self.next_matches.get(key)
        if known is not None:
            searched_from, found = known
            if searched_from <= pos and (found is None or found.start() >= pos):
                return found
        found = regex.search(self.text, pos, endpos)
        self.next_matches[key] = (pos, found)
        return found

    def _usable(self, token: _Token) -> bool:
        if self._overlaps(self.taken, token.start, token.end):
            return False
        if self._overlaps(self.blocked, token.start, token.end):
            return False
        before = self.text[max(0, token.start - 2) : token.start]
        if _NAME_NUMBER_RE.search(before) or before.endswith(("$", "€", "£")):
            return False
        if "," not in before and "," not in self.text[token.end : token.end + 1]:
            return True
        # "2,257.80": a number written with a thousands separator is not read in part
        if _THOUSANDS_GROUP_RE.match(self.text, token.end):
            return False
        return not (before[:1].isdigit() and before.endswith(","))

    def _clause_start(self, pos: int) -> int:
        at = bisect_left(self._clause_breaks, pos) - 1  # the last break before `pos`
        return self._clause_breaks[at] + 1 if at >= 0 else 0

    def _clause_end(self, pos: int) -> int:
        at = bisect_left(self._clause_breaks, pos)  # the first break at or after `pos`
        return self._clause_breaks[at] if at < len(self._clause_breaks) else len(self.text)

    # -- the rules --

    def run(self) -> list[Effect]:
        if "%" in self.text and _may_name_adverse_event(self.text):
            self._adverse_event_rates()
        if "%" in self.text and _may_list_adverse_events(self.text):
            self._listed_adverse_events()
        previous_kind: str | None = None
        previous_end = -1
        for token in self.tokens:
            if not self._usable(token):
                continue
            effect = self._estimate_at(token, previous_kind, previous_end)
            if effect:
                previous_kind, previous_end = effect.kind, effect.end - self.sentence.start
        self._backward_cis()
        if "/" in self.text and "mmHg" in self.text:
            self._pressure_changes()
        if "r" in self.text and "=" in self.text:
            self._correlations()
        if self.p_values and ("vs" in self.text or "versus" in self.text):
            self._arm_values()
        if "respectively" in self.text and " groups" in self.text:
            self._arm_values_respectively()
        if _may_give_times_likely(self.text):
            self._times_likely()
        if " to " in self.text and ("from" in self.text or "%" in self.text):
            self._levels_changed()
        if "%;" in self.text or "% ;" in self.text:
            self._group_percent_changes()
        self._rates()
        if self.proportions:
            self._share_list_arms()
        self._word_percent_rates()
        if (_may_name_rate(self.low) or _may_name_event(self.text)) and _may_hold_counts(self.text):
            self._count_rates()
        if " by " in self.text and ("pp" in self.text or "points" in self.text):
            self._point_changes()
            self._changes_by_points()
        if "pp" in self.text or "percentage point" in self.text:
            self._point_differences()
        if "(+" in self.text or "(-" in self.text or "(−" in self.text:
            self._signed_changes_in_brackets()
        for reader in _NEW_READERS:
            reader.read(self)
        self.effect_starts = sorted(e.start - self.sentence.start for e in self.effects)
        for effect in self.effects:
            self._attach_context(effect)
        self.effects.sort(key=lambda e: (e.start, e.end))
        if self.effects:
            self._arms_from_comparison()
        self._quarantine()
        return self.effects

    def _quarantine(self) -> None:
        """Move the effects that cannot be output to `quarantined`, with the reason. In a
        sentence that writes decimals with a comma ("OR 3,2; 95 %-KI 1,4–7,1") every effect is
        held: its numbers are read whole or not at all, never "3" of "3,2"."""
        kept = []
        comma = _DECIMAL_COMMA_RE.search(self.text) if self.effects and "," in self.text else None
        for effect in self.effects:
            reason = quarantine_reason(effect)
            if reason is None and comma:
                reason = (
                    f"the sentence writes decimals with a comma ({comma.group()!r}): its numbers "
                    "are not read, so that none is read in part"
                )
            if reason is None:
                kept.append(effect)
            else:
                self.quarantined.append(
                    QuarantinedEffect(effect.kind, effect.quote, effect.start, effect.end, reason)
                )
        self.effects = kept

    # -- output --

    def _make(self, rule, kind, value, start, end, ci_low=None, ci_high=None) -> Effect:
        start, end = _balanced(self.text, start, end)
        base = self.sentence.start
        label = None
        if kind in _OTHER_STATISTICS:  # no kind of its own in the contract: "other", labelled
            kind, label = "other", _OTHER_STATISTICS[kind]
        effect = Effect(
            label=label,
            kind=kind,
            value=value,
            start=base + start,
            end=base + end,
            quote=self.text[start:end],
            sentence=self.text,
            sentence_start=base,
            ci_low=ci_low,
            ci_high=ci_high,
            rule=rule,
        )
        self.effects.append(effect)
        if kind == "percent_change":
            self.last_percent_change = effect
        return effect

    def _attach_context(self, effect: Effect) -> None:
        base = self.sentence.start
        start, end = effect.start - base, effect.end - base
        at = bisect_left(self.p_values, end, key=lambda found: found[0])
        if at < len(self.p_values):  # the first p-value after the effect
            p_start, _, p_value, op = self.p_values[at]
            # close enough, and no other effect between the two
            between = bisect_left(self.effect_starts, end)
            if p_start - end <= 60 and not (
                between < len(self.effect_starts) and self.effect_starts[between] < p_start
            ):
                effect.p, effect.p_operator = p_value, op
        if self.timepoints is None:
            # "-1.1 weeks" inside an effect's span is a value, not when it was measured
            self.timepoints = [
                m
                for m in _TIMEPOINT_RE.finditer(self.text)
                if not self._overlaps(self.taken, *m.span())
            ]
        effect.timepoint = _timepoint(self.timepoints, start, end, self.text)
        if self.subgroups is None:
            self.subgroups = _subgroups(self.text, self.low)
        if self.subgroups:
            after = bisect_right(self.effect_starts, start)
            starts = self.effect_starts
            next_effect = starts[after] if after < len(starts) else end + 1000
            effect.subgroup = _subgroup(self.subgroups, self.text, start, end, next_effect)
        if effect.rule == "statistic_list" and "espective " in self.text:
            # "Respective changes in A, B and C were -11.5, -5.1 and +3.8": each its own scale
            # (the adjective; "..., respectively" lists keep the one scale they name)
            self.no_scale.add(id(effect))
        elif effect.kind != "other":
            if self.scales is None:
                self.scales = _scale_matches(self.text)
            effect.scale = _scale(self.scales, start)
        if effect.arm is None and id(effect) not in self.no_arm:
            effect.arm = _arm(self.text, end)
            if effect.arm and effect.kind in BETWEEN_GROUP_KINDS:
                # "NNT of 6 for esketamine+AD vs. placebo+AD": the arm is the comparison
                versus = _VERSUS_AFTER_RE.match(
                    self.text, self.text.find(effect.arm, end) + len(effect.arm)
                )
                if versus and _arm_name(versus["b"]):
                    effect.arm = f"{effect.arm} vs {_arm_name(versus['b'])}"
