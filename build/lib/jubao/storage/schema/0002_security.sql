-- Security, version 2: strict nonce mode per app and the nonces it has seen.
-- app_secret values may now be sealed text "v1:<key id>:<base64url>" (see security/sealing.py);
-- the column stays TEXT and legacy plaintext values remain valid.

ALTER TABLE apps ADD COLUMN strict_nonce INTEGER NOT NULL DEFAULT 0;

CREATE TABLE used_nonces (
    app_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at {bigint} NOT NULL,
    PRIMARY KEY (app_id, nonce)
);
CREATE INDEX used_nonces_seen ON used_nonces (seen_at);
