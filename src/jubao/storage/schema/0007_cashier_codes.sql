-- The aggregated QR cashier (聚合码), version 7: a code is an amount to pay at a merchant's
-- store, shown as one QR that any wallet can scan (GET /qr/<token>). The order behind it is made
-- when the first wallet opens the page, under the order_sn reserved here, so the code's
-- merchant_order_sn names exactly one order. The code keeps whoever created it, like orders
-- (0006): an app (app_id), or a vendor acting for the merchant (vendor_sn, app_id NULL); the order
-- is created in its name, as a 2.0 order, so its notifications are signed with its secret.
CREATE TABLE cashier_codes (
    code_id {pk},
    token TEXT NOT NULL UNIQUE,
    merchant_id {bigint} NOT NULL REFERENCES merchants (merchant_id),
    app_id TEXT,
    vendor_sn TEXT REFERENCES vendors (vendor_sn),
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
    UNIQUE (merchant_id, merchant_order_sn),
    CHECK ((app_id IS NULL) <> (vendor_sn IS NULL))
);
