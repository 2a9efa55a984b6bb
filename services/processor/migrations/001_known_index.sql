-- The processor's index of known records, for dedup across files, days, sources and replicas.

-- Every vehicle the processor has accepted, with its normalized matching fields and its link.
CREATE TABLE processor_known_vehicles (
    data_hash      text PRIMARY KEY,
    canonical_hash text NOT NULL,          -- itself when the listing is a canonical
    match_score    real,
    match_fields   text[],
    make           text NOT NULL,
    model          text NOT NULL,
    model_key      text NOT NULL,          -- the model's first word (market comparables)
    year           integer NOT NULL,
    price          double precision NOT NULL,
    city           text NOT NULL,
    state          text NOT NULL,
    description    text NOT NULL,
    image_url      text NOT NULL,
    source         text NOT NULL,
    source_url     text NOT NULL,
    stock          text NOT NULL,
    first_seen     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processor_known_vehicles_market_idx
    ON processor_known_vehicles (make, model_key, year);

-- Blocking keys: a candidate is any known vehicle sharing one key id (btree on the primary key).
CREATE TABLE processor_vehicle_blocks (
    block_key bigint NOT NULL,
    data_hash text NOT NULL,
    PRIMARY KEY (block_key, data_hash)
);

-- Events and articles: exact duplicates across files only (their natural key).
CREATE TABLE processor_known_records (
    record_type text NOT NULL,
    data_hash   text NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (record_type, data_hash)
);

-- Geocoder answers, so an online geocoder is asked once per place.
CREATE TABLE processor_geocache (
    geocoder  text NOT NULL,
    query     text NOT NULL,
    latitude  double precision,            -- null: the geocoder found nothing
    longitude double precision,
    cached_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (geocoder, query)
);
