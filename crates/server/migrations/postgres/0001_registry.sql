-- Reference data, registry, accounts, audit and change feed (PostgreSQL dialect).
CREATE TABLE divisions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_code TEXT,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    population BIGINT,
    -- Where a community's location and population come from (an import file, or 'synthetic').
    location_source TEXT
);
CREATE INDEX divisions_parent ON divisions(parent_code);

CREATE TABLE entities (
    id BIGSERIAL PRIMARY KEY,
    credit_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    legal_rep TEXT,
    division_code TEXT NOT NULL,
    established TEXT,
    status TEXT NOT NULL,
    phone TEXT,
    synthetic BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE outlets (
    id BIGSERIAL PRIMARY KEY,
    entity_id BIGINT NOT NULL REFERENCES entities(id),
    name TEXT NOT NULL,
    service_type TEXT NOT NULL,
    address TEXT NOT NULL,
    division_code TEXT NOT NULL,
    county_code TEXT NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    phone TEXT,
    hours TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    synthetic BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (entity_id, name, address)
);
CREATE INDEX outlets_county ON outlets(county_code);
CREATE INDEX outlets_type ON outlets(service_type);

CREATE TABLE designations (
    id BIGSERIAL PRIMARY KEY,
    outlet_id BIGINT NOT NULL REFERENCES outlets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    grade TEXT,
    granted_by TEXT NOT NULL,
    granted_on TEXT,
    UNIQUE (outlet_id, kind)
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Import runs, with their rejected rows, for the history page and re-download.
CREATE TABLE imports (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    rows_read BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    rejects_csv TEXT NOT NULL
);

-- Every write to a searchable row appends here; search indexes follow it.
CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL
);
