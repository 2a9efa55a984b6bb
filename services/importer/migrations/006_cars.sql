-- Cars: one observation per listing per imported batch, and the view of cars for analysts.
--
-- A car is the cluster of its listings: the canonical listing and the listings whose
-- canonical_hash points at it (migration 002). vehicle_observations records that a listing was
-- seen in a batch (at which price, when), also when the row itself did not change: the importer
-- writes one row per listing per batch in the transaction of the chunk, and the key
-- (data_hash, batch_id) with ON CONFLICT DO NOTHING makes a redelivery, a re-drop or a
-- reprocessing of the same batch add nothing.

CREATE TABLE vehicle_observations (
    data_hash   text NOT NULL,
    batch_id    text NOT NULL,
    observed_at timestamptz NOT NULL,  -- when collected (meta.json), else processed, else imported
    price       numeric(12, 2),
    source_name varchar(100) NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (data_hash, batch_id)
);

-- Listings imported before this table existed: what their row and their price history tell
-- (the current price from the row's batch, each earlier price from the batch that set it), at
-- the time each was imported: the history knows no other time for the earlier prices.
INSERT INTO vehicle_observations (data_hash, batch_id, observed_at, price, source_name)
SELECT data_hash, coalesce(batch_id, ''), updated_at, price, source_name
FROM vehicles
ON CONFLICT DO NOTHING;

INSERT INTO vehicle_observations (data_hash, batch_id, observed_at, price, source_name)
SELECT h.data_hash, coalesce(h.old_batch_id, ''), h.valid_from, h.old_value::numeric(12, 2),
       v.source_name
FROM field_history AS h JOIN vehicles AS v ON v.data_hash = h.data_hash
WHERE h.record_type = 'vehicles' AND h.field = 'price'
ON CONFLICT DO NOTHING;

-- One row per listing and observation, with the car it belongs to. car_id is the id of the
-- car's canonical listing (a listing whose canonical is not in the table is its own car);
-- listing_first_seen / listing_last_seen bound the listing's observations. Clearing a
-- listing's canonical_hash moves it (and its observations) out of the car at once.
CREATE VIEW car_observations AS
    SELECT coalesce(canon.id, v.id) AS car_id,
           coalesce(canon.data_hash, v.data_hash) AS car_hash,
           v.id AS listing_id, v.data_hash, v.source_name AS site, v.source_url AS url,
           v.year, v.make, v.model, v.price AS current_price,
           o.observed_at, o.price, o.batch_id,
           span.first_seen AS listing_first_seen, span.last_seen AS listing_last_seen,
           (v.enrichment -> 'market' ->> 'median')::numeric(12, 2) AS market_median,
           (v.enrichment -> 'market' ->> 'percentile')::real AS market_percentile,
           (v.enrichment -> 'market' ->> 'comparables')::integer AS market_comparables
    FROM vehicles AS v
    JOIN vehicle_observations AS o ON o.data_hash = v.data_hash
    CROSS JOIN LATERAL (
        SELECT min(s.observed_at) AS first_seen, max(s.observed_at) AS last_seen
        FROM vehicle_observations AS s WHERE s.data_hash = v.data_hash
    ) AS span
    LEFT JOIN vehicles AS canon ON canon.data_hash = v.canonical_hash;
