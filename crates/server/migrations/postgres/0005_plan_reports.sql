-- Progress reports on the plan's tasks by their responsible units.

-- The plan unit (U01, U02…) a department account reports for.
ALTER TABLE users ADD COLUMN plan_unit TEXT;

CREATE TABLE plan_reports (
    id BIGSERIAL PRIMARY KEY,
    task BIGINT NOT NULL,
    -- '' for a report on the task as a whole (a milestone).
    indicator TEXT NOT NULL,
    unit TEXT NOT NULL,
    period TEXT NOT NULL,
    value DOUBLE PRECISION,
    narrative TEXT NOT NULL,
    evidence TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    version BIGINT NOT NULL,
    UNIQUE (task, indicator, unit, period)
);

-- Every earlier version of an amended report.
CREATE TABLE plan_report_versions (
    report_id BIGINT NOT NULL REFERENCES plan_reports(id),
    version BIGINT NOT NULL,
    value DOUBLE PRECISION,
    narrative TEXT NOT NULL,
    evidence TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (report_id, version)
);
