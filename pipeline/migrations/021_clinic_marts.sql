-- Clinic marts: sessions grouped into courses, per-course scores, and the summaries the
-- notebooks and the evidence sheet read. Every view carries `synthetic` from its import.
--
-- A course is a run of one patient's sessions by one route in date order. A new course starts
-- at the patient's first session by that route, after a gap of more than 28 days, or where
-- the clinic's session number does not increase (numbering restarted at 1).
-- The score after N sessions is the follow-up score of session N when recorded, else the
-- score before session N + 1 of the same course. Response: a fall of at least 50% from the
-- course baseline (the score before session 1; baselines of 0 are not evaluable). Remission:
-- PHQ-9 below 5 or MADRS at most 10, evaluable only for courses not already there at baseline.
-- Proportions carry Wilson 95% intervals (z = 1.959963984540054).

CREATE VIEW marts.clinic_sessions AS
WITH current_sessions AS (
    SELECT s.*, i.synthetic
    FROM core.clinic_sessions AS s
    JOIN core.clinic_imports AS i USING (import_id)
    WHERE i.is_current
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

-- One row per course, scale and session: baseline, score after that many sessions, change.
CREATE VIEW marts.clinic_course_scores AS
WITH long AS (
    SELECT course_id, patient_key, route, synthetic, course_session_no, session_date,
        'phq9' AS scale, phq9_pre AS pre, phq9_post AS post FROM marts.clinic_sessions
    UNION ALL
    SELECT course_id, patient_key, route, synthetic, course_session_no, session_date,
        'madrs', madrs_pre, madrs_post FROM marts.clinic_sessions
    UNION ALL
    SELECT course_id, patient_key, route, synthetic, course_session_no, session_date,
        'gad7', gad7_pre, gad7_post FROM marts.clinic_sessions
    UNION ALL
    SELECT course_id, patient_key, route, synthetic, course_session_no, session_date,
        'qids', qids_pre, qids_post FROM marts.clinic_sessions
),
stepped AS (
    SELECT *,
        first_value(pre) OVER w AS baseline,
        coalesce(post, lead(pre) OVER w) AS score_after,
        CASE WHEN post IS NOT NULL THEN session_date ELSE lead(session_date) OVER w END
            AS score_after_date,
        first_value(session_date) OVER w AS course_start
    FROM long
    WINDOW w AS (PARTITION BY course_id, scale ORDER BY course_session_no)
)
SELECT
    course_id, patient_key, route, synthetic, scale,
    course_session_no AS after_sessions,
    baseline,
    score_after,
    CAST(date_diff('day', course_start, score_after_date) AS INTEGER) AS score_after_day,
    CASE WHEN baseline > 0 THEN 100.0 * (score_after - baseline) / baseline END AS percent_change,
    CASE WHEN baseline > 0 AND score_after IS NOT NULL THEN score_after <= baseline / 2.0 END
        AS response,
    CASE
        WHEN score_after IS NULL THEN NULL
        WHEN scale = 'phq9' AND baseline >= 5 THEN score_after < 5
        WHEN scale = 'madrs' AND baseline > 10 THEN score_after <= 10
    END AS remission
FROM stepped;

-- One row per course: its span, PHQ-9 baseline and last score, and when response came.
CREATE VIEW marts.clinic_course_outcomes AS
WITH sessions AS (
    SELECT course_id, any_value(patient_key) AS patient_key, any_value(route) AS route,
        any_value(drug) AS drug, any_value(synthetic) AS synthetic,
        min(session_date) AS start_date, max(session_date) AS end_date,
        CAST(count(*) AS INTEGER) AS n_sessions
    FROM marts.clinic_sessions
    GROUP BY course_id
),
phq9 AS (
    SELECT course_id, any_value(baseline) AS phq9_baseline,
        arg_max(score_after, after_sessions) FILTER (WHERE score_after IS NOT NULL) AS phq9_last,
        max(after_sessions) FILTER (WHERE score_after IS NOT NULL) AS phq9_last_after_sessions,
        min(after_sessions) FILTER (WHERE response) AS sessions_to_response,
        arg_min(score_after_day, after_sessions) FILTER (WHERE response) AS days_to_response,
        bool_or(response) AS responded,
        bool_or(remission) AS remitted
    FROM marts.clinic_course_scores
    WHERE scale = 'phq9'
    GROUP BY course_id
)
SELECT s.*, p.phq9_baseline, p.phq9_last, p.phq9_last_after_sessions,
    CASE WHEN p.phq9_baseline > 0
        THEN 100.0 * (p.phq9_last - p.phq9_baseline) / p.phq9_baseline END AS phq9_percent_change,
    coalesce(p.responded, FALSE) AS responded, p.remitted,
    p.sessions_to_response, p.days_to_response
FROM sessions AS s
JOIN phq9 AS p USING (course_id);

-- Response and remission by route, scale and number of sessions, with Wilson 95% intervals.
-- Denominators are the courses with a score after that many sessions (observed cases).
CREATE VIEW marts.clinic_response_remission AS
WITH counts AS (
    SELECT synthetic, route, scale, after_sessions,
        count(*) FILTER (WHERE response IS NOT NULL) AS n_response_evaluable,
        count(*) FILTER (WHERE response) AS n_response,
        count(*) FILTER (WHERE remission IS NOT NULL) AS n_remission_evaluable,
        count(*) FILTER (WHERE remission) AS n_remission
    FROM marts.clinic_course_scores
    WHERE scale IN ('phq9', 'madrs') AND score_after IS NOT NULL
    GROUP BY ALL
),
rates AS (
    SELECT *,
        CAST(n_response AS DOUBLE) / nullif(n_response_evaluable, 0) AS p1,
        CAST(n_remission AS DOUBLE) / nullif(n_remission_evaluable, 0) AS p2,
        1.959963984540054 AS z
    FROM counts
),
wilson AS (  -- centre and half-width of each Wilson interval
    SELECT *,
        (p1 + z * z / (2 * n_response_evaluable)) / (1 + z * z / n_response_evaluable) AS c1,
        z * sqrt(p1 * (1 - p1) / n_response_evaluable
                 + z * z / (4 * n_response_evaluable * n_response_evaluable))
            / (1 + z * z / n_response_evaluable) AS h1,
        (p2 + z * z / (2 * n_remission_evaluable)) / (1 + z * z / n_remission_evaluable) AS c2,
        z * sqrt(p2 * (1 - p2) / n_remission_evaluable
                 + z * z / (4 * n_remission_evaluable * n_remission_evaluable))
            / (1 + z * z / n_remission_evaluable) AS h2
    FROM rates
)
SELECT synthetic, route, scale, after_sessions,
    n_response_evaluable, n_response, p1 AS response_rate,
    greatest(c1 - h1, 0.0) AS response_ci_low, least(c1 + h1, 1.0) AS response_ci_high,
    n_remission_evaluable, n_remission, p2 AS remission_rate,
    greatest(c2 - h2, 0.0) AS remission_ci_low, least(c2 + h2, 1.0) AS remission_ci_high
FROM wilson;

-- Side effects per session by route: sessions where each was recorded, how many had it.
CREATE VIEW marts.clinic_side_effects AS
WITH long AS (
    SELECT synthetic, route, 'dissociation' AS side_effect, dissociation AS present
    FROM marts.clinic_sessions
    UNION ALL SELECT synthetic, route, 'nausea', nausea FROM marts.clinic_sessions
    UNION ALL SELECT synthetic, route, 'dizziness', dizziness FROM marts.clinic_sessions
    UNION ALL SELECT synthetic, route, 'drowsiness', drowsiness FROM marts.clinic_sessions
),
counts AS (
    SELECT synthetic, route, side_effect,
        count(present) AS n_sessions_recorded,
        count(*) FILTER (WHERE present) AS n_sessions_with,
        1.959963984540054 AS z
    FROM long
    GROUP BY ALL
    HAVING count(present) > 0
),
wilson AS (
    SELECT *,
        CAST(n_sessions_with AS DOUBLE) / n_sessions_recorded AS rate,
        (rate + z * z / (2 * n_sessions_recorded)) / (1 + z * z / n_sessions_recorded) AS centre,
        z * sqrt(rate * (1 - rate) / n_sessions_recorded
                 + z * z / (4 * n_sessions_recorded * n_sessions_recorded))
            / (1 + z * z / n_sessions_recorded) AS half
    FROM counts
)
SELECT synthetic, route, side_effect, n_sessions_recorded, n_sessions_with, rate,
    greatest(centre - half, 0.0) AS ci_low, least(centre + half, 1.0) AS ci_high
FROM wilson;

-- Blood pressure change over a session by route (sessions with both readings).
CREATE VIEW marts.clinic_blood_pressure AS
SELECT synthetic, route,
    count(*) FILTER (WHERE sbp_pre IS NOT NULL AND sbp_post IS NOT NULL) AS n_sessions,
    avg(sbp_post - sbp_pre) AS mean_systolic_change,
    avg(dbp_post - dbp_pre) AS mean_diastolic_change,
    count(*) FILTER (WHERE sbp_post >= 180 OR dbp_post >= 110) AS n_post_at_or_above_180_110
FROM marts.clinic_sessions
GROUP BY ALL;

-- Patients, courses and sessions by route, and over all routes (route = 'all').
CREATE VIEW marts.clinic_counts AS
SELECT synthetic, coalesce(route, 'all') AS route,
    count(DISTINCT patient_key) AS n_patients,
    count(DISTINCT course_id) AS n_courses,
    count(*) AS n_sessions,
    min(session_date) AS first_session,
    max(session_date) AS last_session
FROM marts.clinic_sessions
GROUP BY GROUPING SETS ((synthetic, route), (synthetic));

-- PHQ-9 before each session of a course, by route and session number within the course.
CREATE VIEW marts.clinic_phq9_trajectories AS
SELECT synthetic, route, course_session_no,
    count(phq9_pre) AS n_courses,
    avg(phq9_pre) AS mean_phq9,
    stddev_samp(phq9_pre) AS sd_phq9,
    median(phq9_pre) AS median_phq9
FROM marts.clinic_sessions
GROUP BY ALL;
