-- An event needs a place, a city or a venue: the city alone is no longer required.
-- The records' model (shared/records.py, CarEvent) refuses an event with neither; the table
-- says the same, so a row written by any other path cannot lose its place either.
ALTER TABLE events
    ALTER COLUMN city DROP NOT NULL,
    ADD CONSTRAINT events_place_check CHECK (city IS NOT NULL OR venue IS NOT NULL);
