-- Statement indexes, version 9: the merchant statements (openapi.payment.order.bill and
-- .reconciliation, payments/statements.py) read one merchant's orders by pay time or creation
-- time, and the refunds that succeeded in a window. Without these every statement page would
-- scan all of the merchant's orders (or every refund).
CREATE INDEX orders_merchant_paid ON orders (merchant_id, paid_at);
CREATE INDEX orders_merchant_created ON orders (merchant_id, created_at);
CREATE INDEX refunds_status_finished ON refunds (status, finished_at);
