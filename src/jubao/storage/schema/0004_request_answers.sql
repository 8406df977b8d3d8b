-- Security, version 4: the first answer to every state-changing request, kept 24 h, so a
-- byte-identical retry (same app, same signed parameters) is answered, never executed again.
-- The primary key is the arbiter between concurrent identical requests on any number of
-- gateways; answer is NULL while the first one is still running (see security/idempotency.py).

CREATE TABLE request_answers (
    app_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at {bigint} NOT NULL,
    answer TEXT,
    PRIMARY KEY (app_id, request_hash)
);
CREATE INDEX request_answers_created ON request_answers (created_at);
