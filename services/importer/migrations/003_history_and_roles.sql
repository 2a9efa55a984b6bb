-- Field history, collection time, and the grants of the application role.
--
-- History: an AFTER UPDATE row trigger, filtered by WHEN, writes one field_history row per watched
-- field whose value changed (old -> new, the batch that set each, when). Inserts and unchanged
-- records never fire it (the upsert does not touch an unchanged row), so the bulk path pays nothing.

ALTER TABLE vehicles ADD COLUMN collected_at timestamptz;
ALTER TABLE events ADD COLUMN collected_at timestamptz;
ALTER TABLE articles ADD COLUMN collected_at timestamptz;

CREATE TABLE field_history (
    id           bigserial PRIMARY KEY,
    record_type  text NOT NULL CHECK (record_type IN ('vehicles', 'events', 'articles')),
    record_id    bigint NOT NULL,
    data_hash    text NOT NULL,
    field        text NOT NULL,
    old_value    text,
    new_value    text,
    old_batch_id text,
    batch_id     text,
    valid_from   timestamptz NOT NULL,  -- when the old value was set (the row's previous updated_at)
    changed_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX field_history_record_idx ON field_history (record_type, data_hash, changed_at);

-- The watched fields are the trigger's arguments; to_jsonb reads them by name.
CREATE OR REPLACE FUNCTION importer_record_history() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb := to_jsonb(NEW);
    watched text;
BEGIN
    FOREACH watched IN ARRAY TG_ARGV LOOP
        IF old_row -> watched IS DISTINCT FROM new_row -> watched THEN
            INSERT INTO field_history (record_type, record_id, data_hash, field, old_value,
                                       new_value, old_batch_id, batch_id, valid_from, changed_at)
            VALUES (TG_TABLE_NAME, NEW.id, NEW.data_hash, watched, old_row ->> watched,
                    new_row ->> watched, OLD.batch_id, NEW.batch_id, OLD.updated_at, NEW.updated_at);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER vehicles_field_history
    AFTER UPDATE OF price, description ON vehicles
    FOR EACH ROW
    WHEN (OLD.price IS DISTINCT FROM NEW.price OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION importer_record_history('price', 'description');

CREATE TRIGGER events_field_history
    AFTER UPDATE OF start_date, end_date, venue, description ON events
    FOR EACH ROW
    WHEN (OLD.start_date IS DISTINCT FROM NEW.start_date OR OLD.end_date IS DISTINCT FROM NEW.end_date
          OR OLD.venue IS DISTINCT FROM NEW.venue OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION importer_record_history('start_date', 'end_date', 'venue', 'description');

CREATE TRIGGER articles_field_history
    AFTER UPDATE OF title, summary ON articles
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.summary IS DISTINCT FROM NEW.summary)
    EXECUTE FUNCTION importer_record_history('title', 'summary');

-- A vehicle's asking price over time, typed, for collectors.
CREATE VIEW vehicle_price_history AS
    SELECT v.id AS vehicle_id, v.make, v.model, v.year, h.data_hash,
           h.old_value::numeric(12, 2) AS old_price, h.new_value::numeric(12, 2) AS new_price,
           h.old_batch_id, h.batch_id, h.valid_from, h.changed_at
    FROM field_history AS h JOIN vehicles AS v ON v.id = h.record_id
    WHERE h.record_type = 'vehicles' AND h.field = 'price';

-- Grant data access (never DDL) to the services' role; called after every migrate run, so a role
-- created later gets its grants at the next start-up. A role that does not exist is skipped.
CREATE OR REPLACE FUNCTION importer_grant_app_role(app_role text) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF app_role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app_role) THEN
        RETURN false;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I',
                   app_role);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', app_role);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM %I', app_role);
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), app_role);
    RETURN true;
END
$$;
