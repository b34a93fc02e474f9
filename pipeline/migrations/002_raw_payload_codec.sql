-- Raw records are stored compressed (zstd) from now on, beside the codec and their size as
-- received, so pipeline.warehouse.read_raw_payload gives back the exact bytes (their SHA-256 is
-- `checksum`). Uncompressed, 24 KB records made DuckDB's checkpoint, which works through 2,048
-- rows at a time, hold about 100 MiB outside its memory cap. Rows stored before stay as they are.
ALTER TABLE raw.records ADD COLUMN payload_codec VARCHAR NOT NULL DEFAULT 'identity';
ALTER TABLE raw.records ADD COLUMN payload_size BIGINT;
UPDATE raw.records SET payload_size = octet_length(payload);
