"""Reviewers' corrections: parsing, the log, the current-values view, re-extraction, the CLI."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from test_review import HR_QUOTE, SUSTAIN_1, effect_rows, insert_effects, sustain_1_warehouse

from pipeline import warehouse
from pipeline.cli import main
from pipeline.errors import PipelineError, UsageError
from pipeline.evidence import corrections, review

HR_ARM = "esketamine and antidepressant vs antidepressant and placebo"


@pytest.fixture()
def db(tmp_path: Path, pubmed_records: Path) -> Path:
    return sustain_1_warehouse(tmp_path / "corrections.duckdb", pubmed_records)


def hr_id(con) -> str:
    effects = review.current_effects(con)
    return effects[effects.quote == HR_QUOTE].iloc[0].effect_id


def current(con, effect_id: str):
    effects = corrections.read_current_effects(con)
    return effects[effects.effect_id == effect_id].iloc[0]


def reextract(con, extractor_version: str, abstract_edit: tuple[str, str] | None = None) -> None:
    """Extract SUSTAIN-1 again (the annotated effects under another version), after editing its
    abstract when `abstract_edit` (old, new) is given, as a revised record would."""
    if abstract_edit:
        con.execute(
            "UPDATE core.articles SET abstract = replace(abstract, ?, ?) WHERE pmid = ?",
            [*abstract_edit, SUSTAIN_1],
        )
    con.execute("DELETE FROM core.effects")
    insert_effects(con, effect_rows(SUSTAIN_1, extractor_version=extractor_version))


# --- parsing ----------------------------------------------------------------------------------


def test_one_line_form_gives_fields_and_note():
    fields, note = corrections.parse_line(
        " arm = esketamine 56 mg ; timepoint=Day 28; n=114; note=per Table 2"
    )
    assert fields == [
        corrections.Correction("arm", "esketamine 56 mg"),
        corrections.Correction("timepoint", "Day 28", days=28.0),
        corrections.Correction("n", "114", n=114),
    ]
    assert note == "per Table 2"


@pytest.mark.parametrize(
    ("text", "days"),
    [("day 28", 28.0), ("week 4", 28.0), ("24 hours", 1.0), ("4 weeks", 28.0), ("40 minutes",
     40 / 1440), ("end of the study", None)],
)  # fmt: skip
def test_a_corrected_timepoint_is_kept_in_days_when_it_reads_as_one(text, days):
    parsed = corrections.parse_field("timepoint", text)
    assert (parsed.field, parsed.value, parsed.n) == ("timepoint", text, None)
    assert parsed.days == (None if days is None else pytest.approx(days, rel=1e-12))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dose=56 mg", "unknown field 'dose' in a correction: use arm, comparator, subgroup, "
         "timepoint, n"),
        ("n=0", "n must be a positive whole number, not '0'"),
        ("n=-3", "n must be a positive whole number, not '-3'"),
        ("n=12.5", "n must be a positive whole number, not '12.5'"),
        ("n=twelve", "n must be a positive whole number, not 'twelve'"),
        ("n=2147483648", "n 2147483648 is larger than a warehouse count can hold"),
        ("arm=", "the correction of arm has no value"),
        ("arm placebo", "'arm placebo' is not field=value"),
        ("arm=a; arm=b", "arm is corrected twice"),
        ("note=only a note", "a correction names at least one field"),
        ("arm=a; note=x; note=y", "a correction has one note"),
    ],
)  # fmt: skip
def test_bad_corrections_are_refused_with_what_is_wrong(text, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        corrections.parse_line(text)


# --- recording, the log and the view ---------------------------------------------------------


def test_a_correction_is_logged_and_gives_the_current_values(con):
    effect_id = hr_id(con)
    fields, note = corrections.parse_line(
        "arm=esketamine plus oral AD; comparator=placebo plus oral AD; subgroup=stable remitters; "
        "timepoint=week 4; n=176; note=checked against the full text"
    )
    assert corrections.record_corrections(con, effect_id, fields, "Dr A", note) == 5
    row = current(con, effect_id)
    assert (row.arm, row.comparator, row.subgroup, row.timepoint) == (
        "esketamine plus oral AD", "placebo plus oral AD", "stable remitters", "week 4"
    )  # fmt: skip
    assert (row.timepoint_days, row.n_total) == (28.0, 176)
    assert list(row.corrected_fields) == ["arm", "comparator", "n", "subgroup", "timepoint"]
    assert row.value == 0.49 and row.quote == HR_QUOTE  # the numbers are not touched

    logged = corrections.correction_log(con).set_index("field")
    assert logged.loc["arm", "extracted_value"] == HR_ARM
    assert con.execute(
        "SELECT extracted_value IS NULL FROM core.effect_corrections WHERE field = 'comparator'"
    ).fetchone() == (True,)
    assert logged.loc["arm", "reviewer"] == "Dr A"
    assert logged.loc["arm", "note"] == "checked against the full text"
    assert logged.loc["arm", "quote"] == HR_QUOTE
    assert logged.loc["arm", "quote_sha256"] == hashlib.sha256(HR_QUOTE.encode()).hexdigest()
    assert logged.loc["n", "corrected_n"] == 176
    assert logged.corrected_at.notna().all()

    others = corrections.read_current_effects(con)
    others = others[others.effect_id != effect_id]
    assert all(len(fields) == 0 for fields in others.corrected_fields)


def test_a_later_correction_of_a_field_wins_and_both_stay_in_the_log(con):
    effect_id = hr_id(con)
    corrections.record_corrections(con, effect_id, corrections.parse_line("arm=a")[0], "Dr A")
    corrections.record_corrections(con, effect_id, corrections.parse_line("arm=b")[0], "Dr B")
    assert current(con, effect_id).arm == "b"
    logged = corrections.correction_log(con, [effect_id])
    assert list(zip(logged.corrected_value, logged.reviewer, strict=True)) == [
        ("a", "Dr A"), ("b", "Dr B")
    ]  # fmt: skip
    statuses = review.effect_statuses(con).set_index("effect_id")
    assert statuses.loc[effect_id, "correction_provenance"] == [
        f"corrected by Dr B on {logged.corrected_at.iloc[1]:%Y-%m-%d}: arm was '{HR_ARM}', now 'b'"
    ]


def test_bad_corrections_record_nothing(con):
    effect_id = hr_id(con)
    with pytest.raises(PipelineError, match="no extracted effect with id nope"):
        corrections.record_corrections(con, "nope", [corrections.Correction("arm", "x")], "Dr A")
    with pytest.raises(UsageError, match="reviewer"):
        corrections.record_corrections(con, effect_id, [corrections.Correction("arm", "x")], " ")
    with pytest.raises(UsageError, match="positive whole number"):
        corrections.record_corrections(con, effect_id, [corrections.Correction("n", "0")], "Dr A")
    with pytest.raises(UsageError, match="unknown field 'dose'"):
        corrections.record_corrections(con, effect_id, [corrections.Correction("dose", "1")], "A")
    assert corrections.correction_log(con).empty


# --- re-extraction ----------------------------------------------------------------------------


def test_a_correction_survives_reextraction_with_the_same_quote(con):
    effect_id = hr_id(con)
    corrections.record_corrections(con, effect_id, corrections.parse_line("arm=ESK+AD")[0], "Dr A")
    review.record_decision(con, effect_id, review.VERIFIED, "Dr A")
    reextract(con, "2")
    row = current(con, effect_id)
    assert (row.arm, row.extractor_version) == ("ESK+AD", "2")
    verified = review.verified_effects(con)
    assert list(verified.effect_id) == [effect_id]
    assert verified.iloc[0].arm == "ESK+AD"
    assert effect_id not in set(review.review_queue(con).effect_id)


def test_a_changed_quote_sets_the_correction_aside_and_flags_the_effect(con):
    effect_id = hr_id(con)
    corrections.record_corrections(con, effect_id, corrections.parse_line("arm=ESK+AD")[0], "Dr A")
    review.record_decision(con, effect_id, review.VERIFIED, "Dr A")
    reextract(con, "2", ("0.29-0.84", "0.29-0.85"))  # a revised abstract, the span unchanged
    assert current(con, effect_id).arm == HR_ARM  # the extracted value, not the correction
    assert review.verified_effects(con).empty
    queued = review.review_queue(con).set_index("effect_id")
    assert queued.loc[effect_id, "needs_rereview"]
    reason = queued.loc[effect_id, "rereview_reason"]
    assert "the quote changed" in reason
    assert "arm was corrected by Dr A on " in reason
    assert "to 'ESK+AD' on the quote 'hazard ratio [HR], 0.49; 95% CI, 0.29-0.84', which is " \
        "now 'hazard ratio [HR], 0.49; 95% CI, 0.29-0.85'" in reason  # fmt: skip

    # correcting again on the new quote applies, and verifying clears the flag
    corrections.record_corrections(con, effect_id, corrections.parse_line("arm=ESK+AD")[0], "Dr B")
    review.record_decision(con, effect_id, review.VERIFIED, "Dr B")
    assert current(con, effect_id).arm == "ESK+AD"
    assert list(review.verified_effects(con).effect_id) == [effect_id]


def test_a_decision_on_the_new_quote_without_correcting_again_clears_the_flag(con):
    effect_id = hr_id(con)
    corrections.record_corrections(con, effect_id, corrections.parse_line("arm=ESK+AD")[0], "Dr A")
    review.record_decision(con, effect_id, review.VERIFIED, "Dr A")
    reextract(con, "2", ("0.29-0.84", "0.29-0.85"))
    review.record_decision(con, effect_id, review.VERIFIED, "Dr B", "the correction no longer fits")
    verified = review.verified_effects(con)
    assert list(verified.effect_id) == [effect_id]
    assert verified.iloc[0].arm == HR_ARM


def test_an_unreviewed_effect_with_a_stale_correction_says_why_in_the_queue(con):
    effect_id = hr_id(con)
    corrections.record_corrections(con, effect_id, corrections.parse_line("n=100")[0], "Dr A")
    reextract(con, "2", ("0.29-0.84", "0.29-0.85"))
    queued = review.review_queue(con).set_index("effect_id")
    assert "n was corrected by Dr A" in queued.loc[effect_id, "rereview_reason"]
    assert not queued.loc[effect_id, "needs_rereview"]  # counted once, as unreviewed
    assert review.review_summary(con)["needs_rereview"] == 0


# --- the terminal review, driven on stdin ------------------------------------------------------


def test_review_command_records_a_one_line_correction_then_the_decision(db, monkeypatch, capsys):
    con = warehouse.connect(db)
    first = review.review_queue(con).iloc[0]
    con.close()
    monkeypatch.setattr(
        "sys.stdin",
        io.StringIO("c arm=esketamine 84 mg; timepoint=day 28; n=12; note=per Table 2\nv\nq\n"),
    )
    code = main(["review", "--db", str(db), "--pmid", SUSTAIN_1, "--reviewer", "Dr C"])
    out = capsys.readouterr().out
    assert code == 0
    assert "verified 1, rejected 0, skipped 0, corrected 3 field(s)" in out
    assert "now: " in out and "arm: esketamine 84 mg (corrected)" in out
    assert "n: 12 (corrected)" in out
    con = warehouse.connect(db)
    logged = corrections.correction_log(con)
    assert set(logged.field) == {"arm", "timepoint", "n"}
    assert set(logged.reviewer) == {"Dr C"} and set(logged.note) == {"per Table 2"}
    assert set(logged.effect_id) == {first.effect_id}
    verified = review.verified_effects(con)
    assert list(verified.effect_id) == [first.effect_id]
    assert (verified.iloc[0].arm, verified.iloc[0].n_total) == ("esketamine 84 mg", 12)
    con.close()


def test_review_command_reads_a_correction_over_several_lines(db, monkeypatch, capsys):
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("c\narm=placebo; nasal spray\nnote=see methods\n\nr\nq\n")
    )
    assert main(["review", "--db", str(db), "--pmid", SUSTAIN_1, "--reviewer", "Dr C"]) == 0
    assert "verified 0, rejected 1, skipped 0, corrected 1 field(s)" in capsys.readouterr().out
    con = warehouse.connect(db)
    logged = corrections.correction_log(con)
    assert (logged.field.tolist(), logged.corrected_value.tolist(), logged.note.tolist()) == (
        ["arm"], ["placebo; nasal spray"], ["see methods"]
    )  # fmt: skip
    con.close()


def test_a_refused_correction_stops_a_scripted_review(db, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("c dose=56 mg\nv\nv\n"))
    assert main(["review", "--db", str(db), "--pmid", SUSTAIN_1, "--reviewer", "Dr C"]) == 2
    err = capsys.readouterr().err
    assert "refused: unknown field 'dose' in a correction" in err
    con = warehouse.connect(db)
    assert corrections.correction_log(con).empty
    assert review.verified_effects(con).empty  # the 'v' after it was not applied to anything
    con.close()


def test_at_a_terminal_a_refused_correction_is_asked_again(con):
    queue = review.review_queue(con)
    out = io.StringIO()
    counts = review.interactive_review(
        con, queue, "Dr A", stdin=io.StringIO("c n=0\nc n=5\ns\nq\n"), stdout=out
    )
    assert counts == {"verified": 0, "rejected": 0, "skipped": 1, "corrected": 1}
    assert "n must be a positive whole number, not '0'" in out.getvalue()
    assert corrections.correction_log(con).corrected_n.tolist() == [5]


def test_review_help_documents_the_correction_form(capsys):
    with pytest.raises(SystemExit):
        main(["review", "--help"])
    help_text = capsys.readouterr().out
    assert "c FIELD=VALUE; FIELD=VALUE; note=TEXT" in help_text
    assert "arm, comparator, subgroup, timepoint" in help_text
    assert "n (a positive whole number)" in help_text


def test_the_marts_read_the_corrected_values(con):
    from pipeline import marts

    effects = review.current_effects(con)
    rate = effects[(effects.kind == "relapse_rate") & (effects.value == 26.7)].iloc[0]
    for position, label, role, drug in [
        (1, "esketamine", "intervention", "esketamine"),
        (2, "placebo nasal spray", "placebo", "placebo"),
    ]:
        con.execute(
            "INSERT INTO core.arms (arm_id, pmid, extractor_version, position, label, role, drug, "
            "extracted_at) VALUES (?, ?, '1', ?, ?, ?, ?, now())",
            [f"{rate.pmid}:{position}", rate.pmid, position, label, role, drug],
        )  # fmt: skip
    con.execute("UPDATE core.effects SET arm_id = ? WHERE effect_id = ?",
                [f"{rate.pmid}:1", rate.effect_id])  # fmt: skip
    before = marts.trial_arm_rates(con).set_index("effect_id").loc[rate.effect_id]
    assert (before.arm, before.arm_role) == ("esketamine", "drug")
    # a correction naming an arm of the study (its label as written) makes it that arm's rate
    fields, _ = corrections.parse_line("arm=Placebo nasal spray; timepoint=week 16")
    corrections.record_corrections(con, rate.effect_id, fields, "Dr A")
    after = marts.trial_arm_rates(con).set_index("effect_id").loc[rate.effect_id]
    assert (after.arm, after.arm_role, after.timepoint, after.timepoint_days) == (
        "placebo nasal spray", "comparator", "week 16", 112.0
    )  # fmt: skip
    # one naming no arm of the study leaves the rate with no arm: it is not guessed from words
    fields, _ = corrections.parse_line("arm=placebo")
    corrections.record_corrections(con, rate.effect_id, fields, "Dr A")
    unnamed = marts.trial_arm_rates(con).set_index("effect_id").loc[rate.effect_id]
    assert unnamed.arm is None and unnamed.arm_role == "not named"


def test_the_summary_counts_applied_set_aside_and_orphaned_corrections(db, capsys):
    con = warehouse.connect(db)
    effect_id = hr_id(con)
    others = [i for i in review.current_effects(con).effect_id if i != effect_id]
    for target in (effect_id, others[0], others[1]):
        corrections.record_corrections(con, target, corrections.parse_line("n=9")[0], "Dr A")
    reextract(con, "2", ("0.29-0.84", "0.29-0.85"))  # the HR's quote changes
    con.execute("DELETE FROM core.effects WHERE effect_id = ?", [others[1]])  # no longer there
    assert corrections.correction_counts(con) == {"applied": 1, "set_aside": 1, "orphaned": 1}
    con.close()
    assert main(["review", "--db", str(db), "--summary"]) == 0
    out = capsys.readouterr().out
    assert "corrected fields: 1 applied, 1 set aside by a changed quote, 1 whose effect is no " \
        "longer extracted" in out  # fmt: skip
