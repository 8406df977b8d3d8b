-- jubao schema, version 1. {pk} and {bigint} are filled in per dialect (storage/migrations.py).
-- Timestamps are integer epoch milliseconds; money is integer fen.

CREATE TABLE merchants (
    merchant_id {pk},
    name TEXT NOT NULL,
    sub_mchid TEXT NOT NULL,
    sub_appid TEXT NOT NULL,
    created_at {bigint} NOT NULL
);

CREATE TABLE apps (
    app_id TEXT PRIMARY KEY,
    merchant_id {bigint} NOT NULL REFERENCES merchants (merchant_id),
    app_secret TEXT NOT NULL,
    callback_url TEXT,
    created_at {bigint} NOT NULL
);
CREATE INDEX apps_merchant ON apps (merchant_id);

CREATE TABLE stores (
    store_id {pk},
    merchant_id {bigint} NOT NULL REFERENCES merchants (merchant_id),
    name TEXT NOT NULL,
    created_at {bigint} NOT NULL
);
CREATE INDEX stores_merchant ON stores (merchant_id);

CREATE TABLE cashiers (
    cashier_id {pk},
    store_id {bigint} NOT NULL REFERENCES stores (store_id),
    name TEXT NOT NULL,
    created_at {bigint} NOT NULL
);
CREATE INDEX cashiers_store ON cashiers (store_id);

CREATE TABLE orders (
    order_id {pk},
    order_sn TEXT NOT NULL UNIQUE,
    merchant_id {bigint} NOT NULL REFERENCES merchants (merchant_id),
    app_id TEXT NOT NULL,
    merchant_order_sn TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    store_id {bigint} NOT NULL,
    cashier_id {bigint} NOT NULL DEFAULT 0,
    sub_mchid TEXT NOT NULL,
    sub_appid TEXT NOT NULL,
    sub_openid TEXT NOT NULL,
    total_fen {bigint} NOT NULL CHECK (total_fen > 0),
    body TEXT,
    attach TEXT,
    call_back_url TEXT,
    state TEXT NOT NULL,
    prepay_id TEXT,
    prepay_expires_at {bigint},
    sign_params TEXT,
    platform_order_no TEXT,
    user_id TEXT,
    paid_at {bigint},
    refunded_fen {bigint} NOT NULL DEFAULT 0,
    refund_count INTEGER NOT NULL DEFAULT 0,
    expire_at {bigint} NOT NULL,
    created_at {bigint} NOT NULL,
    updated_at {bigint} NOT NULL,
    UNIQUE (merchant_id, merchant_order_sn),
    CHECK (refunded_fen >= 0 AND refunded_fen <= total_fen),
    CHECK (refund_count >= 0 AND refund_count <= 10)
);
CREATE INDEX orders_state_expire ON orders (state, expire_at);
CREATE INDEX orders_created ON orders (created_at);

CREATE TABLE refunds (
    refund_id {pk},
    refund_sn TEXT NOT NULL UNIQUE,
    order_id {bigint} NOT NULL REFERENCES orders (order_id),
    merchant_refund_sn TEXT NOT NULL,
    refund_fen {bigint} NOT NULL CHECK (refund_fen > 0),
    status TEXT NOT NULL,
    channel_refund_id TEXT,
    submitted INTEGER NOT NULL DEFAULT 0,
    finished_at {bigint},
    created_at {bigint} NOT NULL,
    updated_at {bigint} NOT NULL,
    UNIQUE (order_id, merchant_refund_sn)
);
CREATE INDEX refunds_status ON refunds (status, updated_at);

CREATE TABLE order_events (
    event_id {pk},
    order_id {bigint} NOT NULL REFERENCES orders (order_id),
    at {bigint} NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_events_order ON order_events (order_id, event_id);

CREATE TABLE notifications (
    notification_id {pk},
    order_id {bigint} NOT NULL REFERENCES orders (order_id),
    app_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {bigint} NOT NULL,
    lease_until {bigint},
    lease_owner TEXT,
    delivered_at {bigint},
    created_at {bigint} NOT NULL,
    updated_at {bigint} NOT NULL
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_order ON notifications (order_id);

CREATE TABLE notification_attempts (
    attempt_id {pk},
    notification_id {bigint} NOT NULL REFERENCES notifications (notification_id),
    started_at {bigint} NOT NULL,
    duration_ms INTEGER NOT NULL,
    http_status INTEGER,
    response_head TEXT,
    error TEXT
);
CREATE INDEX notification_attempts_notification ON notification_attempts (notification_id);
