-- Reconciliation, version 8: each run of a day's channel statement against jubao's orders and
-- refunds (docs/reconciliation.md), the differences it found, and the claim by which one worker
-- of several runs the morning's scheduled reconciliation.
CREATE TABLE reconciliation_runs (
    run_id {pk},
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_at {bigint} NOT NULL,
    finished_at {bigint},
    statement_lines INTEGER NOT NULL DEFAULT 0,
    matched INTEGER NOT NULL DEFAULT 0,
    channel_only INTEGER NOT NULL DEFAULT 0,
    jubao_only INTEGER NOT NULL DEFAULT 0,
    amount_differs INTEGER NOT NULL DEFAULT 0,
    refund_channel_only INTEGER NOT NULL DEFAULT 0,
    refund_jubao_only INTEGER NOT NULL DEFAULT 0,
    not_jubao INTEGER NOT NULL DEFAULT 0,
    repaired INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reconciliation_runs_day ON reconciliation_runs (day, channel, run_id);

-- One row per difference of a day and channel, kept across runs: a later run that no longer
-- finds it resolves it; a repaired one is resolved when found.
CREATE TABLE reconciliation_differences (
    difference_id {pk},
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    order_sn TEXT NOT NULL,
    refund_sn TEXT NOT NULL DEFAULT '',
    channel_fen {bigint},
    jubao_fen {bigint},
    transaction_id TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    resolved INTEGER NOT NULL DEFAULT 0,
    resolution TEXT NOT NULL DEFAULT '',
    first_run_id {bigint} NOT NULL,
    last_run_id {bigint} NOT NULL,
    created_at {bigint} NOT NULL,
    updated_at {bigint} NOT NULL,
    UNIQUE (day, channel, kind, order_sn, refund_sn)
);
CREATE INDEX reconciliation_differences_open ON reconciliation_differences (resolved, day);
CREATE INDEX reconciliation_differences_run ON reconciliation_differences (last_run_id);

-- The scheduled run of a day and channel, claimed by one worker: a lease that runs out (a worker
-- died) or a failed run (statement not ready yet) lets the next claim try again.
CREATE TABLE reconciliation_claims (
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    lease_until {bigint} NOT NULL,
    claimed_by TEXT NOT NULL,
    PRIMARY KEY (day, channel)
);

-- what a day's run reads of jubao's own books: orders paid and refunds finished in the day
CREATE INDEX orders_paid ON orders (paid_at);
CREATE INDEX refunds_finished ON refunds (finished_at);
