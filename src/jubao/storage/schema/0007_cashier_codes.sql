-- The aggregated QR cashier (聚合码), version 7: a code is an amount to pay at a merchant's
-- store, shown as one QR that any wallet can scan (GET /qr/<token>). The order behind it is made
-- when the first wallet opens the page, under the order_sn reserved here, so the code's
-- merchant_order_sn names exactly one order. `credential` is whoever created the code (an app_id,
-- or a vendor_sn at service-provider level): the order is created, and notified, in its name.
CREATE TABLE cashier_codes (
    code_id {pk},
    token TEXT NOT NULL UNIQUE,
    merchant_id {bigint} NOT NULL REFERENCES merchants (merchant_id),
    credential TEXT NOT NULL,
    app_id TEXT NOT NULL,
    merchant_order_sn TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    order_sn TEXT NOT NULL UNIQUE,
    total_fen {bigint} NOT NULL CHECK (total_fen > 0),
    store_id {bigint} NOT NULL,
    cashier_id {bigint} NOT NULL DEFAULT 0,
    channel TEXT,
    body TEXT,
    attach TEXT,
    notify_url TEXT,
    expire_at {bigint} NOT NULL,
    order_id {bigint} REFERENCES orders (order_id),
    created_at {bigint} NOT NULL,
    UNIQUE (merchant_id, merchant_order_sn)
);
