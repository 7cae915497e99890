-- Reports per area (division: a city, county or township code for indicators
-- assessed per area; '' for the province) and the lead unit's consolidated
-- report (consolidated = 1), which the unique key must tell apart. SQLite
-- cannot change a table's UNIQUE constraint, so both tables are rebuilt
-- (the versions table references the reports).

CREATE TABLE plan_reports_v12 (
    id INTEGER PRIMARY KEY,
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
    division TEXT NOT NULL DEFAULT '',
    consolidated BIGINT NOT NULL DEFAULT 0,
    UNIQUE (task, indicator, unit, division, period, consolidated)
);
INSERT INTO plan_reports_v12 (id, task, indicator, unit, period, value, narrative, evidence, reported_by, reported_at, version)
    SELECT id, task, indicator, unit, period, value, narrative, evidence, reported_by, reported_at, version FROM plan_reports;

CREATE TABLE plan_report_versions_v12 (
    report_id BIGINT NOT NULL REFERENCES plan_reports_v12(id),
    version BIGINT NOT NULL,
    value DOUBLE PRECISION,
    narrative TEXT NOT NULL,
    evidence TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (report_id, version)
);
INSERT INTO plan_report_versions_v12 SELECT report_id, version, value, narrative, evidence, reported_by, reported_at FROM plan_report_versions;

DROP TABLE plan_report_versions;
DROP TABLE plan_reports;
ALTER TABLE plan_reports_v12 RENAME TO plan_reports;
ALTER TABLE plan_report_versions_v12 RENAME TO plan_report_versions;
