"""The speed plumbing of the trial-fact rules: lower-casing once per text, patterns rewritten so
that the regex engine can skip ahead, and patterns gated by plain substring tests.

Nothing here decides a fact; it only makes the named rules of the other modules cheap to run
on every abstract while they stay written as plain regular expressions.
"""

from __future__ import annotations

import functools
import itertools
import re

from pipeline.extract.facts.rule import FactRule


@functools.lru_cache(maxsize=8)
def lower(text: str) -> str:
    """text.lower(), remembered: the same title and abstract are lowered by many rules."""
    return text.lower()


# The only characters whose str.lower() is not one non-ASCII character: "İ" (two characters)
# and the Kelvin sign (an ASCII "k"). Checked in tests/test_classify.py.
LOWER_NOT_ASCII_SAFE = ("\u0130", "\u212a")


@functools.lru_cache(maxsize=8)
def lowers_as_ascii(text: str) -> bool:
    """Whether text.lower() is the ASCII lower-casing that re.IGNORECASE | re.ASCII matches by:
    then a case-insensitive ASCII pattern can run, lower-cased, on the lower-cased text."""
    return all(char not in text for char in LOWER_NOT_ASCII_SAFE)


@functools.lru_cache(maxsize=256)
def lower_case_regex(pattern: str) -> re.Pattern | None:
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


class Gated:
    """A case-insensitive regex run only when one of its lower-case needles is in the text.

    A substring test is far cheaper than a regex scan, and most abstracts lack most words.
    """

    def __init__(self, pattern: str, needles: tuple[str, ...], flags: int = re.I | re.A) -> None:
        # ASCII matching is faster and these cues are plain English words.
        self.plain = pattern  # as written; the fast lower-case form is checked against it
        self.regex = re.compile(pattern, flags)
        self.lower_regex = lower_case_regex(pattern) if flags == re.I | re.A else None
        self.needles = needles

    def _may_match(self, text: str) -> bool:
        low = lower(text)
        for needle in self.needles:  # noqa: SIM110 - a loop is cheaper than any() over a generator
            if needle in low:
                return True
        return False

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match | None:
        """Like re.Pattern.search, except that the match may be one in the lower-cased text
        (the faster scan, where lowers_as_ascii allows it): its offsets are those of `text`,
        its characters may not be."""
        if not self._may_match(text):
            return None
        endpos = len(text) if endpos is None else endpos
        if self.lower_regex is not None and lowers_as_ascii(text):
            return self.lower_regex.search(lower(text), pos, endpos)
        return self.regex.search(text, pos, endpos)


def positions(low: str, word: str) -> list[int]:
    """Where `word` occurs in the lower-cased text."""
    found, at = [], low.find(word)
    while at >= 0:
        found.append(at)
        at = low.find(word, at + 1)
    return found


def contains_any(text: str, needles: tuple[str, ...]) -> bool:
    """Whether one of `needles` occurs in `text` (a loop: cheaper than any() on a generator)."""
    for needle in needles:  # noqa: SIM110
        if needle in text:
            return True
    return False


@functools.lru_cache(maxsize=256)
def compiled(pattern: str, flags: int) -> re.Pattern:
    return re.compile(pattern, flags)


def gated(rule: FactRule) -> Gated:
    """A named rule's pattern, run only where one of its needles occurs."""
    return Gated(rule.pattern, rule.needles, rule.flags)
