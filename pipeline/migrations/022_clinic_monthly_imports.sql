-- Clinic exports arrive month by month: each import adds to the sessions already stored
-- instead of replacing them. A session is one patient's (pseudonym's) treatment on one date;
-- a stored session the new export holds unchanged is skipped, a changed one is replaced only
-- when asked (--replace), a new one is added. Every import is logged with those counts.

-- The import log, rebuilt without `is_current` (every stored session is current now) and with
-- what each import did. Earlier imports keep their counts: all their loaded rows were added.
CREATE TABLE core.clinic_imports_log (
    import_id       VARCHAR PRIMARY KEY,
    imported_at     TIMESTAMP NOT NULL,
    source_name     VARCHAR NOT NULL,        -- the export's file name (no folder), or the demo seed
    file_sha256     VARCHAR NOT NULL,        -- of the export's bytes
    mapping_sha256  VARCHAR NOT NULL,        -- of the mapping file's text
    synthetic       BOOLEAN NOT NULL,        -- TRUE for generated demo data, never real patients
    key_fingerprint VARCHAR NOT NULL,        -- which pseudonymisation key made the patient keys
    n_rows          INTEGER NOT NULL,        -- sessions read from the export
    n_added         INTEGER NOT NULL,        -- sessions not stored before
    n_skipped       INTEGER NOT NULL,        -- sessions stored before, unchanged
    n_replaced      INTEGER NOT NULL,        -- sessions stored before, changed, replaced (--replace)
    n_rejected      INTEGER NOT NULL,        -- invalid rows (--skip-invalid), in the report
    invalid_report  VARCHAR                  -- where that report was written
);

INSERT INTO core.clinic_imports_log
SELECT import_id, imported_at, source_name, file_sha256, mapping_sha256, synthetic,
    key_fingerprint, n_rows, n_loaded, 0, 0, n_invalid, invalid_report
FROM core.clinic_imports;

-- Sessions of imports that a later full export replaced were deleted already; the rest are
-- the clinic data. `import_id` now names the import that added (or last replaced) a session.
DROP TABLE core.clinic_imports;
ALTER TABLE core.clinic_imports_log RENAME TO clinic_imports;

-- Every stored session is current: the courses and everything above them span all imports.
CREATE OR REPLACE VIEW marts.clinic_sessions AS
WITH current_sessions AS (
    SELECT s.*, i.synthetic
    FROM core.clinic_sessions AS s
    JOIN core.clinic_imports AS i USING (import_id)
),
flagged AS (
    SELECT *,
        CASE
            WHEN lag(session_date) OVER w IS NULL THEN 1
            WHEN date_diff('day', lag(session_date) OVER w, session_date) > 28 THEN 1
            WHEN session_number <= lag(session_number) OVER w THEN 1
            ELSE 0
        END AS starts_course
    FROM current_sessions
    WINDOW w AS (PARTITION BY patient_key, route ORDER BY session_date)
),
numbered AS (
    SELECT *,
        sum(starts_course) OVER (
            PARTITION BY patient_key, route ORDER BY session_date ROWS UNBOUNDED PRECEDING
        ) AS course_no
    FROM flagged
)
SELECT
    import_id, synthetic, source_row, patient_key, route, drug,
    CAST(course_no AS INTEGER) AS course_no,
    patient_key || ':' || route || ':' || CAST(course_no AS INTEGER) AS course_id,
    CAST(row_number() OVER c AS INTEGER) AS course_session_no,
    CAST(date_diff('day', first_value(session_date) OVER c, session_date) AS INTEGER)
        AS days_from_course_start,
    session_date, dose, dose_unit, session_number,
    phq9_pre, phq9_post, gad7_pre, gad7_post, madrs_pre, madrs_post, qids_pre, qids_post,
    cssrs_pre, cssrs_post, dissociation, nausea, dizziness, drowsiness,
    sbp_pre, dbp_pre, sbp_post, dbp_post
FROM numbered
WINDOW c AS (PARTITION BY patient_key, route, course_no ORDER BY session_date);

-- One stored session per patient and date (the export check already refuses two in a file).
CREATE UNIQUE INDEX clinic_sessions_patient_date ON core.clinic_sessions (patient_key, session_date);
