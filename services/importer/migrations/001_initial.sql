-- The importer's data tables. One column per key of shared.records.processed_columns(type), with the
-- record models' types and length bounds; data_hash (the natural key) makes every load idempotent.
-- Lineage columns (raw_file .. pipeline_version) say where the current version of a row came from.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CHECK constraints cannot hold sub-queries: the longest element of a text array, as a function.
CREATE OR REPLACE FUNCTION importer_max_element_length(text[]) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(max(char_length(element)), 0) FROM unnest($1) AS element $$;

CREATE TABLE vehicles (
    id               bigserial PRIMARY KEY,
    source_name      varchar(100) NOT NULL CHECK (char_length(source_name) >= 1),
    source_url       varchar(2048),
    make             varchar(50) NOT NULL CHECK (char_length(make) >= 1),
    model            varchar(100) NOT NULL CHECK (char_length(model) >= 1),
    year             integer NOT NULL CHECK (year >= 1886),
    price            numeric(12, 2) NOT NULL CHECK (price > 0),
    description      varchar(5000),
    image_url        varchar(2048),
    location_city    varchar(100),
    location_state   varchar(50),
    location_region  varchar(50),
    category         text CHECK (category IN (
                         'classic', 'muscle', 'sports', 'luxury', 'exotic', 'antique', 'hot_rod',
                         'truck', 'other')),
    condition        text CHECK (condition IN (
                         'concours', 'excellent', 'very_good', 'good', 'fair', 'project')),
    stock_number     varchar(100),
    data_hash        text NOT NULL UNIQUE CHECK (data_hash ~ '^[0-9a-f]{64}$'),
    investment_grade text,
    grade_rule       text,
    raw_file         text,
    record_position  integer CHECK (record_position >= 0),
    batch_id         text,
    processed_at     timestamptz,
    pipeline_version text,
    imported_at      timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    search_vector    tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english',
            coalesce(year::text, '') || ' ' || coalesce(make, '') || ' ' || coalesce(model, '')), 'A')
        || setweight(to_tsvector('english', coalesce(description, '')), 'B')
        || setweight(to_tsvector('english',
            coalesce(location_city, '') || ' ' || coalesce(location_state, '') || ' '
            || coalesce(location_region, '')), 'C')
    ) STORED
);

CREATE INDEX vehicles_search_idx ON vehicles USING gin (search_vector);
CREATE INDEX vehicles_make_model_trgm_idx ON vehicles USING gin ((make || ' ' || model) gin_trgm_ops);
CREATE INDEX vehicles_make_model_year_idx ON vehicles (make, model, year);
CREATE INDEX vehicles_price_idx ON vehicles (price);
CREATE INDEX vehicles_batch_idx ON vehicles (batch_id);

CREATE TABLE events (
    id               bigserial PRIMARY KEY,
    source_name      varchar(100) NOT NULL CHECK (char_length(source_name) >= 1),
    source_url       varchar(2048),
    name             varchar(200) NOT NULL CHECK (char_length(name) >= 3),
    event_type       text NOT NULL CHECK (event_type IN (
                         'show', 'auction', 'concours', 'rally', 'race', 'meet', 'swap_meet',
                         'cruise', 'other')),
    start_date       date NOT NULL,
    end_date         date CHECK (end_date >= start_date),
    venue            varchar(200),
    city             varchar(100) NOT NULL CHECK (char_length(city) >= 1),
    state            varchar(50),
    region           varchar(50),
    country          varchar(56) NOT NULL DEFAULT 'US',
    description      varchar(5000),
    url              varchar(2048),
    image_url        varchar(2048),
    organizer        varchar(200),
    data_hash        text NOT NULL UNIQUE CHECK (data_hash ~ '^[0-9a-f]{64}$'),
    raw_file         text,
    record_position  integer CHECK (record_position >= 0),
    batch_id         text,
    processed_at     timestamptz,
    pipeline_version text,
    imported_at      timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    search_vector    tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(name, '')), 'A')
        || setweight(to_tsvector('english', coalesce(venue, '') || ' ' || coalesce(city, '')), 'B')
        || setweight(to_tsvector('english', coalesce(description, '')), 'C')
    ) STORED
);

CREATE INDEX events_search_idx ON events USING gin (search_vector);
CREATE INDEX events_name_trgm_idx ON events USING gin (name gin_trgm_ops);
CREATE INDEX events_start_date_idx ON events (start_date);
CREATE INDEX events_batch_idx ON events (batch_id);

CREATE TABLE articles (
    id               bigserial PRIMARY KEY,
    source_name      varchar(100) NOT NULL CHECK (char_length(source_name) >= 1),
    source_url       varchar(2048),
    title            varchar(300) NOT NULL CHECK (char_length(title) >= 3),
    url              varchar(2048) NOT NULL,
    summary          varchar(2000),
    body             text CHECK (char_length(body) <= 200000),
    author           varchar(200),
    published_date   date,
    category         text CHECK (category IN (
                         'news', 'auction_results', 'buyers_guide', 'market_analysis',
                         'restoration', 'history', 'event_coverage', 'review', 'other')),
    tags             text[] NOT NULL DEFAULT '{}'
                         CHECK (cardinality(tags) <= 20 AND importer_max_element_length(tags) <= 50),
    image_url        varchar(2048),
    data_hash        text NOT NULL UNIQUE CHECK (data_hash ~ '^[0-9a-f]{64}$'),
    raw_file         text,
    record_position  integer CHECK (record_position >= 0),
    batch_id         text,
    processed_at     timestamptz,
    pipeline_version text,
    imported_at      timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    search_vector    tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(summary, '')), 'B')
        || setweight(to_tsvector('english', coalesce(body, '')), 'C')
    ) STORED
);

CREATE INDEX articles_search_idx ON articles USING gin (search_vector);
CREATE INDEX articles_title_trgm_idx ON articles USING gin (title gin_trgm_ops);
CREATE INDEX articles_published_date_idx ON articles (published_date);
CREATE INDEX articles_batch_idx ON articles (batch_id);

-- One row per processed batch: the counts of its latest import.
CREATE TABLE import_batches (
    batch_id       text PRIMARY KEY,
    record_type    text NOT NULL CHECK (record_type IN ('vehicles', 'events', 'articles')),
    processed_path text NOT NULL,
    rows_total     integer NOT NULL CHECK (rows_total >= 0),
    inserted       integer NOT NULL CHECK (inserted >= 0),
    updated        integer NOT NULL CHECK (updated >= 0),
    unchanged      integer NOT NULL CHECK (unchanged >= 0),
    failed         integer NOT NULL CHECK (failed >= 0),
    chunks         integer NOT NULL CHECK (chunks >= 0),
    imported_at    timestamptz NOT NULL DEFAULT now()
);
