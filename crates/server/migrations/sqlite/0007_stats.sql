-- Statistics (统计监测): the dates series are built from, the monthly cube the
-- dashboard reads, and the archive of periodic releases.

-- 注销/吊销/迁出日期 of an entity that left the register.
ALTER TABLE entities ADD COLUMN closed_on TEXT;
-- 开业日期 and the day an outlet was closed.
ALTER TABLE outlets ADD COLUMN opened_on TEXT;
ALTER TABLE outlets ADD COLUMN closed_on TEXT;

-- Monthly flows by measure, division (county, city or province, always a
-- current code) and category ('' all, a major category code, a service type
-- code); period 'YYYY-MM', or '0000-00' for records without a date, which
-- count in every stock. Rebuilt per source by the refresh job, never by hand.
CREATE TABLE stat_cells (
    measure TEXT NOT NULL,
    division_code TEXT NOT NULL,
    category TEXT NOT NULL,
    period TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (measure, division_code, category, period)
);

-- Per source, the fingerprint of the data the cube was last built from.
CREATE TABLE stat_sources (
    source TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    built_at TEXT NOT NULL,
    millis BIGINT NOT NULL
);

-- 信息定期发布: each release version is kept as published; a correction is a
-- new version that says what changed.
CREATE TABLE stat_releases (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    version BIGINT NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,
    change_note TEXT NOT NULL,
    data_json TEXT NOT NULL,
    html TEXT NOT NULL,
    UNIQUE (kind, period, version)
);
