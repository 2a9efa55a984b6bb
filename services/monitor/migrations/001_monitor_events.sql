-- One row per distinct event seen on the bus; event_id makes redelivery and replays count once.
CREATE TABLE IF NOT EXISTS monitor_events (
    event_id    uuid PRIMARY KEY,
    subject     text NOT NULL,
    stage       text NOT NULL,
    record_type text,
    source      text,
    day         date NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb NOT NULL,
    error       text
);

CREATE INDEX IF NOT EXISTS monitor_events_day_subject ON monitor_events (day, subject);
