"""Sentence spans: offsets into the abstract, abbreviations and decimals kept inside."""

from __future__ import annotations

from pipeline.extract.sentences import split_sentences


def test_spans_slice_back_to_the_sentences() -> None:
    text = (
        "METHODS: We randomized 30 patients. RESULTS: Remission was 64% vs. 28% (P < .001). Done."
    )
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "METHODS: We randomized 30 patients.",
        "RESULTS: Remission was 64% vs. 28% (P < .001).",
        "Done.",
    ]
    for sentence in sentences:
        assert text[sentence.start : sentence.end] == sentence.text


def test_abbreviations_and_decimals_do_not_end_a_sentence() -> None:
    text = "Response (e.g. MADRS) was higher than in Smith et al. 2019 trials, 0.5 mg/kg. Next one."
    assert len(split_sentences(text)) == 2


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences("   ") == []
