-- Every write that changes what an outlet's public page shows of its reviews
-- (the running totals, the latest reviews, a reply) appends the outlet here;
-- each app process's page cache follows it as the search index follows
-- `changes`. Kept apart from `changes`, whose readers fingerprint the registry
-- by its last sequence, and whose lock a review should not wait on behind a
-- long import. `at` (Unix seconds) lets a daily job drop rows a day old.
CREATE TABLE review_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    outlet_id BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX review_changes_at ON review_changes (at);
