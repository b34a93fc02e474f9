"""The evidence sheet reads arms from the study structure (core.arms through the effects' arm
ids), never from the extraction's arm words: statements as a clinician writes them."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from structured_warehouse import ArmRow, EffectRow, Study, build

from pipeline import warehouse
from pipeline.evidence import corrections, review, sheet

KETECT = Study(
    pmid="900001",
    abstract=(
        "BACKGROUND: Ketamine was compared with ECT. RESULTS: Remission rates were 63% with ECT "
        "and 46% with ketamine. Relapse occurred in 70% after ketamine."
    ),
    design="rct",
    drugs=["ketamine"],
    routes=["iv"],
    n_randomized=186,
    arms=[
        ArmRow(1, "Ketamine", "intervention", "ketamine", route="iv"),
        ArmRow(2, "ECT", "active", "ect"),
    ],
    effects=[
        EffectRow("remission_rate", 63, "63%", arm=2),
        EffectRow("remission_rate", 46, "46%", arm=1),
        # the rules' words name a drug, but no arm id says whose rate it is
        EffectRow("relapse_rate", 70, "70%", arm_words="ketamine"),
    ],
)

DOSES = Study(
    pmid="900002",
    abstract=(
        "METHODS: Adults were randomized to esketamine 56 mg, esketamine 84 mg or placebo. "
        "RESULTS: The MADRS difference between the higher and the lower dose was -2.1 "
        "(95% CI, -4.0 to -0.2) at day 28. In stable remitters, relapse occurred in 26.7% with "
        "esketamine and 45.3% with placebo."
    ),
    design="rct",
    drugs=["esketamine"],
    routes=["intranasal"],
    n_randomized=300,
    arms=[
        ArmRow(
            1,
            "esketamine 56 mg",
            "intervention",
            "esketamine",
            56,
            "mg",
            "56 mg",
            "intranasal",
            100,
        ),
        ArmRow(
            2,
            "esketamine 84 mg",
            "intervention",
            "esketamine",
            84,
            "mg",
            "84 mg",
            "intranasal",
            100,
        ),
        ArmRow(3, "placebo", "placebo", "placebo", n_randomized=100),
        ArmRow(4, "esketamine", "intervention", "esketamine", route="intranasal"),
    ],  # fmt: skip
    effects=[
        EffectRow(
            "mean_difference",
            -2.1,
            "-2.1 (95% CI, -4.0 to -0.2)",
            arm=2,
            comparator=1,
            ci=(-4.0, -0.2),
            scale="MADRS",
            timepoint="day 28",
            timepoint_days=28,
            arm_words="antidepressant vs antidepressant/placebo",
        ),
        EffectRow("relapse_rate", 26.7, "26.7%", arm=4, subgroup="stable remitters"),
        EffectRow("relapse_rate", 45.3, "45.3%", arm=3, subgroup="stable remitters"),
    ],  # fmt: skip
)


@pytest.fixture()
def built(warehouse_template: Path, tmp_path: Path) -> tuple[Path, sheet.EvidenceSheet]:
    path = build(warehouse_template, tmp_path / "structured.duckdb", [KETECT, DOSES])
    con = warehouse.connect(path, read_only=True)
    try:
        return path, sheet.build_sheet(con)
    finally:
        con.close()


def statements(built_sheet: sheet.EvidenceSheet, treatment: str) -> list[sheet.Statement]:
    return [
        statement
        for section in built_sheet.sections
        if section.treatment.key == treatment
        for topic in section.topics
        for study in topic.studies
        for statement in study.statements
    ]


def test_two_arms_rates_from_one_sentence_are_one_statement_led_by_the_sections_drug(built):
    """The abstract names ECT's rate first; the IV ketamine section leads with ketamine's own."""
    path, shown = built
    texts = [s.plain_text for s in statements(shown, "iv_ketamine")]
    assert "46% of people with ketamine and 63% with ECT were in remission." in texts
    combined = next(s for s in statements(shown, "iv_ketamine") if "remission" in s.plain_text)
    con = warehouse.connect(path, read_only=True)
    ids = dict(
        con.execute("SELECT quote, effect_id FROM core.effects WHERE pmid = '900001'").fetchall()
    )
    con.close()
    assert combined.effect_ids == [ids["46%"], ids["63%"]]
    page = lxml.html.fromstring(sheet.render_html(shown))
    item = page.xpath(f"//li[@data-effect-id='{ids['46%']}']")[0]
    assert item.get("data-effect-ids") == f"{ids['46%']} {ids['63%']}"
    spans = item.xpath(".//span[@data-effect-id]")
    assert [(s.text, s.get("data-effect-id")) for s in spans] == [
        ("46%", ids["46%"]),
        ("63%", ids["63%"]),
    ]
    abstract = KETECT.abstract
    for span in spans:
        assert abstract[int(span.get("data-start")) : int(span.get("data-end"))] == span.text


def test_an_effect_without_an_arm_id_is_not_shown_however_its_words_read(built):
    _, shown = built
    texts = " ".join(s.plain_text for s in statements(shown, "iv_ketamine"))
    assert "70%" not in texts
    assert shown.n_no_arm == 1
    assert "1 verified result(s) do not say which group of people they are about" in (
        sheet.render_markdown(shown)
    )


def test_a_dose_arm_difference_names_both_doses(built):
    _, shown = built
    texts = [s.plain_text for s in statements(shown, "intranasal_esketamine")]
    assert (
        "Scores differed by -2.1 points on the MADRS scale with esketamine 84 mg compared with "
        "esketamine 56 mg (likely range -4.0 to -0.2) at day 28."
    ) in texts
    assert not any("antidepressant" in text for text in texts)


def test_a_subgroup_is_named(built):
    _, shown = built
    texts = [s.plain_text for s in statements(shown, "intranasal_esketamine")]
    assert (
        "In stable remitters, 26.7% of people with esketamine and 45.3% with placebo had a relapse."
    ) in texts


def test_a_corrected_arm_naming_an_arm_of_the_study_takes_that_arm(built, tmp_path):
    """A reviewer corrects the 63% to the ketamine arm's label: it is ketamine's rate now, said
    in the reviewer's words and marked as corrected."""
    path, _ = built
    con = warehouse.connect(path)
    effects = review.current_effects(con).set_index("quote")
    target = effects.loc["63%", "effect_id"]
    corrections.record_corrections(con, target, [corrections.Correction("arm", "Ketamine")], "Dr A")
    review.record_decision(con, target, review.VERIFIED, "Dr A")
    shown = sheet.build_sheet(con)
    con.close()
    texts = [s.plain_text for s in statements(shown, "iv_ketamine")]
    assert "63% of people with Ketamine were in remission." in texts
    corrected = next(s for s in statements(shown, "iv_ketamine") if s.effect_id == target)
    assert corrected.corrections and "arm was not given, now 'Ketamine'" in corrected.corrections[0]


def test_the_arm_drug_from_the_study_structure_places_an_effect():
    """In a trial of oral ketamine against esketamine nasal spray, an effect is placed by its
    arm's drug and route in core.arms, or not at all."""
    facts = {"drug": ["ketamine", "esketamine"], "route": ["oral", "intranasal"]}
    assert sheet.treatment_of(facts, None) is None
    assert sheet.treatment_of(facts, "esketamine").key == "intranasal_esketamine"
    assert sheet.treatment_of(facts, "ketamine") is None  # no oral-ketamine section
    assert sheet.treatment_of(facts, "placebo") is None  # whose comparator? not guessed
    single = {"drug": ["ketamine"], "route": ["iv"]}
    assert sheet.treatment_of(single, "ect").key == "iv_ketamine"  # the trial's comparator arm
    assert sheet.treatment_of(single, "esketamine") is None  # another drug's arm
