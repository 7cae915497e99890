-- The cube's key leads with the category, so a map's per-division sums read
-- only the cells of one measure and category (the old key, division first,
-- made a province map read every category's cells); the bars by category
-- name their categories and seek each. Cells are kept, not rebuilt.
CREATE TABLE stat_cells_v2 (
    measure TEXT NOT NULL,
    division_code TEXT NOT NULL,
    category TEXT NOT NULL,
    period TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (measure, category, division_code, period)
);
INSERT INTO stat_cells_v2 (measure, division_code, category, period, value)
    SELECT measure, division_code, category, period, value FROM stat_cells;
DROP TABLE stat_cells;
ALTER TABLE stat_cells_v2 RENAME TO stat_cells;

-- 逾期升级 cases, counted by the cube (and its fingerprint reads the latest day).
CREATE INDEX review_cases_escalated ON review_cases (escalated_on);
