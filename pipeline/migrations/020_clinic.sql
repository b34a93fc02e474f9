-- Clinic outcomes: one row per import of an export, one row per treatment session.
-- Patients appear only as keyed hashes (HMAC-SHA256 of the records system's identifier).

-- Each import is the clinic's full export; the newest one is current and replaces earlier ones.
CREATE TABLE core.clinic_imports (
    import_id       VARCHAR PRIMARY KEY,
    source_name     VARCHAR NOT NULL,        -- the export's file name (no folder), or the demo seed
    file_sha256     VARCHAR NOT NULL,        -- of the export's bytes
    mapping_sha256  VARCHAR NOT NULL,        -- of the mapping file's text
    synthetic       BOOLEAN NOT NULL,        -- TRUE for generated demo data, never real patients
    key_fingerprint VARCHAR NOT NULL,        -- which pseudonymisation key made the patient keys
    n_rows          INTEGER NOT NULL,        -- sessions in the export
    n_loaded        INTEGER NOT NULL,
    n_invalid       INTEGER NOT NULL,        -- rows written to the invalid-rows report
    invalid_report  VARCHAR,                 -- where that report was written
    imported_at     TIMESTAMP NOT NULL,
    is_current      BOOLEAN NOT NULL
);

CREATE TABLE core.clinic_sessions (
    import_id      VARCHAR NOT NULL,
    source_row     INTEGER NOT NULL,         -- row in the export, header = row 1
    patient_key    VARCHAR NOT NULL,         -- HMAC-SHA256 hex of the patient identifier
    session_date   DATE NOT NULL,
    route          VARCHAR NOT NULL,         -- 'iv' | 'intranasal'
    drug           VARCHAR NOT NULL,         -- 'ketamine' | 'esketamine'
    dose           DOUBLE NOT NULL,
    dose_unit      VARCHAR NOT NULL,         -- 'mg/kg' | 'mg'
    session_number INTEGER NOT NULL,         -- as numbered by the clinic
    phq9_pre       SMALLINT NOT NULL,        -- scores before the session (_pre), at follow-up (_post)
    phq9_post      SMALLINT,
    gad7_pre       SMALLINT,
    gad7_post      SMALLINT,
    madrs_pre      SMALLINT,
    madrs_post     SMALLINT,
    qids_pre       SMALLINT,
    qids_post      SMALLINT,
    cssrs_pre      SMALLINT,                 -- C-SSRS highest ideation severity, 0-5
    cssrs_post     SMALLINT,
    dissociation   BOOLEAN,                  -- side effects; NULL = not recorded
    nausea         BOOLEAN,
    dizziness      BOOLEAN,
    drowsiness     BOOLEAN,
    sbp_pre        SMALLINT,                 -- blood pressure, mmHg
    dbp_pre        SMALLINT,
    sbp_post       SMALLINT,
    dbp_post       SMALLINT,
    PRIMARY KEY (import_id, patient_key, session_date)
);
