-- marts.trial_outcomes without a PRIMARY KEY. DuckDB keeps a key's index in memory, within the
-- cache cap, and a refresh from scratch deletes and re-inserts every row in one transaction, so
-- the index then holds both: at 100,000 articles (700,006 rows) the commit failed at the default
-- 256 MB cap ("could not allocate block"). The table is derived data written only by
-- pipeline.marts, which checks that the outcome ids it writes are unique before it commits.
CREATE TABLE marts.trial_outcomes_rebuilt (
    outcome_id        VARCHAR NOT NULL,
    pmid              VARCHAR NOT NULL,
    study_label       VARCHAR NOT NULL,
    pub_year          INTEGER,
    design            VARCHAR,
    drug              VARCHAR,
    route             VARCHAR,
    outcome           VARCHAR NOT NULL,
    outcome_label     VARCHAR,
    scale             VARCHAR,
    timepoint         VARCHAR,
    timepoint_days    DOUBLE,
    timepoint_window  VARCHAR NOT NULL,
    comparison        VARCHAR,
    measure           VARCHAR NOT NULL,
    yi                DOUBLE,
    vi                DOUBLE,
    n_1               DOUBLE,
    n_2               DOUBLE,
    events_1          DOUBLE,
    events_2          DOUBLE,
    effect_ids        VARCHAR[] NOT NULL,
    notes             VARCHAR,
    reason            VARCHAR,
    refreshed_at      TIMESTAMP NOT NULL,
    comparator_class  VARCHAR,
    source            VARCHAR,
    registry_source   VARCHAR
);
INSERT INTO marts.trial_outcomes_rebuilt SELECT * FROM marts.trial_outcomes;
DROP TABLE marts.trial_outcomes;
ALTER TABLE marts.trial_outcomes_rebuilt RENAME TO trial_outcomes;
