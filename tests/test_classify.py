"""Trial facts: design, drug, route, population, comparator, N randomized and arms."""

from __future__ import annotations

import json

import pytest

from pipeline.classify import TrialFacts, classify


def facts(title: str, abstract: str = "", pubtypes=()) -> TrialFacts:
    return classify(title, abstract, publication_types=pubtypes)


@pytest.mark.parametrize(
    ("title", "abstract", "pubtypes", "design"),
    [
        ("Esketamine for TRD: a systematic review and meta-analysis", "", (), "review"),
        ("Ketamine in depression", "We summarise the evidence.", ("Review",), "review"),
        (
            "Oral esketamine: rationale and design of a randomized controlled trial",
            "",
            (),
            "protocol",
        ),
        ("Esketamine-induced dissociation: a case report", "", (), "case_report"),
        ("Correction to: Oral esketamine for depression", "", ("Published Erratum",), "other"),
        ("Cost-effectiveness of esketamine nasal spray", "A decision-analytic model.", (), "other"),
        ("Ketamine and DRL behavior in rats", "Rats received ketamine.", (), "other"),
        (
            "Esketamine versus quetiapine: a post hoc analysis of ESCAPE-TRD",
            "Patients were randomized 1:1.",
            ("Randomized Controlled Trial",),
            "post_hoc",
        ),
        (
            "Sleep during ketamine treatment",
            "This is a post-hoc analysis of a naturalistic observational study of 28 inpatients.",
            (),
            "observational",
        ),
        (
            "Single and repeated ketamine infusions",
            "A randomized double-blind crossover comparison of ketamine and midazolam.",
            (),
            "crossover_rct",
        ),
        (
            "Ketamine versus ECT (KetECT)",
            "Patients were randomized (1:1) to ketamine or ECT in an open-label study.",
            (),
            "rct",
        ),
        (
            "An open-label, single-arm study of esketamine",
            "Adults were enrolled.",
            (),
            "open_label",
        ),
        (
            "Esketamine initiation in claims data",
            "A retrospective cohort study.",
            (),
            "observational",
        ),
        ("Thoughts on ketamine", "Ketamine is interesting.", (), None),
        (
            "Ketamine and the glutamate hypothesis",
            "In this review, we discuss randomized controlled trials of ketamine in depression.",
            (),
            "review",
        ),
        (
            "Esketamine: where next?",
            "Areas covered: the randomized trials of esketamine. Expert opinion: more are needed.",
            (),
            "review",
        ),
        (
            "Esketamine clinical trials: a reply",
            "The randomized trials of esketamine were well designed.",
            ("Comment", "Letter"),
            "other",
        ),
        (
            "Ketamine prescriptions and suicide attempts",
            "A case-control study of pharmacy records.",
            (),
            "observational",
        ),
        (
            "Subcutaneous esketamine and blood pressure",
            "METHODS: Seventy TRD patients received 394 weekly s.c. esketamine injections.",
            (),
            "open_label",
        ),
        (
            "Side effects of a single ketamine infusion",
            "Data from 188 participants were pooled from four crossover trials and one open-label "
            "study.",
            (),
            "post_hoc",
        ),
        (
            "Subjective effects and outcome",
            "We performed a meta-analysis and systematic review on the correlation of dissociation "
            "and outcome in randomized trials.",
            (),
            "review",
        ),
        (
            "Costs after esketamine initiation",
            "Adults were selected from MarketScan Commercial Databases (2016 to 2022).",
            (),
            "observational",
        ),
        (
            "Ketamine in a zebrafish model of stress",
            "Zebrafish larvae were exposed to ketamine.",
            (),
            "other",
        ),
    ],
)
def test_design(title: str, abstract: str, pubtypes, design: str | None) -> None:
    assert facts(title, abstract, pubtypes).design == design


def test_drug_and_route_from_the_title_first() -> None:
    result = facts(
        "Intravenous esketamine in adult treatment-resistant depression",
        "Prior trials suggest that intranasal racemic ketamine works. Esketamine .20 mg/kg "
        "was given.",
    )
    assert result.drug == ["esketamine"]
    assert result.route == ["iv"]


def test_routes_and_drugs_of_earlier_studies_in_the_background_do_not_count() -> None:
    abstract = (
        "BACKGROUND: Most studies of ketamine used intravenous (IV) or intranasal (IN) routes; IV "
        "ketamine works, and IV infusions are costly. METHODS: We gave subcutaneous esketamine "
        "weekly to 30 patients. RESULTS: Esketamine was well tolerated."
    )
    result = facts("Subcutaneous esketamine for depression", abstract)
    assert result.drug == ["esketamine"]
    assert result.route == ["sc"]
    # Without a route in the title, the study's own sections decide.
    assert facts("Esketamine for depression", abstract).route == ["sc"]
    # The same words in a study's own methods count.
    own = abstract.replace("BACKGROUND:", "METHODS:", 1)
    assert facts("Subcutaneous esketamine for depression", own).route == ["iv", "sc"]


def test_the_background_section_ends_at_the_next_label() -> None:
    from pipeline.classify import without_background

    text = "BACKGROUND: Earlier work. Objective: To test. RESULTS: It worked."
    assert without_background(text) == "Objective: To test. RESULTS: It worked."
    assert without_background("Ketamine works: it is fast.") == "Ketamine works: it is fast."
    assert without_background("BACKGROUND: Only background.") == "BACKGROUND: Only background."


def test_a_comparator_drug_named_again_and_again_is_kept() -> None:
    abstract = (
        "KET01 (oral ketamine) was compared with intranasal esketamine. Intranasal esketamine "
        "induced dissociation; esketamine raised blood pressure; intranasal esketamine "
        "peaked early."
    )
    result = facts("Oral prolonged-release ketamine for depression", abstract)
    assert result.drug == ["ketamine", "esketamine"]
    assert result.route == ["intranasal", "oral"]


def test_oral_antidepressant_is_not_an_oral_route() -> None:
    result = facts("Esketamine nasal spray plus an oral antidepressant", "A randomized trial.")
    assert result.route == ["intranasal"]


def test_racemic_ketamine_is_not_read_inside_esketamine() -> None:
    assert facts("Esketamine for depression").drug == ["esketamine"]
    assert facts("Arketamine and (S)-ketamine", "").drug == ["esketamine", "arketamine"]
    assert facts("Subcutaneous racemic ketamine", "").drug == ["ketamine"]


def test_population_and_comparator() -> None:
    result = facts(
        "Ketamine versus midazolam in treatment-resistant depression",
        "Adults with TRD and suicidal ideation were randomly assigned to ketamine or midazolam "
        "(an active placebo).",
    )
    assert result.population == ["trd", "suicidal_ideation"]
    assert result.comparator == ["midazolam"]


def test_n_randomized_and_arms() -> None:
    abstract = (
        "METHODS: Patients were randomized. RESULTS: Of the 202 patients randomized in the DB "
        "induction phase (esketamine [n = 122] or placebo [n = 80]), scores decreased."
    )
    result = facts("A randomized trial of esketamine", abstract)
    assert result.design == "rct"
    assert result.n_randomized == 202
    assert result.arms == [{"label": "esketamine", "n": 122}, {"label": "placebo", "n": 80}]


@pytest.mark.parametrize(
    ("sentence", "n"),
    [
        ("In total, 67 (45 women) of 68 randomized patients received treatment.", 68),
        ("Of 435 patients screened, 227 underwent randomization.", 227),
        ("Eligible patients (N = 346) were randomized (1:1:1) to nasal spray.", 346),
        (
            "A total of 315 women undergoing cesarean section were randomized into three groups.",
            315,
        ),
        ("Forty-one participants completed a randomized crossover comparison.", 41),
        ("Of 676 patients, 336 were randomised to esketamine and 340 to quetiapine.", 676),
        ("Sixty patients with bipolar depression were assigned to two randomized arms.", 60),
        ("In all, 212 adults were allocated to the arms of this randomised trial.", 212),
        (
            "In this randomized trial, 150 patients were assigned to the ketamine group and 148 "
            "to the ECT group.",
            298,
        ),
    ],
)
def test_n_randomized_forms(sentence: str, n: int) -> None:
    assert facts("A randomized controlled trial of ketamine", sentence).n_randomized == n


def test_counts_that_are_not_people_are_not_n() -> None:
    abstract = "Data sources were four phase III randomized studies of esketamine."
    assert facts("A post hoc study of esketamine", abstract).n_randomized is None


def test_a_count_after_a_comparison_sign_is_not_n() -> None:
    abstract = "We pooled randomized trials; subgroups with <12 patients were not analysed."
    assert facts("A post hoc analysis of esketamine trials", abstract).n_randomized is None


def test_arms_written_with_upper_case_n_in_one_sentence() -> None:
    abstract = (
        "This secondary analysis used trial data. Ketamine-treated patients (N = 121) improved "
        "more than midazolam-treated patients (N = 118) on every item."
    )
    result = facts("A secondary analysis of a ketamine trial", abstract)
    assert [arm["n"] for arm in result.arms] == [121, 118]
    assert result.arms[0]["label"] == "Ketamine"
    assert result.n_randomized == 239


def test_arms_written_as_doses_after_the_first_take_its_drug() -> None:
    abstract = (
        "Participants were randomized (3:1:1:1) to placebo (n = 33), esketamine 28 mg (n = 11), "
        "56 mg (n = 11), or 84 mg (n = 12) twice weekly."
    )
    assert facts("Esketamine dose study", abstract, ("Randomized Controlled Trial",)).arms == [
        {"label": "placebo", "n": 33},
        {"label": "esketamine 28 mg", "n": 11},
        {"label": "esketamine 56 mg", "n": 11},
        {"label": "esketamine 84 mg", "n": 12},
    ]


@pytest.mark.parametrize(
    ("abstract", "n"),
    [
        ("Twenty-four participants (19-49 years) were randomized to one of two sequences.", 24),
        ("A single-arm study. A total of 135 patients with depression received ketamine.", 135),
        ("An open-label study. Seventy TRD patients received weekly esketamine.", 70),
    ],
)
def test_n_with_words_or_a_bracket_between_count_and_verb(abstract: str, n: int) -> None:
    assert facts("Esketamine study", abstract).n_randomized == n


@pytest.mark.parametrize(
    ("abstract", "n"),
    [
        ("An online survey. RESULTS: Of the 1088 people who registered, 93.3% reported depression.",
         1088),
        ("A real-world study of HRV in 18 patients (55.6% males) treated with esketamine.", 18),
    ],
)  # fmt: skip
def test_the_sample_of_a_study_without_randomisation(abstract: str, n: int) -> None:
    assert facts("Ketamine in practice", abstract).n_randomized == n


def test_a_subgroup_count_in_brackets_is_not_the_sample() -> None:
    abstract = "A retrospective study. Remission occurred in 12 patients (n = 12 of 40) at week 4."
    assert facts("Ketamine in practice", abstract).n_randomized != 12


def test_a_genetic_association_study_not_of_trials_is_other() -> None:
    title = "Genome-wide association study of esketamine treatment response"
    assert facts(title, "A GWAS in cohorts of European ancestry (n = 527).").design == "other"
    trials = "Participants from two phase 3 trials of esketamine were genotyped."
    assert facts("Genetic polymorphism and esketamine response", trials).design == "post_hoc"


def test_cohorts_are_summed_for_n_but_are_not_arms() -> None:
    abstract = (
        "A retrospective claims study. RESULTS: The study comprised four cohorts: esketamine "
        "(n = 107; mean age: 45.5 years), ECT (n = 55), TMS (n = 443), and SGA (n = 4374)."
    )
    result = facts("Disability days after esketamine", abstract)
    assert (result.design, result.n_randomized, result.arms) == ("observational", 4979, [])
    listed = (
        "A retrospective database study. The number of patients in the respective cohorts was 122 "
        "for esketamine, 336 for ECT, and 4496 for antidepressant monotherapy."
    )
    assert facts("Costs after esketamine", listed).n_randomized == 4954
    included = (
        "A claims database study. In the Commercial-MA cohort, 201,937 patients were included. In "
        "the Medicaid cohort, 51,206 patients were included."
    )
    assert facts("Esketamine initiation", included).n_randomized == 253143


def test_a_post_hoc_analysis_takes_its_cohorts_as_the_trial_arms() -> None:
    abstract = (
        "A post hoc analysis of ESCAPE-TRD. The esketamine cohort included 165 patients, and "
        "quetiapine cohort included 156 patients."
    )
    result = facts("Work productivity with esketamine", abstract)
    assert result.design == "post_hoc"
    assert (result.n_randomized, result.arms) == (
        321,
        [{"label": "esketamine", "n": 165}, {"label": "quetiapine", "n": 156}],
    )


def test_age_groups_and_results_outside_trials_are_not_arms() -> None:
    abstract = (
        "An open-label study of 135 patients compared younger adult (n = 116) and older (n = 19) "
        "patients. Remission in treated patients from SUSTAIN-2 (n=512) was 25.6% and in the "
        "total combined population (N=696) lower."
    )
    result = facts("Repeated ketamine in older and younger adults", abstract)
    assert result.arms == []


def test_arms_counted_as_assigned_patients() -> None:
    abstract = (
        "A post hoc analysis of a subset of trial patients. Five of the 9 esketamine-assigned "
        "patients responded, and 2 of the 8 placebo-assigned patients responded."
    )
    result = facts("Remote ratings of esketamine response", abstract)
    assert result.arms == [{"label": "esketamine", "n": 9}, {"label": "placebo", "n": 8}]
    assert result.n_randomized == 17


def test_whole_sample_written_as_n_in_brackets() -> None:
    abstract = "We conducted an open-label trial of oral ketamine in outpatients (n = 24)."
    assert facts("Open-label oral ketamine for depression", abstract).n_randomized == 24


def test_patients_self_administering_are_counted() -> None:
    abstract = (
        "This is a post-hoc analysis of an open-label study. During induction, 512 patients "
        "self-administered esketamine twice weekly."
    )
    assert facts("Esketamine dosing frequency: analysis", abstract).n_randomized == 512


def test_observational_groups_with_n_are_arms_but_protocol_plans_are_not() -> None:
    abstract = (
        "This retrospective study divided patients into an esketamine group (EK group, n = 40) "
        "and a control group (C group, n = 38)."
    )
    result = facts("Esketamine and postoperative mood: a retrospective cohort", abstract)
    assert result.design == "observational"
    assert [arm["n"] for arm in result.arms] == [40, 38]
    protocol = "Patients will be randomized to ketamine (n = 50) or placebo (n = 50)."
    assert facts("Ketamine for depression: study protocol", protocol).arms == []


def test_arms_summed_when_no_total_is_written() -> None:
    abstract = (
        "Participants were randomized to esketamine, 56 mg [n = 86]; esketamine, 84 mg "
        "[n = 95]; or placebo [n = 197]."
    )
    result = facts("Esketamine monotherapy: a randomized clinical trial", abstract)
    assert [arm["n"] for arm in result.arms] == [86, 95, 197]
    assert result.n_randomized == 378


def test_reviews_have_no_n_or_comparator() -> None:
    result = facts("Ketamine: a systematic review", "We included 44 studies with 1,000 patients.")
    assert (result.n_randomized, result.comparator, result.arms) == (None, None, [])


def test_dose_schedule_and_anaesthesia() -> None:
    result = facts(
        "Esketamine for postoperative analgesia after cesarean section",
        "Esketamine 0.25 mg/kg was given as a single injection during surgery.",
    )
    assert result.dose == "0.25 mg/kg"
    assert result.schedule == "single injection"
    assert result.anaesthesia_or_pain is True
    depression = facts("Twice-weekly ketamine for depression", "Ketamine 0.5 mg/kg twice weekly.")
    assert depression.schedule == "twice weekly"
    assert depression.anaesthesia_or_pain is False


def test_unknown_stays_null() -> None:
    result = facts("", "")
    assert (result.design, result.drug, result.route, result.n_randomized) == (None,) * 4
    assert (result.population, result.comparator, result.anaesthesia_or_pain) == (None,) * 3


def test_facts_are_json_ready() -> None:
    result = facts("A randomized trial of esketamine", "Patients (n = 10) were randomized.")
    assert json.loads(json.dumps(result.to_dict()))["design"] == "rct"


def test_real_landmark_records(pubmed_records) -> None:
    records = {
        r["pmid"]: r
        for r in map(json.loads, (pubmed_records / "landmark.jsonl").read_text().splitlines())
    }
    sustain = records["31166571"]
    result = classify(sustain["title"], sustain["abstract"], publication_types=sustain["pubtypes"])
    assert (result.design, result.drug, result.route) == ("rct", ["esketamine"], ["intranasal"])
    assert result.n_randomized == 297
    kads = records["38108319"]
    result = classify(kads["title"], kads["abstract"], publication_types=kads["pubtypes"])
    assert (result.drug, result.route, result.comparator) == (["ketamine"], ["sc"], ["midazolam"])


def test_lower_case_guard_lists_every_character_lowered_unlike_ascii() -> None:
    # The lower-cased scans are exact only where str.lower() lowers like re.I | re.A.
    from pipeline.classify import _LOWER_NOT_ASCII_SAFE

    unsafe = {
        char
        for char in map(chr, range(0x80, 0x110000))
        if len(char.lower()) != 1 or char.lower().isascii()
    }
    assert unsafe == set(_LOWER_NOT_ASCII_SAFE)


@pytest.mark.parametrize(
    "text",
    [
        "Patients with TRD, MDD and PTSD versus saline",
        "treatment-RESISTANT depression in the eLdErLy",
        "\u212aetamine vs placebo in MDD",  # Kelvin sign: not a "k" to re.ASCII
        "\u0130nteresting trd",
        "major depressi\u0130",  # lower-cased, "İ" would end in an ASCII "i": a match
        "Older Adults aged 65 and over, \u2265 65 years",
        "",
    ],
)
def test_population_and_comparator_match_as_case_insensitive_ascii(text: str) -> None:
    import re

    from pipeline.classify import _COMPARATORS, _POPULATIONS, _has_needle, _labels

    for patterns in (_POPULATIONS, _COMPARATORS):
        # the plain form: each pattern, case-insensitive ASCII, on the text as written
        expected = [
            name
            for name, pattern in patterns
            if _has_needle(name, text, text.lower()) and re.search(pattern, text, re.I | re.A)
        ]
        assert _labels(patterns, text) == expected


@pytest.mark.parametrize("kelvin", ["", " with a \u212a sign in the text"])
def test_counts_read_alike_in_lower_case_and_as_written(kelvin: str) -> None:
    # Without the Kelvin sign the count patterns read the lower-cased text, with it as written.
    abstract = (
        f"Methods: Forty-One adults WERE RANDOMIZED to ketamine or midazolam{kelvin}. "
        "Results: response was 52% vs 20%."
    )
    result = classify("A randomized trial of ketamine", abstract)
    assert result.n_randomized == 41


@pytest.mark.parametrize(
    "text",
    [
        "A Randomized, Double-Blind, Post Hoc Analysis of a Cohort Study in Mice",
        "Patients were RANDOMLY ASSIGNED; a subset of the patients had surgery (anesthesia).",
        "Open-label, single-arm, real-world registry data; 0.5 mg/kg or 1.0 mg/kg ketamine",
        "Secondary analys\u0130s of a randomized \u212aetamine trial",  # lowered unlike ASCII
        "",
    ],
)
def test_gated_patterns_find_what_the_plain_patterns_find(text: str) -> None:
    import re

    from pipeline.extract.facts import FAMILY_MODULES
    from pipeline.extract.facts.matching import Gated

    gated = [v for m in FAMILY_MODULES for v in vars(m).values() if isinstance(v, Gated)]
    assert len(gated) >= 20
    for pattern in gated:
        plain = re.compile(pattern.regex.pattern, re.I | re.A)
        opened = any(needle in text.lower() for needle in pattern.needles)
        expected = plain.search(text) if opened else None
        found = pattern.search(text)
        assert (found and found.span()) == (expected and expected.span()), pattern.regex.pattern


def test_capital_needles_found_in_one_scan_as_by_substring_tests() -> None:
    import random

    from pipeline.classify import _CAPITAL_NEEDLES, _capital_needles_in

    pieces = [*_CAPITAL_NEEDLES, "HAM-A", "QIDS-SR", "xMADRS", " ", "-", "a", "S", "SS", "I"]
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        expected = {needle for needle in _CAPITAL_NEEDLES if needle in text}
        assert _capital_needles_in(text) == expected, text


def test_phase_iv_is_not_an_intravenous_route() -> None:
    abstract = "Trials of ketamine have reached phase III and phase IV status."
    assert facts("Ketamine in clinical trials", abstract).route is None
    assert facts("Ketamine in clinical trials", "Ketamine was given IV weekly.").route == ["iv"]


def test_infusions_of_a_hyphenated_dose_are_intravenous() -> None:
    title = "Anhedonia after consecutive infusions of low-dose esketamine"
    assert facts(title, "Sixty patients were enrolled.").route == ["iv"]


def test_oral_in_a_list_of_routes_counts() -> None:
    abstract = (
        "The studies used intravenous, intramuscular, intranasal, oral and sublingual routes of "
        "ketamine."
    )
    assert facts("Ketamine and addiction: a systematic review", abstract).route == [
        "iv", "intranasal", "oral", "im", "sublingual",
    ]  # fmt: skip
    assert facts("Esketamine nasal spray plus an oral antidepressant", "").route == ["intranasal"]


@pytest.mark.parametrize(
    ("pattern", "fast"),
    [
        (r"\bIV\b", r"I(?<=\bI)V\b"),
        (r"\bintravenous(?:ly)?\b|\bi\.v\.", r"i(?<=\bi)ntravenous(?:ly)?\b|i(?<=\bi)\.v\."),
        (r"\b(?:mice|rats?)\b|in vitro", r"m(?<=\bm)ice\b|r(?<=\br)ats?\b|in vitro"),
        (r"\b(?:a )?subset", r"\b(?:a )?subset"),  # a quantified group: left as it is
        (r"\b(?P<n>\d+) patients", r"\b(?P<n>\d+) patients"),  # a named group: left as it is
    ],
)
def test_first_character_form(pattern: str, fast: str) -> None:
    from pipeline.classify import first_character_form

    assert first_character_form(pattern) == fast


def test_first_character_form_finds_what_the_pattern_finds(pubmed_records) -> None:
    import re

    import pipeline.classify as classify_module
    from pipeline.classify import first_character_form

    texts = [
        json.loads(line)["abstract"] or ""
        for name in ("search_sample_a.jsonl", "search_sample_b.jsonl")
        for line in (pubmed_records / name).read_text(encoding="utf-8").splitlines()
    ]
    texts += ["phase IV, IV ketamine, xIV, i.v. and IVs", "Mice, rats, RATS; in vitro"]
    from pipeline.extract.facts import FAMILY_MODULES
    from pipeline.extract.facts.matching import Gated

    patterns = [v.plain for m in FAMILY_MODULES for v in vars(m).values() if isinstance(v, Gated)]
    patterns += [pattern for _, pattern in classify_module._ROUTES]
    for pattern in patterns:
        plain, fast = (
            re.compile(pattern, re.I | re.A),
            re.compile(first_character_form(pattern), re.I | re.A),
        )
        for text in texts:
            assert [m.span() for m in fast.finditer(text)] == [
                m.span() for m in plain.finditer(text)
            ], pattern


def test_a_year_is_never_the_number_enrolled():
    """Seen: "Between Feb 14, 2018, and June 27, 2023, we enrolled 3209 patients" gave 2023."""
    abstract = (
        "FINDINGS: Between Feb 14, 2018, and June 27, 2023, we enrolled 3209 patients (mean age "
        "68 years). Events were fewer with colchicine."
    )
    facts = classify("Colchicine after surgery: a randomised trial", abstract)
    assert facts.n_randomized in (None, 3209)
    assert facts.n_randomized != 2023


# --- wording classes seen on abstracts the rules were not written from (each its own paraphrase)


def test_a_count_right_after_a_year_is_still_read():
    abstract = "Between 2016 and 2020, 88 adults were randomized to ketamine or midazolam."
    assert classify("A randomized trial of ketamine", abstract).n_randomized == 88


@pytest.mark.parametrize(
    ("abstract", "dose"),
    [
        ("Adults received esketamine .5 mg/kg subcutaneously.", ".5 mg/kg"),
        ("Adults received esketamine 0.5 mg intravenously.", "0.5 mg"),
        ("Ketamine 0.25 or 0.5 mg/kg was given.", "0.25 or 0.5 mg/kg"),
    ],
)
def test_a_dose_is_never_a_piece_of_a_decimal(abstract, dose):
    assert facts("Esketamine for depression", abstract).dose == dose


def test_an_arm_label_starts_after_the_words_of_assignment():
    abstract = "Adults were randomly assigned to esketamine (n = 40) or to placebo (n = 38)."
    arms = facts("A randomized trial of esketamine", abstract).arms
    assert [(a["label"], a["n"]) for a in arms] == [("esketamine", 40), ("placebo", 38)]


@pytest.mark.parametrize(
    ("abstract", "arms", "n"),
    [
        (
            "Of 120 adults screened, 101 were randomized (drug X n = 50, placebo n = 51).",
            [("drug X", 50), ("placebo", 51)],
            101,
        ),
        (
            "RESULTS: Seventy adults took part: 36 in the usual care arm and 34 in the ketamine "
            "arm.",
            [("usual care arm", 36), ("ketamine arm", 34)],
            70,
        ),
        (
            "In all, 300 were randomized with 99, 101 and 100 assigned to drug A, drug B, and "
            "placebo, respectively.",
            [("drug A", 99), ("drug B", 101), ("placebo", 100)],
            300,
        ),
        (
            "Relapse occurred in 20 (5.1%) of 392 patients assigned to ketamine and 31 (8.0%) of "
            "388 patients assigned to placebo.",
            [("ketamine", 392), ("placebo", 388)],
            780,
        ),
        (
            "RESULTS: An event occurred in 504 of 2833 patients (17.8%) in the drugx group and "
            "600 of 2841 patients (21.1%) in the placebo group.",
            [("drugx group", 2833), ("placebo group", 2841)],
            5674,
        ),
        (
            "RESULTS: There were 273 patients in the surgical group and 257 in the antibiotic "
            "group.",
            [("surgical group", 273), ("antibiotic group", 257)],
            530,
        ),
    ],
)
def test_arm_sizes_in_lists_and_denominators(abstract, arms, n):
    found = facts("A randomized controlled trial", abstract)
    assert [(a["label"], a["n"]) for a in found.arms] == arms
    assert found.n_randomized == n


@pytest.mark.parametrize(
    "sentence",
    [
        "RESULTS: Nausea was seen with 12 in the ketamine group and 4 in the placebo group.",
        "RESULTS: Seventy were recruited, with 34 in the NS group and 33 in the PL group "
        "available for analysis.",
    ],
)
def test_counts_in_two_groups_of_an_outcome_or_an_analysis_are_not_arm_sizes(sentence):
    assert facts("A randomized controlled trial", sentence).arms == []


def test_sizes_of_outcomes_and_of_the_study_itself_are_not_arms():
    abstract = (
        "METHODS: A randomized, double-blind, crossover pilot trial (n = 12). RESULTS: Sleep "
        "latency fell (n = 9; p = 0.01) and night waking fell (n = 11; p = 0.02)."
    )
    assert facts("A randomized crossover trial of melatonin", abstract).arms == []


def test_one_size_in_a_study_without_randomisation_is_its_sample_not_an_arm():
    abstract = (
        "A retrospective cohort of outpatients receiving esketamine in routine care (n = 150)."
    )
    found = facts("Esketamine in routine care: a retrospective study", abstract)
    assert found.arms == []
    assert found.n_randomized == 150


@pytest.mark.parametrize(
    ("title", "abstract", "n"),
    [
        (
            "Weekly esketamine in bipolar depression",
            "METHODS: 45 adults with bipolar depression were treated with weekly esketamine.",
            45,
        ),
        (
            "Outcomes of rTMS: a retrospective study",
            "We gathered data from 512 patients with a mean age of 48 years.",
            512,
        ),
        (
            "Ketamine clinic outcomes: an observational study",
            "We studied outpatients with TRD (n = 64) treated with IV ketamine.",
            64,
        ),
        (
            "Esketamine in a claims database: a retrospective cohort",
            "RESULTS: The TRD cohort comprised 311 patients; subgroups had 120 and 91 patients.",
            311,
        ),
        (
            "A randomised trial of tranexamic acid at caesarean section",
            "This randomised controlled study included 180 women having a caesarean section.",
            180,
        ),
        (
            "A randomized trial of drug X",
            "In a randomized, double-blind trial of 1402 patients with atrial fibrillation, X "
            "was compared with warfarin.",
            1402,
        ),
    ],
)
def test_sample_sizes_in_other_wordings(title, abstract, n):
    assert facts(title, abstract).n_randomized == n


def test_one_part_of_a_split_total_is_not_the_number_randomized():
    abstract = (
        "Patients were randomly assigned to drug X or warfarin. RESULTS: A total of 2100 patients "
        "presented with a deep-vein clot, and 1300 with a lung clot."
    )
    assert facts("A randomized trial of drug X", abstract).n_randomized in (None, 3400)


def test_summed_arms_are_preferred_to_an_enrolled_count_before_a_lead_in():
    abstract = (
        "Participants were randomized to drug X or placebo after a lead-in. Of 150 participants "
        "enrolled, 131 were included in the analyses (drug X n = 66, placebo n = 65)."
    )
    assert facts("A randomized trial of drug X", abstract).n_randomized == 131
