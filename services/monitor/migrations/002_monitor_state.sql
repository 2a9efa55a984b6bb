-- Indexes for the monitor's joins (batch ids, raw paths, time series) and the state it must keep
-- across restarts: firing alerts and samples of JetStream consumer lag.
CREATE INDEX IF NOT EXISTS monitor_events_occurred ON monitor_events (occurred_at);
CREATE INDEX IF NOT EXISTS monitor_events_batch
    ON monitor_events ((payload->>'batch_id')) WHERE payload ? 'batch_id';
CREATE INDEX IF NOT EXISTS monitor_events_raw_path
    ON monitor_events ((payload->>'raw_path')) WHERE payload ? 'raw_path';
CREATE INDEX IF NOT EXISTS monitor_events_path
    ON monitor_events ((payload->>'path')) WHERE payload ? 'path';
CREATE INDEX IF NOT EXISTS monitor_events_subject_occurred ON monitor_events (subject, occurred_at);

-- One row per (rule, key): an alert is firing until its rule stops finding it, then resolved.
CREATE TABLE IF NOT EXISTS monitor_alerts (
    rule             text NOT NULL,
    key              text NOT NULL,
    state            text NOT NULL CHECK (state IN ('firing', 'resolved')),
    severity         text NOT NULL,
    message          text NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_fired_at   timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    last_notified_at timestamptz,
    resolved_at      timestamptz,
    PRIMARY KEY (rule, key)
);

-- JetStream consumer lag over time, so "queue growing" compares against a stored past.
CREATE TABLE IF NOT EXISTS monitor_queue_samples (
    sampled_at  timestamptz NOT NULL,
    consumer    text NOT NULL,
    pending     bigint NOT NULL,
    ack_pending bigint NOT NULL,
    redelivered bigint NOT NULL,
    PRIMARY KEY (consumer, sampled_at)
);
