-- Reviewers' corrections of an extracted effect's arm, comparator, subgroup, timepoint or n.
-- Append-only: every correction ever made is a row (the log), the latest per effect and field is
-- the one in force. A correction is kept by field name with the text (or whole number) the
-- reviewer gave, beside the value as extracted, and applies only while the effect's quote is the
-- one it was made against (quote and its SHA-256): a re-extraction that keeps the quote keeps
-- the correction; one that changes it leaves the extracted value and flags the effect for
-- re-review. Effects are identified as core.effects identifies them (sha1 of pmid|kind|start|end).
CREATE SEQUENCE core.effect_corrections_id;
CREATE TABLE core.effect_corrections (
    correction_id     BIGINT PRIMARY KEY DEFAULT nextval('core.effect_corrections_id'),
    effect_id         VARCHAR NOT NULL,
    pmid              VARCHAR NOT NULL,
    field             VARCHAR NOT NULL
                      CHECK (field IN ('arm', 'comparator', 'subgroup', 'timepoint', 'n')),
    extracted_value   VARCHAR,                   -- the value as extracted then (NULL: none)
    corrected_value   VARCHAR NOT NULL,          -- as the reviewer wrote it
    corrected_n       INTEGER CHECK (corrected_n > 0),  -- field 'n': the whole number
    timepoint_days    DOUBLE,                    -- field 'timepoint': in days, when it reads as one
    quote             VARCHAR NOT NULL,          -- abstract[start:end] the correction was made on
    quote_sha256      VARCHAR NOT NULL,
    extractor_version VARCHAR,
    reviewer          VARCHAR NOT NULL,
    corrected_at      TIMESTAMP NOT NULL,
    note              VARCHAR,
    CHECK ((field = 'n') = (corrected_n IS NOT NULL)),
    CHECK (field = 'timepoint' OR timepoint_days IS NULL)
);

CREATE INDEX effect_corrections_effect ON core.effect_corrections (effect_id);

-- The correction in force per effect and field (the latest), and whether it still applies: the
-- effect is extracted now with the quote the correction was made on.
CREATE VIEW core.effect_corrections_current AS
SELECT
    c.*,
    e.quote AS current_quote,
    coalesce(e.quote = c.quote, false) AS applies
FROM core.effect_corrections c
LEFT JOIN core.effects e USING (effect_id)
QUALIFY row_number() OVER (
    PARTITION BY c.effect_id, c.field ORDER BY c.corrected_at DESC, c.correction_id DESC
) = 1;

-- Each effect's current values: as extracted unless a correction applies. `comparator` and
-- `subgroup` are NULL unless corrected (the extractor gives neither per effect); `timepoint_days`
-- is the corrected timepoint in days when it read as one; `corrected_fields` names the fields
-- a correction gave (empty: all as extracted).
CREATE VIEW marts.effects_current AS
WITH applied AS (
    SELECT
        effect_id,
        bool_or(field = 'arm') AS arm_corrected,
        max(corrected_value) FILTER (WHERE field = 'arm') AS arm,
        max(corrected_value) FILTER (WHERE field = 'comparator') AS comparator,
        max(corrected_value) FILTER (WHERE field = 'subgroup') AS subgroup,
        bool_or(field = 'timepoint') AS timepoint_corrected,
        max(corrected_value) FILTER (WHERE field = 'timepoint') AS timepoint,
        max(timepoint_days) FILTER (WHERE field = 'timepoint') AS timepoint_days,
        max(corrected_n) FILTER (WHERE field = 'n') AS n_total,
        list_sort(list(field)) AS corrected_fields
    FROM core.effect_corrections_current
    WHERE applies
    GROUP BY effect_id
)
SELECT
    e.* REPLACE (
        CASE WHEN a.arm_corrected THEN a.arm ELSE e.arm END AS arm,
        CASE WHEN a.timepoint_corrected THEN a.timepoint ELSE e.timepoint END AS timepoint,
        coalesce(a.n_total, e.n_total) AS n_total,
        coalesce(a.subgroup, e.subgroup) AS subgroup,
        CASE WHEN a.timepoint_corrected THEN a.timepoint_days ELSE e.timepoint_days END
            AS timepoint_days
    ),
    a.comparator,
    coalesce(a.corrected_fields, []::VARCHAR[]) AS corrected_fields
FROM core.effects e
LEFT JOIN applied a USING (effect_id);
