-- Service quality reviews (好差评): reviewers, receipts, reviews, rectification cases,
-- appeals and the running quality totals (SQLite dialect).
CREATE TABLE review_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A reviewer is a phone number known only by its keyed hash; the number itself is
-- kept sealed (encrypted with the review key) for 回访 and the audited officer view.
CREATE TABLE reviewers (
    id INTEGER PRIMARY KEY,
    phone_key TEXT NOT NULL UNIQUE,
    pseudonym TEXT NOT NULL,
    contact_sealed TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE reviewer_codes (
    id INTEGER PRIMARY KEY,
    phone_key TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    used BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX reviewer_codes_phone ON reviewer_codes(phone_key, id);

CREATE TABLE reviewer_sessions (
    token_hash TEXT PRIMARY KEY,
    reviewer_id BIGINT NOT NULL REFERENCES reviewers(id),
    csrf_token TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Entity-side accounts: a bearer token bound to one market entity.
CREATE TABLE entity_tokens (
    token_hash TEXT PRIMARY KEY,
    entity_id BIGINT NOT NULL REFERENCES entities(id),
    label TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- 服务凭证: one code per service; a review made with it is verified.
CREATE TABLE review_receipts (
    code TEXT PRIMARY KEY,
    outlet_id BIGINT NOT NULL REFERENCES outlets(id),
    issued_by TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    review_id BIGINT
);

CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    outlet_id BIGINT NOT NULL REFERENCES outlets(id),
    reviewer_id BIGINT NOT NULL REFERENCES reviewers(id),
    -- The service occasion: 'receipt:CODE' or 'date:YYYY-MM-DD'.
    occasion TEXT NOT NULL,
    rating BIGINT NOT NULL,
    aspects_json TEXT NOT NULL,
    body TEXT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    channel TEXT NOT NULL,
    -- published | held | removed
    status TEXT NOT NULL,
    hold_reason TEXT,
    removed_reason TEXT,
    service_type TEXT NOT NULL,
    county_code TEXT NOT NULL,
    ip TEXT,
    created_at TEXT NOT NULL,
    reply TEXT,
    reply_by TEXT,
    reply_at TEXT,
    UNIQUE (reviewer_id, outlet_id, occasion)
);
CREATE INDEX reviews_outlet ON reviews(outlet_id, status, id);
CREATE INDEX reviews_outlet_time ON reviews(outlet_id, created_at);
CREATE INDEX reviews_status ON reviews(status, id);

-- A bad review's rectification case: dates are Asia/Shanghai calendar days.
CREATE TABLE review_cases (
    id INTEGER PRIMARY KEY,
    review_id BIGINT NOT NULL UNIQUE REFERENCES reviews(id),
    outlet_id BIGINT NOT NULL,
    entity_id BIGINT NOT NULL,
    service_type TEXT NOT NULL,
    county_code TEXT NOT NULL,
    departments TEXT NOT NULL,
    -- open | contacted | rectified | closed | withdrawn
    status TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    contact_due TEXT NOT NULL,
    rectify_due TEXT NOT NULL,
    contacted_on TEXT,
    contact_note TEXT,
    rectified_on TEXT,
    rectify_note TEXT,
    followed_on TEXT,
    follow_rating BIGINT,
    follow_note TEXT,
    escalated_on TEXT
);
CREATE INDEX review_cases_status ON review_cases(status, rectify_due);

CREATE TABLE review_appeals (
    id INTEGER PRIMARY KEY,
    review_id BIGINT NOT NULL UNIQUE REFERENCES reviews(id),
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    decision TEXT,
    decision_reason TEXT,
    decided_by TEXT,
    decided_at TEXT
);

-- Running sums, updated in the same transaction as each review or case step:
-- scope 'outlet' (key = outlet id), 'type' (service type code), 'county' (county code).
CREATE TABLE quality_totals (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    bad BIGINT NOT NULL DEFAULT 0,
    cases BIGINT NOT NULL DEFAULT 0,
    rectified BIGINT NOT NULL DEFAULT 0,
    on_time BIGINT NOT NULL DEFAULT 0,
    followed BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, key)
);
