-- How often each task's responsible units report, where an administrator has
-- changed it from the default (quarterly): 'monthly' or 'quarterly'.
CREATE TABLE plan_cadences (
    task BIGINT PRIMARY KEY,
    cadence TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
