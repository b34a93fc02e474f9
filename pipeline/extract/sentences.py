"""Sentence spans in an abstract, with offsets into the abstract string as stored.

A sentence ends at ".", "!" or "?" followed by a space and a capital, digit or bracket,
unless the dot closes a common abbreviation ("vs.", "e.g.", "et al.", "Fig."). Section
labels ("RESULTS: ") stay at the start of the sentence they introduce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = {
    "vs", "v", "e.g", "i.e", "al", "fig", "figs", "no", "nos", "dr", "approx", "ca", "cf",
    "resp", "incl", "min", "max", "eq", "ref", "vol", "st", "mr", "mrs", "ms", "inc", "ltd",
    "co", "jr", "sr", "u.s", "u.k", "e.u", "etc", "ie", "eg",
}  # fmt: skip

_CLOSERS = "\"'’”)]"
_BOUNDARY_RE = re.compile(rf"[.!?](?=[{re.escape(_CLOSERS)}]?\s+[A-Z0-9(\[\u00c0-\u024f])")
_LAST_WORD_RE = re.compile(r"([A-Za-z.]+)$")


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text and where it starts and ends in the abstract."""

    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of `text` in order; their spans cover every non-space character."""
    sentences: list[Sentence] = []
    start = 0
    for end in _boundaries(text):
        if text[end - 1] == ".":
            tail = text[max(start, end - 13) : end - 1]
            word = _LAST_WORD_RE.search(tail)
            if word and word.group(1).lower().strip(".") in _ABBREVIATIONS:
                continue
        _append(sentences, text, start, end)
        start = end
    _append(sentences, text, start, len(text))
    return sentences


def _boundaries(text: str) -> list[int]:
    """Ends of candidate sentences: ".", "!" or "?" (and a closing quote or bracket) followed
    by a space and a capital, digit or bracket (string scans: faster than one regex pass)."""
    ends = []
    for mark in ".!?":
        at = text.find(mark)
        while at >= 0:
            after = text[at + 1 : at + 2]  # a space, quote or bracket: else no boundary ("0.5")
            if after and (after.isspace() or after in _CLOSERS) and _BOUNDARY_RE.match(text, at):
                ends.append(at + 1)
            at = text.find(mark, at + 1)
    ends.sort()
    return ends


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        sentences.append(Sentence(start, end, text[start:end]))
