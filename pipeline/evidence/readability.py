"""Flesch-Kincaid grade level, for checking that patient text reads at grade 8 or below.

Grade = 0.39 * words/sentences + 11.8 * syllables/words - 15.59 (Kincaid JP, Fishburne RP Jr,
Rogers RL, Chissom BS. Derivation of New Readability Formulas (Automated Readability Index, Fog
Count and Flesch Reading Ease Formula) for Navy Enlisted Personnel. Research Branch Report 8-75.
Naval Technical Training Command; 1975). Numbers are not words here (they carry no syllables a
reader sounds out in this sense); syllables are counted with the usual vowel-group rule, which is
close enough to tell grade 8 text from grade 14 text. The formula is kept here rather than taken
from textstat, whose syllable counter downloads NLTK's cmudict at run time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

GRADE_LIMIT = 8  # the grade patient materials are written to

_WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Syllables in an English word by vowel groups, a silent final e dropped; at least one."""
    word = word.lower().replace("\u2019", "'").split("'")[0]
    if not word:
        return 0
    groups = len(_VOWEL_GROUP.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and groups > 1:
        groups -= 1
    if word.endswith(("ed", "es")) and groups > 1 and not re.search(r"[td]ed$|[sxz]es$", word):
        groups -= 1
    return max(groups, 1)


def text_statistics(text: str) -> tuple[int, int, int]:
    """(sentences, words, syllables) of a text."""
    words = _WORD.findall(text)
    sentences = max(len(_SENTENCE_END.findall(text)), 1 if words else 0)
    return sentences, len(words), sum(count_syllables(w) for w in words)


def flesch_kincaid_grade(text: str) -> float:
    """The Flesch-Kincaid grade level of a text (0.0 for a text without words)."""
    sentences, words, syllables = text_statistics(text)
    if not words:
        return 0.0
    return 0.39 * words / sentences + 11.8 * syllables / words - 15.59


@dataclass(frozen=True)
class Reading:
    """The grade of each passage written for patients and of all of them read together."""

    passages: tuple[tuple[str, float], ...]
    grade: float
    limit: int = GRADE_LIMIT

    @property
    def above_limit(self) -> list[tuple[str, float]]:
        """The passages that on their own score above the limit."""
        return [(text, grade) for text, grade in self.passages if grade > self.limit]


def measure(passages: Sequence[str]) -> Reading:
    """Score each passage and the passages read as one text."""
    texts = [" ".join(p.split()) for p in passages if p.strip()]
    return Reading(
        passages=tuple((text, flesch_kincaid_grade(text)) for text in texts),
        grade=flesch_kincaid_grade(" ".join(texts)),
    )
