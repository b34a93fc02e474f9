-- Study structure as data (extractor 1.6.0): the arms of each study in a table of their own, and
-- each effect pointing at them, with the rule that read it. Every CHECK list below is written
-- from pipeline/vocab (`python -m pipeline.vocab.sql`); tests/test_vocab.py holds them equal.
-- core.effects and core.trial_facts are rebuilt (DuckDB cannot add a CHECK to a table); their
-- rows are kept, and the next ingest re-extracts them with the new version.

CREATE TABLE core.arms (
    arm_id            VARCHAR PRIMARY KEY,       -- '<pmid>:<position>'
    pmid              VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    position          INTEGER NOT NULL,          -- 1, 2, ... in the order the arms were found
    label             VARCHAR NOT NULL,          -- the arm's words as written
    start_offset      INTEGER,                   -- abstract[start_offset:end_offset] = label (NULL: not verbatim)
    end_offset        INTEGER,
    role              VARCHAR NOT NULL CHECK (role IN ('intervention', 'placebo', 'active', 'comparator')),
    drug              VARCHAR CHECK (drug IN ('ketamine', 'esketamine', 'arketamine', 'placebo', 'midazolam', 'ect', 'antidepressant', 'other')),
    dose              DOUBLE,                    -- as written: '.5 mg/kg' is 0.5
    dose_unit         VARCHAR,
    dose_text         VARCHAR,                   -- the dose's words as written
    route             VARCHAR CHECK (route IN ('iv', 'intranasal', 'oral', 'sc', 'im', 'sublingual')),
    schedule          VARCHAR,
    n_randomized      INTEGER,
    n_analysed        INTEGER,
    extracted_at      TIMESTAMP NOT NULL
);
CREATE INDEX arms_pmid ON core.arms (pmid);

CREATE TABLE core.effects_rebuilt (
    effect_id         VARCHAR PRIMARY KEY,
    pmid              VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL CHECK (kind IN ('response_rate', 'remission_rate', 'relapse_rate', 'mean_difference', 'smd', 'cohens_d', 'hedges_g', 'odds_ratio', 'risk_ratio', 'hazard_ratio', 'nnt', 'percent_change', 'mean_change', 'other')),
    label             VARCHAR,
    value             DOUBLE NOT NULL,
    ci_low            DOUBLE,
    ci_high           DOUBLE,
    ci_level          DOUBLE,
    p                 DOUBLE,
    p_operator        VARCHAR,
    se                DOUBLE,
    n_events          INTEGER,
    n_total           INTEGER,
    arm               VARCHAR,                   -- the arm words as the rules read them
    timepoint         VARCHAR,                   -- as written
    scale             VARCHAR,
    start_offset      INTEGER NOT NULL,
    end_offset        INTEGER NOT NULL,
    quote             VARCHAR NOT NULL,
    sentence          VARCHAR NOT NULL,
    sentence_start    INTEGER NOT NULL,
    extracted_at      TIMESTAMP NOT NULL,
    rule              VARCHAR,                   -- the rule that read it (pipeline/extract/rules)
    arm_id            VARCHAR,                   -- core.arms: the arm it is about
    comparator_arm_id VARCHAR,                   -- core.arms: the arm it is compared with
    subgroup          VARCHAR,
    population        VARCHAR CHECK (population IN ('trd', 'mdd', 'bipolar_depression', 'suicidal_ideation', 'ptsd', 'postpartum', 'adolescents', 'older_adults')),
    timepoint_days    DOUBLE,                    -- the timepoint in days (day 28: 28; 24 hours: 1)
    direction         VARCHAR CHECK (direction IN ('lower', 'higher'))  -- 'lower ... by' written as a positive size
);
INSERT INTO core.effects_rebuilt BY NAME SELECT * FROM core.effects;
DROP VIEW marts.effects_with_articles;
DROP INDEX core.effects_pmid;
DROP TABLE core.effects;
ALTER TABLE core.effects_rebuilt RENAME TO effects;
CREATE INDEX effects_pmid ON core.effects (pmid);

CREATE TABLE core.trial_facts_rebuilt (
    pmid                VARCHAR PRIMARY KEY,
    extractor_version   VARCHAR NOT NULL,
    article_checksum    VARCHAR NOT NULL,
    design              VARCHAR CHECK (design IN ('rct', 'crossover_rct', 'open_label', 'post_hoc', 'review', 'observational', 'protocol', 'case_report', 'other')),
    drugs               VARCHAR[],
    routes              VARCHAR[],
    population          VARCHAR[],
    comparator          VARCHAR[],
    n_randomized        INTEGER,
    arms                STRUCT(label VARCHAR, n INTEGER)[],
    scales              VARCHAR[],
    dose                VARCHAR,
    schedule            VARCHAR,
    anaesthesia_or_pain BOOLEAN,
    extracted_at        TIMESTAMP NOT NULL
);
INSERT INTO core.trial_facts_rebuilt BY NAME SELECT * FROM core.trial_facts;
DROP TABLE core.trial_facts;
ALTER TABLE core.trial_facts_rebuilt RENAME TO trial_facts;

-- Effects beside their article, trial facts and arms: what the notebooks and the sheet read.
CREATE VIEW marts.effects_with_articles AS
SELECT
    e.effect_id, e.pmid, e.kind, e.label, e.value, e.ci_low, e.ci_high, e.ci_level, e.p,
    e.p_operator, e.se, e.n_events, e.n_total, e.arm, e.timepoint, e.scale,
    e.start_offset, e.end_offset, e.quote, e.sentence, e.extractor_version,
    e.rule, e.arm_id, e.comparator_arm_id, e.subgroup, e.population AS effect_population,
    e.timepoint_days, e.direction,
    arm.label AS arm_label, arm.role AS arm_role, arm.drug AS arm_drug, arm.dose AS arm_dose,
    arm.dose_unit AS arm_dose_unit, arm.route AS arm_route, arm.n_randomized AS arm_n,
    comparator.label AS comparator_label, comparator.role AS comparator_role,
    comparator.drug AS comparator_drug, comparator.n_randomized AS comparator_n,
    a.title, a.journal_iso, a.pub_year, a.doi, a.is_retracted, a.has_erratum,
    t.design, t.drugs, t.routes, t.population, t.comparator, t.n_randomized
FROM core.effects e
JOIN core.articles a USING (pmid)
LEFT JOIN core.trial_facts t USING (pmid)
LEFT JOIN core.arms arm ON arm.arm_id = e.arm_id
LEFT JOIN core.arms comparator ON comparator.arm_id = e.comparator_arm_id;
