-- Synthesis marts: trial outcomes with their effect size and variance, and pooled estimates.
-- Both are tables refreshed by pipeline.marts.refresh_trial_outcomes(con) (yi and vi need
-- arithmetic SQL cannot do cleanly: Hedges' correction, t quantiles, REML). Every row keeps the
-- core.effects ids it was computed from; rows that could not be computed keep yi/vi NULL and
-- say why in `reason`.

-- One row per trial (PMID), outcome, timepoint, comparison and effect measure.
CREATE TABLE marts.trial_outcomes (
    outcome_id        VARCHAR PRIMARY KEY,     -- sha1 of pmid|outcome|timepoint|comparison|measure|effect_ids
    pmid              VARCHAR NOT NULL,
    study_label       VARCHAR NOT NULL,        -- "First author year (journal)"
    pub_year          INTEGER,
    design            VARCHAR,
    drug              VARCHAR,                 -- 'ketamine' | 'esketamine' | 'arketamine' | several joined by '+'
    route             VARCHAR,                 -- 'iv' | 'intranasal' | ... | several joined by '+'
    outcome           VARCHAR NOT NULL,        -- 'response' | 'remission' | 'relapse' | 'scale_change' | 'other'
    outcome_label     VARCHAR,                 -- what was measured when not a depression outcome
    scale             VARCHAR,
    timepoint         VARCHAR,                 -- as written
    timepoint_days    DOUBLE,                  -- parsed from it (24 hours -> 1, week 4 -> 28)
    timepoint_window  VARCHAR NOT NULL,        -- '~24 hours', '~day 28', ... or 'unspecified'
    comparison        VARCHAR,                 -- 'esketamine vs placebo', as the text names the arms
    measure           VARCHAR NOT NULL,        -- 'log_rr' | 'log_or' | 'log_hr' | 'md' | 'smd' | 'smd_reported'
    yi                DOUBLE,                  -- NULL when it could not be computed (see reason)
    vi                DOUBLE,
    n_1               DOUBLE,                  -- n of the first (drug) arm and of the comparator, where used
    n_2               DOUBLE,
    events_1          DOUBLE,                  -- events (unrounded where derived from a percentage)
    events_2          DOUBLE,
    effect_ids        VARCHAR[] NOT NULL,      -- core.effects rows it came from (provenance)
    notes             VARCHAR,                 -- what was done: continuity correction, t-based SE ...
    reason            VARCHAR,                 -- why yi/vi are NULL
    refreshed_at      TIMESTAMP NOT NULL
);

-- Random-effects pools by drug x route x outcome x timepoint window x measure (RCTs only).
CREATE TABLE marts.pooled_estimates (
    drug              VARCHAR,
    route             VARCHAR,
    outcome           VARCHAR NOT NULL,
    timepoint_window  VARCHAR NOT NULL,
    measure           VARCHAR NOT NULL,
    scale             VARCHAR,                 -- set for 'md' (pooled within one scale only)
    method            VARCHAR NOT NULL,        -- 'REML' | 'DL'
    hksj              BOOLEAN NOT NULL,
    k                 INTEGER NOT NULL,
    pmids             VARCHAR[] NOT NULL,
    outcome_ids       VARCHAR[] NOT NULL,
    estimate          DOUBLE NOT NULL,         -- on the pooling scale (log for ratios)
    se                DOUBLE NOT NULL,
    ci_low            DOUBLE NOT NULL,
    ci_high           DOUBLE NOT NULL,
    p                 DOUBLE,
    tau2              DOUBLE NOT NULL,
    i2                DOUBLE,
    q                 DOUBLE,
    q_p               DOUBLE,
    pi_low            DOUBLE,                  -- NULL/NaN when k < 3
    pi_high           DOUBLE,
    notes             VARCHAR,
    refreshed_at      TIMESTAMP NOT NULL
);
