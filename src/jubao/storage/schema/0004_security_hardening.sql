-- Security, version 4.
-- request_answers: the first answer to every state-changing request, kept 24 h, so a
-- byte-identical retry (same app, same signed parameters) is answered, never executed again.
-- The primary key is the arbiter between concurrent identical requests on any number of
-- gateways; answer is NULL while the first one is still running, which renews lease_until
-- while it works: a claim whose lease ran out (its process died) is taken over by a retry.
-- ended_console_sessions: console sessions ended by logout before their cookie expires
-- (web/console/auth.py); a row is useless after expires_at and is deleted then.

CREATE TABLE request_answers (
    app_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at {bigint} NOT NULL,
    lease_until {bigint} NOT NULL,
    answer TEXT,
    PRIMARY KEY (app_id, request_hash)
);
CREATE INDEX request_answers_created ON request_answers (created_at);

CREATE TABLE ended_console_sessions (
    nonce TEXT PRIMARY KEY,
    expires_at {bigint} NOT NULL
);
CREATE INDEX ended_console_sessions_expiry ON ended_console_sessions (expires_at);
