-- Token buckets of the rate limiter (GCRA). One row per bucket; `key` is the SHA-256 of the
-- bucket's name, size and subject (an address or IP never appears in clear). A bucket whose
-- tat is in the past is full, the same as no row.
CREATE TABLE rate_limits (
    key      TEXT PRIMARY KEY NOT NULL,
    -- theoretical arrival time, microseconds since the Unix epoch
    tat      BIGINT NOT NULL,
    -- refusals since the last take (1 = the first of a run: logged and recorded once)
    refused  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);
