-- Every raw record has its size as received (set by 002; DuckDB adds the constraint only in a
-- transaction of its own, after the update).
ALTER TABLE raw.records ALTER COLUMN payload_size SET NOT NULL;
