-- Extraction: trial facts and effect sizes per article, each effect tied to its span in the abstract.
-- Rows carry the extractor version and the article checksum they were computed from, so a new
-- extractor version or a changed record is re-extracted on the next ingest.

CREATE TABLE core.trial_facts (
    pmid                VARCHAR PRIMARY KEY,
    extractor_version   VARCHAR NOT NULL,
    article_checksum    VARCHAR NOT NULL,        -- core.articles.checksum extracted from
    design              VARCHAR,                 -- rct | crossover_rct | open_label | post_hoc | review | observational | protocol | case_report | other
    drugs               VARCHAR[],               -- ketamine | esketamine | arketamine
    routes              VARCHAR[],               -- iv | intranasal | oral | im | sc | sublingual
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

-- One row per reported effect; abstract[start_offset:end_offset] (0-based, code points) = quote.
CREATE TABLE core.effects (
    effect_id         VARCHAR PRIMARY KEY,       -- sha1 of pmid|kind|start|end: stable across re-extraction
    pmid              VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,
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
    arm               VARCHAR,
    timepoint         VARCHAR,
    scale             VARCHAR,
    start_offset      INTEGER NOT NULL,
    end_offset        INTEGER NOT NULL,
    quote             VARCHAR NOT NULL,
    sentence          VARCHAR NOT NULL,
    sentence_start    INTEGER NOT NULL,
    extracted_at      TIMESTAMP NOT NULL
);

CREATE INDEX effects_pmid ON core.effects (pmid);

-- Effects beside their article and trial facts: what the notebooks and the evidence sheet read.
CREATE VIEW marts.effects_with_articles AS
SELECT
    e.effect_id, e.pmid, e.kind, e.label, e.value, e.ci_low, e.ci_high, e.ci_level, e.p,
    e.p_operator, e.se, e.n_events, e.n_total, e.arm, e.timepoint, e.scale,
    e.start_offset, e.end_offset, e.quote, e.sentence, e.extractor_version,
    a.title, a.journal_iso, a.pub_year, a.doi, a.is_retracted, a.has_erratum,
    t.design, t.drugs, t.routes, t.population, t.comparator, t.n_randomized
FROM core.effects e
JOIN core.articles a USING (pmid)
LEFT JOIN core.trial_facts t USING (pmid);
