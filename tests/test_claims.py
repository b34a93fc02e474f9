"""The claim checker on true, false and unverifiable sentences written for the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_review import build_annotated_warehouse

from pipeline import vocab, warehouse
from pipeline.cli import main
from pipeline.evidence import claims, review

CLAIMS_DIR = Path(__file__).resolve().parent / "data" / "claims"
CASES = [json.loads(line) for line in (CLAIMS_DIR / "claims.jsonl").read_text().splitlines()]
CLINIC_COPY = (
    "A 2017 study published in the American Journal of Psychiatry found that a single IV "
    "ketamine infusion produced rapid antidepressant effects in 78% of participants."
)


@pytest.fixture(scope="module")
def annotated_db(tmp_path_factory: pytest.TempPathFactory, pubmed_records: Path) -> Path:
    path = tmp_path_factory.mktemp("claims") / "annotated.duckdb"
    return build_annotated_warehouse(path, pubmed_records)


@pytest.fixture(scope="module")
def con(annotated_db: Path):
    connection = warehouse.connect(annotated_db, read_only=True)
    yield connection
    connection.close()


def test_the_case_set_has_true_false_and_unverifiable_sentences():
    verdicts = [case["expected"] for case in CASES]
    assert verdicts.count("supported") >= 5
    assert verdicts.count("contradicted") >= 4
    assert verdicts.count("not_found") >= 6
    assert CLINIC_COPY in {case["sentence"] for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["sentence"][:60] for c in CASES])
def test_verdict(con, case):
    report = claims.check_text(con, case["sentence"])
    assert len(report.verdicts) == 1
    verdict = report.verdicts[0]
    assert verdict.verdict == case["expected"], (verdict.reason, verdict.evidence)
    if case["expected"] == "supported":
        assert case["pmid"] in {e["pmid"] for e in verdict.evidence}
        assert all(e["matches"] and e["review_status"] == "verified" for e in verdict.evidence)
    if case["expected"] == "contradicted":
        assert verdict.evidence and not any(e["matches"] for e in verdict.evidence)
        if case["pmid"]:
            assert case["pmid"] in {e["pmid"] for e in verdict.evidence}


def test_supporting_evidence_is_the_records_own_words(con, annotated_db):
    (verdict,) = claims.check_text(con, CASES[0]["sentence"]).verdicts
    abstracts = dict(con.execute("SELECT pmid, abstract FROM core.articles").fetchall())
    for item in verdict.evidence:
        assert item["quote"] in abstracts[item["pmid"]]
        assert "64%" in item["quote"]
        assert item["citation"].startswith("Murrough JW")
        assert item["pubmed_url"] == "https://pubmed.ncbi.nlm.nih.gov/23982301/"


def test_contradiction_says_what_the_record_says_instead(con):
    (verdict,) = claims.check_text(con, CASES[7]["sentence"]).verdicts
    assert [e["value"] for e in verdict.evidence] == [64.0]
    assert verdict.evidence[0]["claimed"] == "85%"


def test_unverified_effects_do_not_support_a_claim(tmp_path, pubmed_records):
    path = build_annotated_warehouse(tmp_path / "one.duckdb", pubmed_records)
    connection = warehouse.connect(path)
    ids = list(review.current_effects(connection, ["23982301"]).effect_id)
    review.record_decisions(connection, [review.Decision(i, "unreviewed") for i in ids], "Dr A")
    sentence = CASES[0]["sentence"]
    assert claims.check_text(connection, sentence).verdicts[0].verdict == "not_found"
    report = claims.check_text(connection, sentence, include_unreviewed=True)
    assert report.verdicts[0].verdict == "supported"
    assert report.verdicts[0].evidence[0]["review_status"] == "unreviewed"
    assert "not yet fit for patient materials" in report.basis_sentence()
    connection.close()


def test_sentences_without_claims_are_skipped():
    text = (CLAIMS_DIR / "clinic_web_copy.txt").read_text(encoding="utf-8")
    sentences = claims.split_sentences(text)
    kept = [s for s in sentences if claims.is_claim(s)]
    assert CLINIC_COPY in kept
    assert "Call us today to book a consultation with one of our clinicians." not in kept
    assert "Our team is here to help." not in kept


def test_split_sentences_keeps_decimals_and_abbreviations_whole():
    text = "Rates were 26.7% vs. 45.3% in 2019. A second trial followed.\n\nNew paragraph"
    assert claims.split_sentences(text) == [
        "Rates were 26.7% vs. 45.3% in 2019.",
        "A second trial followed.",
        "New paragraph",
    ]


@pytest.mark.parametrize(
    ("phrase", "name", "same"),
    [
        ("American Journal of Psychiatry", "Am J Psychiatry", True),
        ("New England Journal of Medicine", "N Engl J Med", True),
        ("JAMA Psychiatry", "JAMA Psychiatry", True),
        ("The Lancet", "JAMA Psychiatry", False),
        ("American Journal of Psychiatry", "Am J Geriatr Psychiatry", False),
    ],
)
def test_journal_names_match_their_abbreviations(phrase, name, same):
    assert claims.journal_matches(phrase, [name]) is same


def test_claims_command_json_on_the_clinic_web_copy(annotated_db, capsys):
    path = CLAIMS_DIR / "clinic_web_copy.txt"
    assert main(["claims", "check", str(path), "--json", "--db", str(annotated_db)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert all(set(r) >= {"sentence", "verdict", "evidence"} for r in results)
    by_sentence = {r["sentence"]: r for r in results}
    assert by_sentence[CLINIC_COPY]["verdict"] == "not_found"
    assert by_sentence[CLINIC_COPY]["evidence"] == []
    assert by_sentence[CASES[0]["sentence"]]["verdict"] == "supported"
    assert (
        by_sentence["Dizziness affected 50% of patients using esketamine nasal spray."]["verdict"]
        == "contradicted"
    )
    assert {r["basis"] for r in results} == {"verified"}


def test_claims_command_text_states_its_basis(annotated_db, capsys):
    path = CLAIMS_DIR / "clinic_web_copy.txt"
    assert main(["claims", "check", str(path), "--db", str(annotated_db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Checked against the ")
    assert "verified effect(s) only" in out
    assert "[not_found] " + CLINIC_COPY in out
    assert "9 sentence(s): 1 supported, 1 contradicted, 1 not found, 6 with no claim" in out


def test_claims_command_missing_file_is_a_clear_error(annotated_db, capsys, tmp_path):
    assert main(["claims", "check", str(tmp_path / "nope.txt"), "--db", str(annotated_db)]) == 1
    assert "no such file" in capsys.readouterr().err


# --- arms from the study structure (core.arms), never from the effect's arm words ---------------


def _ketect_like(template: Path, path: Path) -> Path:
    """A trial of IV ketamine against ECT whose effects carry arm ids; the rules' words of the
    63% name the wrong drug ("ketamine"), those of the 46% name none."""
    from structured_warehouse import ArmRow, EffectRow, Study, build

    study = Study(
        pmid="900101",
        abstract=(
            "BACKGROUND: IV ketamine was compared with ECT. RESULTS: Remission rates were 63% "
            "with ECT and 46% with ketamine at week 3. The odds ratio for remission with ECT "
            "was 2.0 (95% CI, 1.2 to 3.4)."
        ),
        design="rct",
        drugs=["ketamine"],
        routes=["iv"],
        arms=[
            ArmRow(1, "ketamine", "intervention", "ketamine", route="iv"),
            ArmRow(2, "ECT", "active", "ect"),
        ],  # fmt: skip
        effects=[
            EffectRow("remission_rate", 63, "63%", arm=2, timepoint="week 3", arm_words="ketamine"),
            EffectRow("remission_rate", 46, "46%", arm=1, timepoint="week 3"),
            EffectRow(
                "odds_ratio",
                2.0,
                "2.0 (95% CI, 1.2 to 3.4)",
                arm=2,
                comparator=1,
                ci=(1.2, 3.4),
                label="remission",
                arm_words="ketamine vs ECT",
            ),
        ],  # fmt: skip
    )
    return build(template, path, [study])


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # the 46% is ketamine's by its arm id, though the rules wrote no arm words for it
        ("46% of people given IV ketamine were in remission at week 3.", "supported"),
        # the 63% is ECT's by its arm id, though the rules' words say "ketamine"
        ("63% of people given IV ketamine were in remission at week 3.", "contradicted"),
        ("With IV ketamine, 46% were in remission at week 3 and 63% with ECT.", "supported"),
        # the ratio is ECT against ketamine (arm and comparator ids): remission was lower with
        # ketamine, whatever order the rules' words give
        ("Remission was less likely with IV ketamine than with ECT.", "supported"),
        ("Remission was more likely with IV ketamine than with ECT.", "contradicted"),
    ],
)
def test_a_claims_arm_is_matched_against_core_arms(warehouse_template, tmp_path, sentence,
                                                   expected):  # fmt: skip
    path = _ketect_like(warehouse_template, tmp_path / "ketect.duckdb")
    con = warehouse.connect(path, read_only=True)
    try:
        verdict = claims.check_text(con, sentence).verdicts[0]
    finally:
        con.close()
    assert verdict.verdict == expected, (verdict.reason, verdict.evidence)


def test_a_ratios_interval_is_not_read_as_a_claimed_percent() -> None:
    claim = claims.parse_claim(
        "In trials, relapse was less likely with esketamine (HR, 0.30; 95% CI, 0.16-0.55)."
    )
    assert [(n.kind, n.value) for n in claim.numbers] == [("hazard_ratio", 0.3)]


def test_ratios_are_read_by_the_extractor_with_their_qualifier() -> None:
    claim = claims.parse_claim("Relapse risk fell by up to HR 0.5 with esketamine.")
    assert [(n.kind, n.value, n.qualifier) for n in claim.numbers] == [("hazard_ratio", 0.5, "le")]


def test_the_outcome_a_claim_names_is_read_with_the_vocabularys_patterns() -> None:
    assert set(claims._MEASURES) == set(vocab.RATE_KINDS)
    assert claims.parse_claim("Most remitters stayed well.").measure == "remission_rate"
    assert claims.parse_claim("Two thirds responded.").measure == "response_rate"
    assert claims.parse_claim("Fewer relapsed on esketamine.").measure == "relapse_rate"
    assert claims.parse_claim("Responsiveness to light was unchanged.").measure is None
