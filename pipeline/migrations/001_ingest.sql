-- The ingest layer: runs, raw records as received, quarantine, and the parsed articles.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;

-- One row per ingest run; status goes running -> completed | failed | interrupted.
CREATE TABLE core.runs (
    run_id        VARCHAR PRIMARY KEY,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL,
    mode          VARCHAR NOT NULL,          -- 'live' or 'snapshot'
    query         VARCHAR,
    since         DATE,
    snapshot_path VARCHAR,
    n_found       INTEGER,
    n_fetched     INTEGER DEFAULT 0,
    n_loaded      INTEGER DEFAULT 0,
    n_quarantined INTEGER DEFAULT 0,
    message       VARCHAR
);

-- Finished batches: a resumed run skips the PMIDs of batches already completed.
CREATE TABLE core.run_batches (
    run_id       VARCHAR NOT NULL,
    batch_no     INTEGER NOT NULL,
    pmids        VARCHAR[] NOT NULL,
    completed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, batch_no)
);

-- Which runs and queries found each PMID.
CREATE TABLE core.pmid_sightings (
    pmid     VARCHAR NOT NULL,
    run_id   VARCHAR NOT NULL,
    query    VARCHAR,
    seen_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (pmid, run_id)
);

-- Records exactly as received: every distinct version of a record is kept.
CREATE TABLE raw.records (
    pmid         VARCHAR NOT NULL,
    checksum     VARCHAR NOT NULL,          -- sha256 of payload
    format       VARCHAR NOT NULL,          -- 'xml' | 'json'
    source       VARCHAR NOT NULL,          -- 'live' | 'snapshot'
    run_id       VARCHAR NOT NULL,
    retrieved_at TIMESTAMP NOT NULL,
    payload      BLOB NOT NULL,
    PRIMARY KEY (pmid, checksum)
);

-- Whatever failed a stage, with its error and raw bytes.
CREATE SEQUENCE raw.quarantine_id;
CREATE TABLE raw.quarantine (
    quarantine_id BIGINT PRIMARY KEY DEFAULT nextval('raw.quarantine_id'),
    run_id        VARCHAR,
    stage         VARCHAR NOT NULL,
    pmid          VARCHAR,
    location      VARCHAR,
    error         VARCHAR NOT NULL,
    payload       BLOB,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE core.articles (
    pmid              VARCHAR PRIMARY KEY,
    title             VARCHAR NOT NULL,
    abstract          VARCHAR NOT NULL,
    journal_title     VARCHAR,
    journal_iso       VARCHAR,
    volume            VARCHAR,
    issue             VARCHAR,
    pages             VARCHAR,
    pub_date          VARCHAR,
    pub_year          INTEGER,
    doi               VARCHAR,
    pmcid             VARCHAR,
    languages         VARCHAR[],
    keywords          VARCHAR[],
    date_revised      DATE,
    abstract_complete BOOLEAN,
    is_retracted      BOOLEAN NOT NULL,
    has_erratum       BOOLEAN NOT NULL,
    source            VARCHAR NOT NULL,         -- 'live' | 'snapshot'
    checksum          VARCHAR NOT NULL,         -- raw.records version this row was parsed from
    run_id            VARCHAR NOT NULL,
    loaded_at         TIMESTAMP NOT NULL
);

CREATE TABLE core.abstract_sections (
    pmid         VARCHAR NOT NULL,
    section_no   INTEGER NOT NULL,
    label        VARCHAR,
    nlm_category VARCHAR,
    text         VARCHAR NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    PRIMARY KEY (pmid, section_no)
);

CREATE TABLE core.authors (
    pmid            VARCHAR NOT NULL,
    position        INTEGER NOT NULL,
    last_name       VARCHAR,
    fore_name       VARCHAR,
    initials        VARCHAR,
    collective_name VARCHAR,
    affiliations    VARCHAR[],
    orcid           VARCHAR,
    PRIMARY KEY (pmid, position)
);

-- One row per descriptor and qualifier (qualifier columns NULL for the descriptor alone).
CREATE TABLE core.mesh_headings (
    pmid            VARCHAR NOT NULL,
    position        INTEGER NOT NULL,
    descriptor_ui   VARCHAR,
    descriptor      VARCHAR NOT NULL,
    major_topic     BOOLEAN NOT NULL,
    qualifier_ui    VARCHAR,
    qualifier       VARCHAR,
    qualifier_major BOOLEAN
);

CREATE TABLE core.chemicals (
    pmid            VARCHAR NOT NULL,
    ui              VARCHAR,
    name            VARCHAR NOT NULL,
    registry_number VARCHAR
);

CREATE TABLE core.publication_types (
    pmid VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    PRIMARY KEY (pmid, name)
);

CREATE TABLE core.trial_ids (
    pmid      VARCHAR NOT NULL,
    registry  VARCHAR NOT NULL,
    accession VARCHAR NOT NULL,
    source    VARCHAR NOT NULL,
    PRIMARY KEY (pmid, registry, accession)
);

CREATE TABLE core.comments_corrections (
    pmid       VARCHAR NOT NULL,
    ref_type   VARCHAR NOT NULL,
    ref_pmid   VARCHAR,
    ref_source VARCHAR
);
