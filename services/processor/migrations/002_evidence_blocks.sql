-- Blocking on identifying evidence (description signature bands, photo path) replaces blocking on
-- make/model/year/place, and the blocking table holds 64-bit vehicle ids instead of 64-character
-- hashes (half the bytes per candidate). The keys are computed in Python, so the new table is filled
-- from the known vehicles by the processor's migration step (services/processor/schema.py), which
-- runs before the processor takes work; the row in processor_backfills says it is still to do.

-- The first 64 bits of the data hash, as services/processor/dedup/keys.py vehicle_id computes them.
ALTER TABLE processor_known_vehicles
    ADD COLUMN vehicle_id bigint
    GENERATED ALWAYS AS (('x' || left(data_hash, 16))::bit(64)::bigint) STORED;
CREATE INDEX processor_known_vehicles_vehicle_idx ON processor_known_vehicles (vehicle_id);

-- A probe reads one key's listings of year - 1 to year + 1: one range of this btree. The
-- description's length rides in the index, so a band's probe skips, without reading a row,
-- listings whose description is too long or too short to pass the description gate.
CREATE TABLE processor_vehicle_evidence (
    block_key  bigint NOT NULL,
    year       smallint NOT NULL,
    vehicle_id bigint NOT NULL,
    desc_len   smallint NOT NULL,
    PRIMARY KEY (block_key, year, vehicle_id) INCLUDE (desc_len)
);

DROP TABLE processor_vehicle_blocks;

-- Backfills a migration needs from Python; a row is deleted when its backfill has finished.
CREATE TABLE processor_backfills (
    name       text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO processor_backfills (name) VALUES ('vehicle_evidence');
