-- Reports per area (division: a city, county or township code for indicators
-- assessed per area; '' for the province) and the lead unit's consolidated
-- report (consolidated = 1), which the unique key must tell apart.

ALTER TABLE plan_reports ADD COLUMN division TEXT NOT NULL DEFAULT '';
ALTER TABLE plan_reports ADD COLUMN consolidated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE plan_reports DROP CONSTRAINT plan_reports_task_indicator_unit_period_key;
ALTER TABLE plan_reports ADD CONSTRAINT plan_reports_key UNIQUE (task, indicator, unit, division, period, consolidated);
