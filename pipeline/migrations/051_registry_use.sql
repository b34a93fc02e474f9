-- Registry results in use: the cross-check of abstract effects, where trial outcomes came from,
-- and the registered trials no PubMed record in the warehouse links to.

-- One row per extracted effect: its registry counterpart and whether the numbers agree at the
-- precision both print. Refreshed by pipeline.registry.crosscheck.refresh_crosscheck(con).
CREATE TABLE marts.registry_crosscheck (
    effect_id           VARCHAR PRIMARY KEY,
    pmid                VARCHAR NOT NULL,
    kind                VARCHAR NOT NULL,
    nct_id              VARCHAR,                 -- the study compared with (or all linked ones)
    weak_link           BOOLEAN,                 -- the article names the study only in its text
    status              VARCHAR NOT NULL CHECK (status IN ('agrees', 'differs', 'no_counterpart')),
    abstract_value      DOUBLE,
    registry_value_text VARCHAR,                 -- as posted
    registry_ci_text    VARCHAR,
    registry_source     VARCHAR,                 -- NCT id, outcome measure, analysis or group
    n_candidates        INTEGER NOT NULL,        -- registry values it was compared with
    detail              VARCHAR,
    checked_at          TIMESTAMP NOT NULL
);

-- Where each trial-outcome row's numbers came from: 'abstract' (core.effects) or 'registry'
-- (per-arm counts from posted results, named in registry_source).
ALTER TABLE marts.trial_outcomes ADD COLUMN source VARCHAR;
ALTER TABLE marts.trial_outcomes ADD COLUMN registry_source VARCHAR;

-- Registered studies and the publications linked to them (none: registered, not linked).
CREATE VIEW marts.registry_publications AS
SELECT
    s.nct_id, s.brief_title, s.acronym, s.phases, s.overall_status, s.enrollment,
    s.completion_date, s.has_results, s.n_outcome_measures,
    (s.has_results IS TRUE OR s.n_outcome_measures > 0) AS results_posted,
    s.source,
    list(DISTINCT l.pmid ORDER BY l.pmid) FILTER (WHERE l.pmid IS NOT NULL) AS linked_pmids,
    coalesce(bool_and(l.weak), false) AS only_weak_links,
    count(l.pmid) = 0 AS no_linked_publication
FROM core.registry_studies s
LEFT JOIN core.registry_links l USING (nct_id)
GROUP BY ALL;
