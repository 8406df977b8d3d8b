-- Channels and scenes, version 3: orders record their channel and scene, the payer is a general
-- identity (none before a QR or a payment code is paid), and a merchant has one binding per channel.
--
--   orders.sub_mchid         -> channel_merchant_id   (WeChat sub_mchid, Alipay pid, ...)
--   orders.sub_appid         -> channel_app_id        (nullable: not every channel has one)
--   orders.sub_openid        -> payer_id              (nullable; user_id, set at payment, merged in)
--   orders.platform_order_no -> channel_trade_no
--   orders.sign_params       -> instruction           (JSON: {"wallet": {...sign params...}}, ...)
--   merchants.sub_mchid/sub_appid -> merchant_channels (wechatpay, sub_mchid, mina_app_id)
--   apps.refund_notify       refund notifications to call_back_url: opt-in for new apps, on for
--                            the apps that had them before this version

CREATE TABLE merchant_channels (
    merchant_id {bigint} NOT NULL REFERENCES merchants (merchant_id),
    channel TEXT NOT NULL,
    channel_merchant_id TEXT NOT NULL,
    mina_app_id TEXT,
    jsapi_app_id TEXT,
    auth_token TEXT,
    created_at {bigint} NOT NULL,
    updated_at {bigint} NOT NULL,
    PRIMARY KEY (merchant_id, channel)
);

INSERT INTO merchant_channels (merchant_id, channel, channel_merchant_id, mina_app_id,
    created_at, updated_at)
SELECT merchant_id, 'wechatpay', sub_mchid, sub_appid, created_at, created_at FROM merchants;

ALTER TABLE merchants DROP COLUMN sub_mchid;
ALTER TABLE merchants DROP COLUMN sub_appid;

ALTER TABLE apps ADD COLUMN refund_notify INTEGER NOT NULL DEFAULT 0;
UPDATE apps SET refund_notify = 1;

-- SQLite: rebuild orders (the only way to drop NOT NULL from sub_openid); foreign keys pointing
-- at orders keep working because the new table takes the old name.
{sqlite} CREATE TABLE orders_v3 (
    order_id {pk},
    order_sn TEXT NOT NULL UNIQUE,
    merchant_id {bigint} NOT NULL REFERENCES merchants (merchant_id),
    app_id TEXT NOT NULL,
    merchant_order_sn TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    store_id {bigint} NOT NULL,
    cashier_id {bigint} NOT NULL DEFAULT 0,
    channel TEXT NOT NULL,
    scene TEXT NOT NULL,
    channel_merchant_id TEXT NOT NULL,
    channel_app_id TEXT,
    payer_id TEXT,
    total_fen {bigint} NOT NULL CHECK (total_fen > 0),
    body TEXT,
    attach TEXT,
    call_back_url TEXT,
    state TEXT NOT NULL,
    prepay_id TEXT,
    prepay_expires_at {bigint},
    instruction TEXT,
    channel_trade_no TEXT,
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
{sqlite} INSERT INTO orders_v3 (order_id, order_sn, merchant_id, app_id, merchant_order_sn,
    fingerprint, store_id, cashier_id, channel, scene, channel_merchant_id, channel_app_id,
    payer_id, total_fen, body, attach, call_back_url, state, prepay_id, prepay_expires_at,
    instruction, channel_trade_no, paid_at, refunded_fen, refund_count, expire_at, created_at,
    updated_at)
SELECT order_id, order_sn, merchant_id, app_id, merchant_order_sn, fingerprint, store_id,
    cashier_id, 'wechatpay', 'mina', sub_mchid, sub_appid, COALESCE(user_id, sub_openid),
    total_fen, body, attach, call_back_url, state, prepay_id, prepay_expires_at,
    CASE WHEN sign_params IS NULL THEN NULL ELSE '{"wallet":' || sign_params || '}' END,
    platform_order_no, paid_at, refunded_fen, refund_count, expire_at, created_at, updated_at
FROM orders;
{sqlite} DROP TABLE orders;
{sqlite} ALTER TABLE orders_v3 RENAME TO orders;

{postgresql} ALTER TABLE orders ADD COLUMN channel TEXT NOT NULL DEFAULT 'wechatpay';
{postgresql} ALTER TABLE orders ADD COLUMN scene TEXT NOT NULL DEFAULT 'mina';
{postgresql} ALTER TABLE orders ALTER COLUMN channel DROP DEFAULT;
{postgresql} ALTER TABLE orders ALTER COLUMN scene DROP DEFAULT;
{postgresql} ALTER TABLE orders RENAME COLUMN sub_mchid TO channel_merchant_id;
{postgresql} ALTER TABLE orders RENAME COLUMN sub_appid TO channel_app_id;
{postgresql} ALTER TABLE orders ALTER COLUMN channel_app_id DROP NOT NULL;
{postgresql} ALTER TABLE orders RENAME COLUMN sub_openid TO payer_id;
{postgresql} ALTER TABLE orders ALTER COLUMN payer_id DROP NOT NULL;
{postgresql} UPDATE orders SET payer_id = user_id WHERE user_id IS NOT NULL;
{postgresql} ALTER TABLE orders DROP COLUMN user_id;
{postgresql} ALTER TABLE orders RENAME COLUMN platform_order_no TO channel_trade_no;
{postgresql} ALTER TABLE orders RENAME COLUMN sign_params TO instruction;
{postgresql} UPDATE orders SET instruction = '{"wallet":' || instruction || '}'
    WHERE instruction IS NOT NULL;
{postgresql} DROP INDEX orders_state_expire;
{postgresql} DROP INDEX orders_created;

CREATE INDEX orders_state_expire ON orders (state, expire_at);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_channel_trade ON orders (channel, channel_trade_no);
