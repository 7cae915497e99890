-- Files attached to a progress report as evidence (佐证材料), kept in the
-- database so that backups and migrate-data carry them.
CREATE TABLE plan_report_attachments (
    id INTEGER PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES plan_reports(id),
    -- The report's version when the file was attached.
    version BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX plan_report_attachments_report ON plan_report_attachments (report_id);
