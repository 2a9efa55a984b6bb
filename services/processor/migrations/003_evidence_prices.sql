-- The evidence index carries each listing's price and whether it has a photo, and is ordered by
-- them, so a band's probe reads only listings the scorer could link: a candidate found through its
-- description alone needs a price close enough to make up the threshold
-- (services/processor/dedup/scoring.py price_range). The rows are rebuilt from the known vehicles
-- in one statement; a database whose evidence backfill (002) is still to do has no rows here yet,
-- and the backfill then writes the new columns itself.

CREATE TABLE processor_vehicle_evidence_v3 (
    block_key  bigint NOT NULL,
    year       smallint NOT NULL,
    vehicle_id bigint NOT NULL,
    desc_len   smallint NOT NULL,
    price      double precision NOT NULL,
    photo      boolean NOT NULL
);

-- Two known vehicles sharing a 64-bit id (about 1e-8 at a million listings) would give one row
-- twice: DISTINCT ON keeps one, as the primary key requires.
INSERT INTO processor_vehicle_evidence_v3
SELECT DISTINCT ON (e.block_key, e.year, e.vehicle_id)
       e.block_key, e.year, e.vehicle_id, e.desc_len, k.price, k.image_url <> ''
FROM processor_vehicle_evidence e
JOIN processor_known_vehicles k ON k.vehicle_id = e.vehicle_id
ORDER BY e.block_key, e.year, e.vehicle_id, k.data_hash;

DROP TABLE processor_vehicle_evidence;
ALTER TABLE processor_vehicle_evidence_v3 RENAME TO processor_vehicle_evidence;
-- A probe reads one block's listings with (or without) a photo in a price range: one range of this
-- btree, in price order, so its cost follows the listings that could link, not the block's size.
-- The year and the description's length are read from the index too. A listing has each key once.
ALTER TABLE processor_vehicle_evidence
    ADD CONSTRAINT processor_vehicle_evidence_pkey
    PRIMARY KEY (block_key, photo, price, vehicle_id) INCLUDE (year, desc_len);
