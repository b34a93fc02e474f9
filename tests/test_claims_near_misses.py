"""The claim checker never calls a false sentence supported: the false sentences of issue 12,
near-misses generated from every verified rate effect (another trial, timepoint or arm, negated,
qualified, rounded or inflated), their true versions, and regulatory true and false versions."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from test_claims import (
    annotated_db,  # noqa: F401
    con,  # noqa: F401  (the module-scoped connection fixture)
)

from pipeline.cli import main
from pipeline.evidence import claims

ESCAPE = "In ESCAPE-TRD, 27.1% of patients on esketamine reached remission at week 8."
ISSUE_FALSE = [
    "In the TRANSFORM-2 trial, 27.1% of patients on esketamine reached remission at week 8.",
    "In ESCAPE-TRD, 27.1% of patients on esketamine reached remission at week 32.",
    "In ESCAPE-TRD, 27.1% of patients on esketamine did not reach remission at week 8.",
    "In ESCAPE-TRD, 27.1% of patients on quetiapine, compared with esketamine, reached remission "
    "at week 8.",
    "Fewer than 27.1% of patients on esketamine reached remission at week 8.",
    "Seven in ten patients respond to IV ketamine.",
    "Nine out of ten patients respond to IV ketamine.",
    "Forty-five percent of patients on esketamine reached remission at week 8.",
    "In ESCAPE-TRD, 200 of 336 patients on esketamine reached remission at week 8.",
]
WORD_TRUE = [
    ESCAPE,
    "In ESCAPE-TRD, 91 of 336 patients on esketamine reached remission at week 8.",
    "In a 2013 trial, sixty-four percent of patients responded to IV ketamine within 24 hours.",
]
VERBS = {
    "response_rate": ("responded", "did not respond"),
    "remission_rate": ("reached remission", "did not reach remission"),
    "relapse_rate": ("relapsed", "did not relapse"),
}
ARM_NAMES = {"esketamine", "ketamine", "quetiapine", "midazolam", "placebo", "ECT"}
DRUG_ARMS = {"esketamine", "ketamine"}


_CHECKERS: dict[int, claims.Checker] = {}


def judge(con, sentence: str) -> claims.Verdict:  # noqa: F811
    """The one verdict on a sentence (one checker per connection: loading it is the slow part)."""
    checker = _CHECKERS.setdefault(id(con), claims.Checker(con))
    verdicts = list(claims.iter_verdicts(checker, sentence, progress=False))
    assert len(verdicts) == 1, [v.sentence for v in verdicts]
    return verdicts[0]


@pytest.mark.parametrize("sentence", ISSUE_FALSE)
def test_the_false_sentences_of_the_issue_are_not_supported(con, sentence):  # noqa: F811
    verdict = judge(con, sentence)
    assert verdict.verdict in ("not_found", "contradicted"), verdict.reason


@pytest.mark.parametrize("sentence", WORD_TRUE)
def test_their_true_versions_are_supported(con, sentence):  # noqa: F811
    verdict = judge(con, sentence)
    assert verdict.verdict == "supported", verdict.reason


def test_a_trial_no_record_matches_is_named_in_the_reason(con):  # noqa: F811
    verdict = judge(con, ISSUE_FALSE[0])
    assert verdict.verdict == "not_found"
    assert "(TRANSFORM-2)" in verdict.reason, verdict.reason


def test_another_arms_number_is_contradicted_with_its_value(con):  # noqa: F811
    verdict = judge(con, ISSUE_FALSE[3])
    assert verdict.verdict == "contradicted"
    assert "17.6" in verdict.reason and "quetiapine" in verdict.reason


def test_a_wrong_count_is_contradicted_by_the_records_count(con):  # noqa: F811
    verdict = judge(con, ISSUE_FALSE[8])
    assert verdict.verdict == "contradicted" and "91 of 336" in verdict.reason


def test_words_are_read_as_numbers(con):  # noqa: F811
    verdict = judge(con, ISSUE_FALSE[6])
    assert "no number" not in verdict.reason
    assert [n.value for n in claims.parse_claim(ISSUE_FALSE[6]).numbers] == [90.0]
    assert claims.parse_claim("Forty-five percent responded.").numbers[0].value == 45.0


def _true_sentences(con):  # noqa: F811
    """(true sentence, near-misses by kind) for every verified single-arm rate effect."""
    effects = claims.records(con)
    articles = claims.article_index(con).set_index("pmid")
    out = []
    for row in effects.itertuples():
        arm = row.arm if isinstance(row.arm, str) else None
        if row.kind not in VERBS or arm not in ARM_NAMES:
            continue
        drugs = claims._as_list(row.drugs)
        if len(drugs) != 1:
            continue
        drug = drugs[0]
        year = int(articles.loc[row.pmid, "pub_year"])
        verb, negated = VERBS[row.kind]
        value = f"{row.value:g}"
        tp = claims.timepoints_in(row.timepoint) if isinstance(row.timepoint, str) else []
        when = f" at {tp[0][0][1]} {tp[0][0][0]}" if tp else ""
        lead = f"In a {year} trial of {drug}," if arm not in DRUG_ARMS else f"In a {year} trial,"

        def say(number=value, who=arm, what=verb, at=when, opening=lead):
            return f"{opening} {number}% of patients on {who} {what}{at}."

        misses = {
            "another trial (year)": say(opening=lead.replace(str(year), str(year + 3))),
            "another trial (acronym)": say(opening=lead.replace("In a", "In the ZENITH-4")),
            "another timepoint": say(
                at=f" at {tp[0][0][1]} {int(float(tp[0][0][0])) + 4}" if tp else " at week 52"
            ),
            "negated": say(what=negated),
            "qualified (fewer than)": say(number=f"fewer than {value}"),
            "qualified (more than)": say(number=f"more than {value}"),
            "inflated": say(number=f"{round(row.value * 1.2 + 1, 1):g}"),
        }
        rounded = 5 * round(row.value / 5)
        if abs(rounded - row.value) > 0.5:
            misses["rounded"] = say(number=f"{rounded:g}")
        others = effects[
            (effects.pmid == row.pmid) & (effects.kind == row.kind) & (effects.arm != arm)
            & effects.arm.isin(ARM_NAMES) & (effects.timepoint.fillna("") == (row.timepoint or ""))
            & ((effects.value - row.value).abs() > 0.5)
        ]  # fmt: skip
        if len(others):
            other = others.iloc[0].arm
            lead_other = lead if other in DRUG_ARMS else f"In a {year} trial of {drug},"
            misses["another arm"] = say(who=other, opening=lead_other)
        out.append((say(), misses))
    return out


def test_generated_near_misses_are_never_supported(con, capsys):  # noqa: F811
    generated = _true_sentences(con)
    assert len(generated) >= 8
    true_missed, false_supported, counts = [], [], {}
    for true, misses in generated:
        if judge(con, true).verdict != "supported":
            true_missed.append((true, judge(con, true).reason))
        for kind, sentence in misses.items():
            counts[kind] = counts.get(kind, 0) + 1
            verdict = judge(con, sentence)
            if verdict.verdict == "supported":
                false_supported.append((kind, sentence))
    total = sum(counts.values())
    with capsys.disabled():
        print(f"\nnear-misses: {total} ({json.dumps(counts)}); false-supported "
              f"{len(false_supported)}/{total}; true versions {len(generated)}, "
              f"{len(generated) - len(true_missed)} supported")  # fmt: skip
    assert not false_supported, false_supported
    assert not true_missed, true_missed


REGULATORY = [
    ("The FDA approved esketamine nasal spray in 2019 for treatment-resistant depression.",
     "supported"),
    ("Esketamine nasal spray was first approved by the FDA in 2015.", "contradicted"),
    ("Esketamine nasal spray was first approved by the FDA in March 2019.", "supported"),
    ("IV ketamine is FDA-approved for the treatment of depression.", "contradicted"),
    ("IV ketamine is not FDA-approved for the treatment of depression.", "supported"),
    ("Ketamine is FDA-approved as an anesthetic.", "supported"),
    ("In August 2020 the FDA approved esketamine for adults with depression and acute suicidal "
     "thoughts.", "supported"),
    ("In 2021 the FDA approved esketamine for adults with depression and suicidal thoughts.",
     "contradicted"),
    ("In January 2025 the FDA approved esketamine nasal spray as monotherapy for "
     "treatment-resistant depression.", "supported"),
    ("In 2019 the FDA approved esketamine nasal spray as monotherapy for treatment-resistant "
     "depression.", "contradicted"),
    ("The FDA approved esketamine nasal spray for anxiety.", "contradicted"),
    ("After each dose of esketamine nasal spray, patients are monitored for at least 2 hours.",
     "supported"),
    ("After each dose of esketamine nasal spray, patients are monitored for at least two hours.",
     "supported"),
    ("After each dose of esketamine nasal spray, patients are monitored for 30 minutes.",
     "contradicted"),
    ("Patients are watched for 1 hour after each esketamine dose.", "contradicted"),
    ("Patients do not need to be monitored after esketamine nasal spray.", "contradicted"),
    ("Esketamine nasal spray's boxed warning includes respiratory depression.", "supported"),
    ("Esketamine nasal spray's boxed warning does not mention respiratory depression.",
     "contradicted"),
    ("The 2019 boxed warning for esketamine included respiratory depression.", "contradicted"),
    ("Esketamine nasal spray has a boxed warning for liver damage.", "contradicted"),
    ("Patients can take esketamine nasal spray at home.", "contradicted"),
    ("Esketamine nasal spray is never dispensed to patients for home use.", "supported"),
]  # fmt: skip


@pytest.mark.parametrize(("sentence", "expected"), REGULATORY, ids=[s[:50] for s, _ in REGULATORY])
def test_regulatory_sentences(con, sentence, expected):  # noqa: F811
    verdict = judge(con, sentence)
    assert verdict.verdict == expected, verdict.reason
    if expected in ("supported", "contradicted"):
        assert verdict.evidence and all(e["last_checked"] for e in verdict.evidence)
        assert "last checked 2026-12-07" in verdict.reason


def test_regulatory_verdicts_say_when_the_facts_are_old(con):  # noqa: F811
    report = claims.check_text(con, REGULATORY[0][0], today=date(2028, 1, 1))
    assert "more than a year ago" in report.verdicts[0].reason
    assert "more than a year ago" in report.basis_sentence()


def test_every_sentence_gets_a_verdict_in_order(con):  # noqa: F811
    text = "Welcome to our clinic. " + ESCAPE + " Call us today!"
    verdicts = claims.check_text(con, text).verdicts
    assert [v.verdict for v in verdicts] == ["no_claim", "supported", "no_claim"]
    assert all(v.reason for v in verdicts)


def test_html_is_read_as_its_visible_text(con):  # noqa: F811
    page = (
        "<!DOCTYPE html><html><head><title>IV therapy</title><style>p{color:red}</style>"
        "<script>var x = '99% of patients responded';</script></head><body>"
        "<h1>Our treatments</h1><p>In ESCAPE-TRD, <b>27.1%</b> of patients on esketamine "
        "reached remission at week 8.</p><div>Nine out of ten patients respond to IV ketamine"
        "</div></body></html>"
    )
    verdicts = claims.check_text(con, page).verdicts
    sentences = [v.sentence for v in verdicts]
    assert ESCAPE in sentences
    assert not any("<" in s or "99%" in s for s in sentences)
    by = {v.sentence: v.verdict for v in verdicts}
    assert by[ESCAPE] == "supported"
    assert by["Nine out of ten patients respond to IV ketamine"] != "supported"


def test_command_reads_an_html_file(annotated_db, tmp_path, capsys):  # noqa: F811
    page = tmp_path / "page.html"
    page.write_text(f"<html><body><p>{ESCAPE}</p><p>Hello.</p></body></html>", encoding="utf-8")
    assert main(["claims", "check", str(page), "--json", "--db", str(annotated_db)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in results] == ["supported", "no_claim"]


def test_a_long_text_streams_in_linear_time(con):  # noqa: F811
    checker = claims.Checker(con)
    text = (ESCAPE + " Welcome to our clinic. ") * 400
    verdicts = list(claims.iter_verdicts(checker, text, progress=False))
    assert len(verdicts) == 800
    assert {v.verdict for v in verdicts[::2]} == {"supported"}
    assert re.fullmatch(r"(supported,no_claim,)+", ",".join(v.verdict for v in verdicts) + ",")
