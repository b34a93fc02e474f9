-- When marts.trial_outcomes and marts.pooled_estimates were last brought up to date. The
-- refresh after an ingest recomputes only the trials whose article or trial facts changed since
-- then (and the pools they belong to); `python -m pipeline notebooks run` still recomputes all.
CREATE TABLE marts.refresh_state (
    mart               VARCHAR PRIMARY KEY,    -- 'trial_outcomes' (with its pooled estimates)
    refreshed_through  TIMESTAMP NOT NULL,     -- every load and extraction before this is included
    full_refresh_at    TIMESTAMP NOT NULL,     -- the last recomputation from scratch
    n_touched          BIGINT NOT NULL         -- trials the last refresh recomputed
);
