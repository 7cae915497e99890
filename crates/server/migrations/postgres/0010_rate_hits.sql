-- Rate-limit counts per fixed window, shared by every server process on one
-- PostgreSQL database (one embedded-database process counts in memory; the
-- table exists on both backends so the schema is the same). Purged daily.
CREATE TABLE rate_hits (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
