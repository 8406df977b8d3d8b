-- Heartbeats, version 5: each process that delivers merchant notifications (the worker, the
-- sandbox) records that it is alive, so /readyz, /metrics and the console can tell when
-- notifications are due and nobody is sending them.
CREATE TABLE heartbeats (
    process TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    beat_at {bigint} NOT NULL
);
