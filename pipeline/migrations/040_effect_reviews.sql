-- Reviews of extracted effects, kept apart from core.effects so re-extraction never loses them.
-- An effect is identified as core.effects identifies it: effect_id = sha1(pmid|kind|start|end).
-- No row means unreviewed. The value, CI, quote and extractor version reviewed are stored, so a
-- later extraction that changes any of them flags the decision for re-review.
CREATE TABLE core.effect_reviews (
    effect_id         VARCHAR PRIMARY KEY,
    pmid              VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,
    start_offset      INTEGER NOT NULL,
    end_offset        INTEGER NOT NULL,
    status            VARCHAR NOT NULL CHECK (status IN ('verified', 'rejected')),
    value             DOUBLE,
    ci_low            DOUBLE,
    ci_high           DOUBLE,
    quote             VARCHAR NOT NULL,          -- abstract[start:end] as the reviewer saw it
    extractor_version VARCHAR,
    reviewer          VARCHAR NOT NULL,
    reviewed_at       TIMESTAMP NOT NULL,
    note              VARCHAR
);

-- Every decision ever recorded, in order (an audit trail; 'unreviewed' marks a reset).
CREATE SEQUENCE core.effect_review_log_id;
CREATE TABLE core.effect_review_log (
    log_id            BIGINT PRIMARY KEY DEFAULT nextval('core.effect_review_log_id'),
    effect_id         VARCHAR NOT NULL,
    pmid              VARCHAR NOT NULL,
    decision          VARCHAR NOT NULL CHECK (decision IN ('verified', 'rejected', 'unreviewed')),
    value             DOUBLE,
    ci_low            DOUBLE,
    ci_high           DOUBLE,
    quote             VARCHAR,
    extractor_version VARCHAR,
    reviewer          VARCHAR NOT NULL,
    reviewed_at       TIMESTAMP NOT NULL,
    note              VARCHAR
);
