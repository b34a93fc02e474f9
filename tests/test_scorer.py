"""The scorer itself, on hand-made cases (the real scores are a benchmark, not a test)."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import PipelineError
from pipeline.extract.scoring import (
    SourceRecord,
    arms_agree,
    effects_match,
    load_annotations,
    load_source_records,
    match_effects,
    normalise_arm,
    scales_agree,
    score,
    timepoints_agree,
)

HR = {"kind": "hazard_ratio", "value": 0.49, "ci_low": 0.29, "ci_high": 0.84}


def test_match_needs_kind_value_and_both_bounds() -> None:
    assert effects_match(dict(HR), dict(HR))
    assert effects_match(dict(HR, value=0.49 + 5e-7), HR)
    assert not effects_match(dict(HR, value=0.5), HR)
    assert not effects_match(dict(HR, kind="odds_ratio"), HR)
    assert not effects_match(dict(HR, ci_low=None), HR)
    assert not effects_match(dict(HR, ci_high=0.85), HR)
    rate = {"kind": "remission_rate", "value": 27.1, "ci_low": None, "ci_high": None}
    assert effects_match(dict(rate), rate)


def test_the_names_of_a_standardised_mean_difference_match_each_other_only() -> None:
    g = {"kind": "hedges_g", "value": 0.45, "ci_low": 0.1, "ci_high": 0.8}
    assert effects_match(g, dict(g, kind="smd"))
    assert effects_match(dict(g, kind="cohens_d"), dict(g, kind="smd"))
    assert not effects_match(g, dict(g, kind="mean_difference"))
    assert not effects_match(dict(g, kind="mean_difference"), dict(g, kind="smd"))


def test_each_annotation_matches_at_most_one_extraction() -> None:
    rate = {"kind": "response_rate", "value": 64.0, "ci_low": None, "ci_high": None}
    assert match_effects([rate, dict(rate)], [rate]) == [(0, 0)]
    assert match_effects([rate, dict(rate)], [rate, dict(rate)]) == [(0, 0), (1, 1)]


def test_score_counts_per_kind_and_facts() -> None:
    abstract = (
        "Relapse was less likely (hazard ratio [HR], 0.49; 95% CI, 0.29-0.84); response rates "
        "were 64% vs 28%."
    )
    records = {"1": SourceRecord("1", "A randomized trial of esketamine nasal spray", abstract)}
    annotations = [
        {
            "pmid": "1",
            "trial": {"design": "rct", "drug": ["esketamine"], "route": ["intranasal"],
                      "n_randomized": 100, "arms": []},
            "effects": [
                dict(HR),
                {"kind": "response_rate", "value": 64, "ci_low": None, "ci_high": None},
                {"kind": "nnt", "value": 4, "ci_low": None, "ci_high": None},
            ],
        }
    ]  # fmt: skip
    result = score(annotations, records)
    assert (result.per_kind["hazard_ratio"].tp, result.per_kind["hazard_ratio"].fp) == (1, 0)
    response = result.per_kind["response_rate"]
    assert (response.tp, response.fp, response.fn) == (1, 1, 0)  # 28% was not annotated
    assert (result.per_kind["nnt"].tp, result.per_kind["nnt"].fn) == (0, 1)
    overall = result.overall
    assert (overall.tp, overall.fp, overall.fn) == (2, 1, 1)
    assert overall.precision == pytest.approx(2 / 3)
    assert overall.recall == pytest.approx(2 / 3)
    assert result.facts["design"] == (1, 1)
    assert result.facts["drug"] == (1, 1)
    assert result.facts["n_randomized"] == (0, 1)
    assert result.facts["arm_sizes"] == (0, 0)
    assert {(m.side, m.kind) for m in result.mismatches} == {
        ("extra", "response_rate"), ("missed", "nnt"),
    }  # fmt: skip
    assert "overall" in result.table()


def test_unknown_pmid_is_an_error() -> None:
    with pytest.raises(PipelineError, match="999"):
        score([{"pmid": "999", "effects": []}], {})


def test_load_annotations_names_the_bad_line(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"pmid": "1"}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(PipelineError, match="line 2"):
        load_annotations(path)


def test_source_records_read_json_lines_and_efetch_xml(pubmed_records, tmp_path) -> None:
    records = load_source_records(pubmed_records)
    assert {"31166571", "31290965", "32316080", "40601310"} <= set(records)
    assert "\u2009" in records["31166571"].abstract  # thin spaces kept
    (tmp_path / "efetch_sample.xml").write_bytes(
        (pubmed_records / "efetch_sample.xml").read_bytes()
    )
    from_xml = load_source_records(tmp_path)
    assert set(from_xml) == {"31166571", "31290965", "32316080"}
    assert from_xml["31166571"].abstract == records["31166571"].abstract
    assert from_xml["32316080"].mesh  # MeSH comes with the XML record


@pytest.mark.parametrize(
    ("extracted", "annotated", "agree"),
    [
        ("esketamine+AD vs. placebo+AD", "esketamine and antidepressant vs AD and placebo", True),
        ("ESK", "esketamine nasal spray", True),
        ("esketamine", "esketamine 84 mg", True),  # less specific, not wrong
        ("esketamine 56 mg", "esketamine 84 mg", False),
        ("esketamine 56-mg vs placebo", "esketamine 56 mg vs placebo", True),
        ("esketamine .20 mg/kg", "esketamine 0.2 mg/kg", True),
        ("ketamine", "ketamine vs midazolam", False),  # one arm is not the comparison
        ("midazolam", "ketamine", False),
        ("placebo vs ketamine", "ketamine versus placebo", False),  # order matters
        ("non-benzodiazepine", "non-benzodiazepines", True),  # plural folded
        ("SSRIs", "SSRI", True),
        ("benzodiazepines", "non-benzodiazepines", False),
        (None, "ketamine", False),
    ],
)
def test_arms_agree(extracted, annotated, agree: bool) -> None:
    assert arms_agree(extracted, annotated) is agree


def test_normalise_arm_folds_synonyms_and_drops_joining_words() -> None:
    assert normalise_arm("PBO + AD") == (frozenset({"placebo", "antidepressant"}),)
    assert normalise_arm("the ketamine group versus the ECT group") == (
        frozenset({"ketamine"}),
        frozenset({"ect"}),
    )
    assert normalise_arm(None) == ()


def test_timepoints_and_scales_agree() -> None:
    assert timepoints_agree("24 hours", "24 h")
    assert timepoints_agree("Day 28", "day 28")
    assert not timepoints_agree("week 4", "week 48")
    assert not timepoints_agree(None, "week 4")
    assert scales_agree("HAM-D", "HAMD")
    assert scales_agree("CGI", "CGI-S")
    assert not scales_agree("MADRS", "CGI")


def test_score_counts_arm_agreement_wrong_and_missing_apart() -> None:
    abstract = (
        "Response rates for ketamine and midazolam were 64% vs 28%. The odds ratio was 2.2 "
        "(95% CI, 1.1-4.5). Remission was 30.0% at week 4."
    )
    records = {"1": SourceRecord("1", "Two drugs in depression", abstract)}
    gold = [
        {"kind": "response_rate", "value": 64, "arm": "ketamine", "timepoint": None},
        {"kind": "response_rate", "value": 28, "arm": "ketamine", "timepoint": None},
        {"kind": "odds_ratio", "value": 2.2, "ci_low": 1.1, "ci_high": 4.5, "arm": "k vs m"},
        {"kind": "remission_rate", "value": 30.0, "arm": None, "timepoint": "week 4"},
    ]
    result = score([{"pmid": "1", "trial": {}, "effects": gold}], records)
    arm = result.attributes["arm"]
    assert (arm.agree, arm.wrong, arm.missing) == (1, 1, 1)
    assert arm.agreement == pytest.approx(1 / 3)
    assert arm.precision == pytest.approx(1 / 2)
    assert result.attributes["timepoint"].agree == 1
    assert {(m[1], m[3]) for m in result.attribute_mismatches} == {
        ("arm", "ketamine"), ("arm", "k vs m"),
    }  # fmt: skip
    assert "arm" in result.table() and "agreement" in result.table()


def test_a_dose_is_exact_only_when_written_whole_with_its_own_digits():
    from pipeline.extract import extract_text
    from pipeline.extract.scoring import _dose_numbers, _doses_exact, _written_at_a_boundary

    assert _dose_numbers(".5 mg/kg") == [0.5]
    assert _dose_numbers("56 or 84 mg") == [56.0, 84.0]
    assert not _written_at_a_boundary("5 mg", "esketamine 0.5 mg")
    assert _written_at_a_boundary("0.5 mg", "esketamine 0.5 mg")
    abstract = "Adults received esketamine .5 mg/kg subcutaneously once weekly."
    result = extract_text("1", "Esketamine for depression", abstract)
    assert result.trial.dose == ".5 mg/kg"
    assert _doses_exact(result, abstract) == (1, 1)
