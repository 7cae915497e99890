-- Credit disclosure (双公示): records under each entity's name, their earlier
-- versions, and credit repair applications (PostgreSQL dialect).

-- A department account acts for its agency (统一社会信用代码 and name).
ALTER TABLE users ADD COLUMN agency_code TEXT;
ALTER TABLE users ADD COLUMN agency_name TEXT;
-- An entity account (role 'entity') acts for the entity whose code is its scope.

-- Registered from a credit record whose entity was not in the registry.
ALTER TABLE entities ADD COLUMN unregistered BIGINT NOT NULL DEFAULT 0;

CREATE TABLE credit_records (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    -- The record's 文书号 (decision, list or pledge number): unique within a kind.
    doc_no TEXT NOT NULL,
    -- NULL for a natural person, who is not a market entity.
    entity_id BIGINT REFERENCES entities(id),
    subject_name TEXT NOT NULL,
    subject_category TEXT NOT NULL,
    credit_code TEXT,
    -- The department that produced the record and answers for it.
    source_code TEXT NOT NULL,
    source_name TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    decision_date TEXT,
    valid_from TEXT,
    -- Licences: end of validity (2099-12-31 = 长期); listings: date taken off the list.
    valid_until TEXT,
    -- Penalties: last public day, NULL when never published; other kinds: NULL.
    publish_until TEXT,
    repairable_from TEXT,
    severity TEXT,
    -- active | withdrawn | repaired
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    fields_json TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, doc_no)
);
CREATE INDEX credit_records_entity ON credit_records(entity_id);
CREATE INDEX credit_records_updated ON credit_records(updated_at);

-- Every earlier version of a corrected or withdrawn record.
CREATE TABLE credit_record_versions (
    record_id BIGINT NOT NULL REFERENCES credit_records(id),
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    fields_json TEXT NOT NULL,
    replaced_at TEXT NOT NULL,
    replaced_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (record_id, version)
);

CREATE TABLE credit_repairs (
    id BIGSERIAL PRIMARY KEY,
    record_id BIGINT NOT NULL REFERENCES credit_records(id),
    applicant TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    -- How the obligations were performed (fine paid, rectified...).
    proof TEXT NOT NULL,
    -- The public credit pledge made with the application.
    pledge TEXT NOT NULL,
    -- pending | approved | rejected
    state TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    decision_reason TEXT
);
CREATE INDEX credit_repairs_record ON credit_repairs(record_id);
