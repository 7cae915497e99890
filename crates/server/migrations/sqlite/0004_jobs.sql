-- Scheduled jobs: one row per job and period that ran to completion, so that
-- several app processes run each job exactly once per period.
CREATE TABLE job_runs (
    job TEXT NOT NULL,
    period TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    -- What the run did, e.g. rows touched.
    outcome TEXT NOT NULL,
    PRIMARY KEY (job, period)
);
