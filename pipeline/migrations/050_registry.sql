-- The registry layer: ClinicalTrials.gov API v2 study documents as received, then typed.
-- Every value the API posts is a string; each number is kept both as parsed (DOUBLE/INTEGER,
-- NULL when the string is not a number) and as the original string (*_text), with a flag
-- (*_not_number) where a string was posted but is not a number (e.g. "NA"). Nothing is
-- coerced silently. A study's typed rows are replaced in one transaction when it changes.

-- One row per registry run; status goes running -> completed | failed | interrupted.
CREATE TABLE core.registry_runs (
    run_id          VARCHAR PRIMARY KEY,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    status          VARCHAR NOT NULL,
    mode            VARCHAR NOT NULL,          -- 'live' | 'snapshot'
    source          VARCHAR NOT NULL,          -- the API base URL or the snapshot path
    n_candidates    INTEGER DEFAULT 0,         -- NCT ids considered
    n_fetched       INTEGER DEFAULT 0,         -- study documents asked for
    n_loaded        INTEGER DEFAULT 0,         -- studies (re)loaded
    n_unchanged     INTEGER DEFAULT 0,
    n_not_found     INTEGER DEFAULT 0,         -- 404: not in the registry
    n_failed        INTEGER DEFAULT 0,
    message         VARCHAR
);

-- What happened to each NCT id in each run (loaded | unchanged | not_in_registry | failed).
CREATE TABLE core.registry_fetches (
    run_id      VARCHAR NOT NULL,
    nct_id      VARCHAR NOT NULL,
    outcome     VARCHAR NOT NULL CHECK (outcome IN ('loaded', 'unchanged', 'not_in_registry', 'failed')),
    url         VARCHAR,
    message     VARCHAR,
    fetched_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, nct_id)
);

-- Which NCT ids the warehouse's PubMed records link to, and how: 'databank' (the record's
-- DataBankList, or the snapshot record's registry field) or 'text' (written in the title or
-- abstract: a weaker link, flagged), or 'registry_reference' (the study lists the PMID).
CREATE TABLE core.registry_links (
    pmid        VARCHAR NOT NULL,
    nct_id      VARCHAR NOT NULL,
    link_source VARCHAR NOT NULL,
    weak        BOOLEAN NOT NULL,              -- true for links found only in the text
    PRIMARY KEY (pmid, nct_id, link_source)
);

-- Study documents exactly as received; every distinct version is kept.
CREATE TABLE raw.registry_records (
    nct_id       VARCHAR NOT NULL,
    checksum     VARCHAR NOT NULL,             -- sha256 of payload
    source       VARCHAR NOT NULL,             -- 'live' | 'snapshot'
    url          VARCHAR NOT NULL,             -- the request, without credentials
    run_id       VARCHAR NOT NULL,
    retrieved_at TIMESTAMP NOT NULL,
    payload      BLOB NOT NULL,
    PRIMARY KEY (nct_id, checksum)
);

-- One row per study. Fields the document does not hold are NULL (the bundled snapshot holds
-- only outcome measures: see `fields_absent`).
CREATE TABLE core.registry_studies (
    nct_id                  VARCHAR PRIMARY KEY,
    brief_title             VARCHAR,
    official_title          VARCHAR,
    acronym                 VARCHAR,
    phases                  VARCHAR[],
    overall_status          VARCHAR,
    enrollment              INTEGER,
    enrollment_text         VARCHAR,
    enrollment_not_number   BOOLEAN NOT NULL,
    enrollment_type         VARCHAR,
    start_date              VARCHAR,           -- as posted: 'YYYY-MM' or 'YYYY-MM-DD'
    primary_completion_date VARCHAR,
    completion_date         VARCHAR,
    first_post_date         VARCHAR,
    results_first_post_date VARCHAR,
    last_update_post_date   VARCHAR,
    has_results             BOOLEAN,           -- the API's hasResults; NULL when not in the document
    conditions              VARCHAR[],
    interventions           VARCHAR[],
    reference_pmids         VARCHAR[],         -- PMIDs in referencesModule
    n_outcome_measures      INTEGER NOT NULL,
    fields_absent           VARCHAR,           -- what the document lacked (e.g. protocolSection)
    source                  VARCHAR NOT NULL,  -- 'live' | 'snapshot'
    checksum                VARCHAR NOT NULL,  -- raw.registry_records row it was parsed from
    run_id                  VARCHAR NOT NULL,
    loaded_at               TIMESTAMP NOT NULL
);

-- The groups of each outcome measure as posted, mapped to drug, route, dose and role with the
-- extractor's vocabulary (pipeline.classify).
CREATE TABLE core.registry_groups (
    nct_id       VARCHAR NOT NULL,
    outcome_no   INTEGER NOT NULL,             -- 0-based position in outcomeMeasures
    group_id     VARCHAR NOT NULL,             -- 'OG000' ...
    title        VARCHAR,
    description  VARCHAR,
    drugs        VARCHAR[],                    -- ketamine | esketamine | arketamine
    routes       VARCHAR[],                    -- iv | intranasal | oral | im | sc | sublingual
    dose         VARCHAR,                      -- the first dose written in the title, as written
    role         VARCHAR,                      -- 'drug' | 'comparator' | NULL (unknown)
    comparator   VARCHAR[],                    -- placebo | midazolam | ect | antidepressant | other
    PRIMARY KEY (nct_id, outcome_no, group_id)
);

-- One row per outcome measure x class x category x group.
CREATE TABLE core.registry_outcomes (
    nct_id                   VARCHAR NOT NULL,
    outcome_no               INTEGER NOT NULL,
    outcome_type             VARCHAR,          -- PRIMARY | SECONDARY | OTHER_PRE_SPECIFIED ...
    title                    VARCHAR NOT NULL,
    description              VARCHAR,
    population_description   VARCHAR,
    reporting_status         VARCHAR,
    time_frame               VARCHAR,
    param_type               VARCHAR,          -- MEAN | NUMBER | MEDIAN | COUNT_OF_PARTICIPANTS ...
    dispersion_type          VARCHAR,          -- 'Standard Deviation', 'Full Range', '90% Confidence Interval' ...
    unit                     VARCHAR,
    class_no                 INTEGER NOT NULL,
    class_title              VARCHAR,          -- e.g. 'Day 2' when the measure is split by day
    category_no              INTEGER NOT NULL,
    category_title           VARCHAR,
    group_id                 VARCHAR NOT NULL,
    group_title              VARCHAR,
    value                    DOUBLE,
    value_text               VARCHAR,
    value_not_number         BOOLEAN NOT NULL,
    spread                   DOUBLE,
    spread_text              VARCHAR,
    spread_not_number        BOOLEAN NOT NULL,
    lower_limit              DOUBLE,
    lower_limit_text         VARCHAR,
    lower_limit_not_number   BOOLEAN NOT NULL,
    upper_limit              DOUBLE,
    upper_limit_text         VARCHAR,
    upper_limit_not_number   BOOLEAN NOT NULL,
    measurement_comment      VARCHAR,
    n_analyzed               INTEGER,
    n_analyzed_text          VARCHAR,
    n_analyzed_not_number    BOOLEAN NOT NULL,
    n_analyzed_level         VARCHAR,          -- 'class' (a denominator per class) | 'outcome' | NULL
    n_analyzed_units         VARCHAR,          -- 'Participants' ...
    PRIMARY KEY (nct_id, outcome_no, class_no, category_no, group_id)
);

-- Between-group analyses of an outcome measure, as posted.
CREATE TABLE core.registry_analyses (
    nct_id                   VARCHAR NOT NULL,
    outcome_no               INTEGER NOT NULL,
    analysis_no              INTEGER NOT NULL,
    group_ids                VARCHAR[] NOT NULL,
    param_type               VARCHAR,
    param_value              DOUBLE,
    param_value_text         VARCHAR,
    param_value_not_number   BOOLEAN NOT NULL,
    ci_level                 DOUBLE,
    ci_level_text            VARCHAR,
    ci_level_not_number      BOOLEAN NOT NULL,
    ci_sides                 VARCHAR,          -- TWO_SIDED | ONE_SIDED
    ci_lower                 DOUBLE,
    ci_lower_text            VARCHAR,
    ci_lower_not_number      BOOLEAN NOT NULL,
    ci_upper                 DOUBLE,
    ci_upper_text            VARCHAR,
    ci_upper_not_number      BOOLEAN NOT NULL,
    p_value                  DOUBLE,
    p_operator               VARCHAR,          -- '=' | '<' | '<=' | '>' | '>=' as posted
    p_value_text             VARCHAR,
    p_value_not_number       BOOLEAN NOT NULL,
    p_value_comment          VARCHAR,
    method                   VARCHAR,
    dispersion_type          VARCHAR,
    dispersion_value         DOUBLE,
    dispersion_value_text    VARCHAR,
    dispersion_value_not_number BOOLEAN NOT NULL,
    non_inferiority_type     VARCHAR,
    PRIMARY KEY (nct_id, outcome_no, analysis_no)
);
