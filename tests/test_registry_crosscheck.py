"""Abstract effects beside the registry: agreement at the printed precision, a planted
disagreement, per-arm counts from posted percentages, and where the result is shown (trial
outcomes, the review queue, the evidence sheet's provenance)."""

from __future__ import annotations

import io
import math
import shutil
from pathlib import Path

import pytest

from pipeline import marts
from pipeline.evidence import review, sheet
from pipeline.registry.crosscheck import (
    CROSSCHECK_COLUMNS,
    agree,
    crosscheck,
    effect_arms,
    printed,
    refresh_crosscheck,
    registry_arm_counts,
    registry_days,
)

MONOTHERAPY = "40601310"  # NCT04599855: esketamine 56/84 mg vs placebo, monotherapy
JAPAN = "34696742"  # NCT02918318: esketamine 28/56/84 mg vs placebo


@pytest.fixture()
def db(ingested_warehouse: Path, tmp_path: Path) -> Path:
    """A writable copy of the offline `make ingest` warehouse (registry snapshot included)."""
    path = tmp_path / "crosscheck.duckdb"
    shutil.copy(ingested_warehouse, path)
    return path


def checks(con, pmid: str) -> dict[float, tuple]:
    rows = con.execute(
        "SELECT abstract_value, status, registry_value_text, registry_ci_text, registry_source, "
        "detail FROM marts.registry_crosscheck WHERE pmid = ? ORDER BY abstract_value",
        [pmid],
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


# --- printed precision --------------------------------------------------------------------------


def test_numbers_agree_at_the_coarser_printed_precision():
    assert agree("-4.0", "-4.02")
    assert agree("43", "43.1")
    assert agree("-7.31", "-7.31")
    assert agree("-0.60", "-0.6")
    assert not agree("-5.1", "-5.2")
    assert not agree("-5.1", "NA")
    assert agree("0.05", "0.045")  # half up, as publications round


def test_the_value_is_read_as_the_abstract_prints_it():
    assert printed(-15.2, "- 15.2") == "-15.2"
    assert printed(-0.6, "-2.6 [-4.64, -0.60]") == "-0.60"
    assert printed(24.8, "56 participants [24.8%]") == "24.8"
    assert printed(3.0, "no number here") == "3"


def test_arms_and_registry_timepoints_are_read():
    structure = marts.Arms.of(
        {
            "1:1": {"arm_id": "1:1", "pmid": "1", "label": "ESK 56", "role": "intervention",
                    "drug": "esketamine", "dose": 56.0, "dose_unit": "mg"},
            "1:2": {"arm_id": "1:2", "pmid": "1", "label": "PBO", "role": "placebo",
                    "drug": "placebo", "dose": None, "dose_unit": None},
            "1:3": {"arm_id": "1:3", "pmid": "1", "label": "ketamine", "role": "intervention",
                    "drug": "ketamine", "dose": 0.5, "dose_unit": "mg/kg"},
        }
    )  # fmt: skip

    def arms(arm_id, comparator_arm_id=None, words="esketamine 84 mg vs placebo"):
        effect = {"pmid": "1", "arm": words, "arm_id": arm_id}
        return effect_arms({**effect, "comparator_arm_id": comparator_arm_id}, structure)

    compared = arms("1:2", "1:1")  # the drug side may be either, the words say nothing
    assert (compared.comparison, compared.drug_dose) == (True, 56.0)
    assert (arms("1:2").single_role, arms("1:2").drug_dose) == ("comparator", None)
    assert (arms("1:1").single_role, arms("1:1").drug_dose) == ("drug", 56.0)
    assert arms("1:3").drug_dose is None  # 0.5 mg/kg is no dose in mg
    assert arms(None) is None  # arm words without an arm id name no arm
    assert registry_days("Change ... to 24 Hours Post First Dose (Day 2)", None, None) == 1.0
    assert registry_days("Change ... From Day 1 (Pre-randomization) to Day 28", None, None) == 28
    assert registry_days("Response by day", "Day 8", "Days 2, 8, 15, 22 and 28") == 8


# --- the snapshot's abstract effects against the registry ---------------------------------------


def test_the_snapshot_effects_with_a_counterpart_and_how_many_agree(con):
    counts = dict(
        con.execute(
            "SELECT status, count(*) FROM marts.registry_crosscheck "
            "WHERE nct_id IS NOT NULL GROUP BY status"
        ).fetchall()
    )
    # 22 effects of 5 linked articles: 14 with a registry counterpart, 13 agree; the one that
    # differs is a China sub-population difference at 24 hours the registry does not post.
    assert counts == {"agrees": 13, "differs": 1, "no_counterpart": 8}
    total = con.execute("SELECT count(*) FROM marts.registry_crosscheck").fetchone()[0]
    assert total == con.execute("SELECT count(*) FROM core.effects").fetchone()[0]
    ((detail,),) = con.execute(
        "SELECT detail FROM marts.registry_crosscheck WHERE status = 'differs'"
    ).fetchall()
    assert detail.startswith("differs: value -2.6 vs")


def test_mean_differences_agree_with_the_posted_analyses(con):
    found = checks(con, MONOTHERAPY)
    status, value, ci, source, detail = found[-5.1]
    assert (status, value, ci) == ("agrees", "-5.1", "-7.91 to -2.33 (95% CI)")
    assert source.startswith("NCT04599855 outcome 0 analysis 0 (OG000 vs OG001)")
    assert detail == "agrees: value -5.1 vs -5.1; CI -7.91 to -2.33 vs -7.91 to -2.33"
    assert found[0.48][0] == "no_counterpart"  # an SMD: the registry posts none


def test_per_arm_changes_agree_with_the_posted_values(con):
    found = checks(con, JAPAN)
    assert {v: (s, r) for v, (s, r, *_) in found.items()} == {
        -15.3: ("agrees", "-15.3"),  # placebo, OG003
        -15.2: ("agrees", "-15.2"),  # 28 mg, OG000
        -15.1: ("agrees", "-15.1"),  # 84 mg, OG002
        -14.5: ("agrees", "-14.5"),  # 56 mg, OG001
    }
    assert " OG000 Esketamine 28 Milligrams (mg): " in found[-15.2][3]


def test_the_arms_come_from_the_study_structure_not_the_arm_words(con):
    """The arm words are not read: wrong words beside the right arm ids still agree."""
    con.execute("UPDATE core.effects SET arm = 'placebo' WHERE pmid = ?", [JAPAN])
    refresh_crosscheck(con)
    found = checks(con, JAPAN)
    assert {v: (s, r) for v, (s, r, *_) in found.items()} == {
        -15.3: ("agrees", "-15.3"),
        -15.2: ("agrees", "-15.2"),
        -15.1: ("agrees", "-15.1"),
        -14.5: ("agrees", "-14.5"),
    }
    con.execute("UPDATE core.effects SET arm_id = NULL WHERE pmid = ?", [JAPAN])
    refresh_crosscheck(con)
    assert {s for s, *_ in checks(con, JAPAN).values()} == {"no_counterpart"}


def test_a_planted_disagreement_in_the_value_is_flagged_not_corrected(con):
    con.execute(
        "UPDATE core.effects SET value = -5.3 WHERE pmid = ? AND value = -5.1", [MONOTHERAPY]
    )
    refresh_crosscheck(con)
    status, value, _, _, detail = checks(con, MONOTHERAPY)[-5.3]
    assert (status, value) == ("differs", "-5.1")
    assert detail.startswith("differs: value -5.3 vs -5.1")
    assert con.execute(
        "SELECT value FROM core.effects WHERE pmid = ? AND value = -5.3", [MONOTHERAPY]
    ).fetchall() == [(-5.3,)]  # the abstract's number is left as extracted


def test_a_planted_disagreement_in_the_ci_is_flagged(con):
    con.execute(
        "UPDATE core.registry_analyses SET ci_upper_text = '-2.43', ci_upper = -2.43 "
        "WHERE nct_id = 'NCT04599855' AND outcome_no = 0 AND analysis_no = 0"
    )
    refresh_crosscheck(con)
    status, *_, detail = checks(con, MONOTHERAPY)[-5.1]
    assert status == "differs"
    assert "CI -7.91 to -2.33 vs -7.91 to -2.43" in detail


def test_an_article_without_a_registry_link_has_no_counterpart(con):
    frame = crosscheck(con)
    unlinked = frame[frame["nct_id"].isna()]
    assert set(unlinked["status"]) == {"no_counterpart"}
    assert set(unlinked["detail"]) == {"no registry study linked to this article"}


def test_the_stored_cross_check_holds_every_effect_as_the_whole_comparison_gives_it(con):
    """The refresh compares only the linked articles' effects in Python and writes the others'
    'no_counterpart' rows in SQL: the table is the one a comparison of every effect gives."""
    refresh_crosscheck(con)
    columns = ", ".join(CROSSCHECK_COLUMNS)
    stored = con.execute(
        f"SELECT {columns} FROM marts.registry_crosscheck ORDER BY effect_id"
    ).fetchall()
    whole = crosscheck(con)[CROSSCHECK_COLUMNS].sort_values("effect_id")
    expected = [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in whole.itertuples(index=False, name=None)
    ]
    n_effects = con.execute("SELECT count(*) FROM core.effects").fetchone()[0]
    assert len(stored) == n_effects
    assert stored == expected


def stored_crosscheck(con) -> list[tuple]:
    columns = ", ".join(CROSSCHECK_COLUMNS)
    return con.execute(
        f"SELECT {columns} FROM marts.registry_crosscheck ORDER BY effect_id"
    ).fetchall()


def test_a_refresh_a_few_articles_at_a_time_stores_the_rows_of_one_pass(con):
    n_articles = con.execute("SELECT count(DISTINCT pmid) FROM core.effects").fetchone()[0]
    assert n_articles > 9  # chunks of 3 articles: several transactions
    refresh_crosscheck(con, chunk_pmids=n_articles)
    one_pass = stored_crosscheck(con)
    con.execute("DELETE FROM marts.registry_crosscheck")
    refresh_crosscheck(con, chunk_pmids=3)
    assert stored_crosscheck(con) == one_pass
    assert con.execute(
        "SELECT count(DISTINCT checked_at) FROM marts.registry_crosscheck"
    ).fetchone() == (1,)


def test_a_refresh_stopped_part_way_keeps_whole_articles_and_running_it_again_completes_it(
    con, monkeypatch
):
    from pipeline.registry import crosscheck as module

    refresh_crosscheck(con)
    expected = stored_crosscheck(con)
    con.execute("UPDATE marts.registry_crosscheck SET detail = 'from an earlier comparison'")
    con.execute(
        "INSERT INTO marts.registry_crosscheck (effect_id, pmid, kind, status, n_candidates, "
        "checked_at) VALUES ('no longer extracted', '1', 'mean_difference', 'differs', 1, "
        "now()::TIMESTAMP)"
    )
    done: list[str] = []
    whole_chunk = module._refresh_chunk

    def stopped_at_the_third_chunk(con, pmids, *args):
        if len(done) == 6:
            raise RuntimeError("stopped")
        whole_chunk(con, pmids, *args)
        done.extend(pmids)

    monkeypatch.setattr(module, "_refresh_chunk", stopped_at_the_third_chunk)
    with pytest.raises(RuntimeError, match="stopped"):
        refresh_crosscheck(con, chunk_pmids=3)
    rows = con.execute("SELECT effect_id, pmid, detail FROM marts.registry_crosscheck").fetchall()
    assert "no longer extracted" not in {effect_id for effect_id, _, _ in rows}
    assert len(rows) == len(expected)
    assert all(
        (detail == "from an earlier comparison") == (pmid not in done) for _, pmid, detail in rows
    )
    monkeypatch.undo()
    refresh_crosscheck(con, chunk_pmids=3)
    assert stored_crosscheck(con) == expected


# --- per-arm counts and trial outcomes ----------------------------------------------------------


def test_registry_counts_are_percentage_times_n_rounded_to_a_whole_person(con):
    counts = registry_arm_counts(con)
    row = counts[(counts["nct_id"] == "NCT02417064") & (counts["outcome"] == "response")
                 & (counts["group_1"] == "OG000")].iloc[0]  # fmt: skip
    assert (row.percent_1, row.n_1, row.events_1) == ("53.0", 115, 61)  # 60.95 -> 61
    assert (row.percent_2, row.n_2, row.events_2) == ("37.2", 113, 42)  # 42.04 -> 42
    assert row.outcome_no == 8  # LOCF, the full analysis set (the observed-data measure is 7)
    assert "rounded to a whole person (53.0% of 115 -> 61; 37.2% of 113 -> 42)" in row.notes
    japan = counts[(counts["nct_id"] == "NCT02918318") & (counts["outcome"] == "remission")]
    assert set(japan["class_title"]) == {"Day 28"}  # the day-28 class, not day 22
    assert set(counts["nct_id"]) == {
        "NCT02417064",
        "NCT02418585",
        "NCT02422186",
        "NCT02918318",
        "NCT03434041",
    }  # fmt: skip  NCT04599855 posts only MADRS change


def test_trial_outcomes_take_registry_counts_where_the_abstract_has_none(con):
    outcomes = marts.trial_outcomes(con)
    assert set(outcomes["source"]) == {"abstract", "registry"}
    registry = outcomes[outcomes["source"] == "registry"]
    assert set(registry["outcome"]) == {"response", "remission"}
    assert registry["yi"].notna().all() and (registry["timepoint_window"] == "~day 28").all()
    assert (
        registry["registry_source"].str.match(r"NCT\d{8} outcome \d+ \(OG\d{3} vs OG\d{3}\)").all()
    )
    assert registry["notes"].str.contains("rounded to a whole person").all()
    assert "31290965" in set(registry["pmid"])  # TRANSFORM-1, its abstract gives no rates
    abstract_rr = outcomes[(outcomes["source"] == "abstract") & outcomes["yi"].notna()
                           & outcomes["outcome"].isin(["response", "remission"])]  # fmt: skip
    both = set(zip(abstract_rr["pmid"], abstract_rr["outcome"], strict=True)) & set(
        zip(registry["pmid"], registry["outcome"], strict=True)
    )
    assert not both  # never both sources for one trial and outcome


# --- where the reviewer and the reader see it ---------------------------------------------------


def test_the_review_queue_shows_a_difference_to_the_reviewer(con):
    con.execute(
        "UPDATE core.effects SET value = -5.3 WHERE pmid = ? AND value = -5.1", [MONOTHERAPY]
    )
    refresh_crosscheck(con)
    queue = review.review_queue(con, [MONOTHERAPY])
    planted = queue[queue["value"] == -5.3]
    assert list(planted["registry_check"]) == ["differs"]
    out = io.StringIO()
    review.interactive_review(con, planted, "Test Reviewer", stdin=io.StringIO("s\n"), stdout=out)
    assert "registry NCT04599855 DIFFERS: differs: value -5.3 vs -5.1" in out.getvalue()
    agreeing = queue[queue["value"] == -6.8]
    assert list(agreeing["registry_check"]) == ["agrees"]


def test_the_sheet_carries_the_cross_check_in_its_provenance(con):
    ids = list(review.current_effects(con, [JAPAN]).effect_id)
    review.record_decisions(con, [review.Decision(i, review.VERIFIED) for i in ids], "Reviewer")
    built = sheet.build_sheet(con)
    html = sheet.render_html(built)
    assert 'data-registry-check="agrees"' in html
    assert "Registry cross-check: ClinicalTrials.gov NCT02918318: agrees: value -15.2" in html
