-- Open API 2.0, version 6 (POST /gateway/agent).
-- vendors: service providers (服务商) and their secrets, sealed at rest like app secrets
--   (security/sealing.py, associated data "jubao:vendors.vendor_secret:<vendor_sn>").
-- merchants.vendor_sn: the vendor a merchant belongs to (NULL: none); a vendor acts for its own
--   merchants only.
-- orders.api_version ('1.0' or '2.0') and orders.vendor_sn: which API generation and which
--   credential created the order (app_id, or the vendor when vendor_sn is set). Notifications
--   take the creator's layout and are signed with the creator's secret.
-- notifications.vendor_sn: the vendor whose secret signs the notification (NULL: the app's).
-- merchant_callbacks: each merchant's 2.0 callback addresses (fbpay.pay.callback.config).

CREATE TABLE vendors (
    vendor_sn TEXT PRIMARY KEY,
    vendor_secret TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at {bigint} NOT NULL
);

ALTER TABLE merchants ADD COLUMN vendor_sn TEXT REFERENCES vendors (vendor_sn);
CREATE INDEX merchants_vendor ON merchants (vendor_sn);

ALTER TABLE orders ADD COLUMN api_version TEXT NOT NULL DEFAULT '1.0';
ALTER TABLE orders ADD COLUMN vendor_sn TEXT;

ALTER TABLE notifications ADD COLUMN vendor_sn TEXT;

CREATE TABLE merchant_callbacks (
    merchant_id {bigint} PRIMARY KEY REFERENCES merchants (merchant_id),
    pay_url TEXT,
    refund_url TEXT,
    updated_at {bigint} NOT NULL
);
