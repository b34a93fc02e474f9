-- Pools never mix placebo-controlled comparisons with active-comparator (ECT, quetiapine) or
-- dose-comparison ones: each trial outcome and pool carries the class of its comparator.
ALTER TABLE marts.trial_outcomes ADD COLUMN comparator_class VARCHAR;  -- 'placebo' | 'active' | 'dose' | 'unspecified'
ALTER TABLE marts.pooled_estimates ADD COLUMN comparator_class VARCHAR;
