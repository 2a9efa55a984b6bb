-- The seed's vehicle contract (shared.records.Vehicle): its categories, conditions and regions as the
-- seed spells them, an optional price, a make of up to 100 characters, years from 1900, and URLs of
-- up to 65,536 characters. Rows are rewritten in place; no row is removed. A value the seed has no
-- name for ('other') becomes NULL; 'exotic' and 'antique' take the seed's nearest category.

-- The price-history view and the search vector read make, whose type changes: both are dropped
-- and made again below. The search vector now holds the category and condition too, so a search
-- for "muscle cars" or "project" finds listings by the seed's classification.
DROP VIEW vehicle_price_history;
ALTER TABLE vehicles DROP COLUMN search_vector;

ALTER TABLE vehicles DROP CONSTRAINT vehicles_category_check;
ALTER TABLE vehicles DROP CONSTRAINT vehicles_condition_check;
ALTER TABLE vehicles DROP CONSTRAINT vehicles_year_check;

-- A vocabulary rename is not a change of the listing: the field-history trigger stays quiet.
ALTER TABLE vehicles DISABLE TRIGGER vehicles_field_history;

UPDATE vehicles SET
    category = CASE category
        WHEN 'classic' THEN 'Classic Cars'
        WHEN 'antique' THEN 'Classic Cars'
        WHEN 'muscle' THEN 'Muscle Cars'
        WHEN 'sports' THEN 'Sports Cars'
        WHEN 'exotic' THEN 'Sports Cars'
        WHEN 'luxury' THEN 'Luxury Cars'
        WHEN 'hot_rod' THEN 'Hot Rods'
        WHEN 'truck' THEN 'Trucks'
        WHEN 'other' THEN NULL
        ELSE category
    END,
    condition = CASE condition
        WHEN 'concours' THEN 'Excellent'
        WHEN 'excellent' THEN 'Excellent'
        WHEN 'very_good' THEN 'Very Good'
        WHEN 'good' THEN 'Good'
        WHEN 'fair' THEN 'Fair'
        WHEN 'project' THEN 'Project'
        ELSE condition
    END,
    location_region = CASE lower(location_region)
        WHEN 'west' THEN 'West'
        WHEN 'south' THEN 'South'
        WHEN 'midwest' THEN 'Midwest'
        WHEN 'northeast' THEN 'Northeast'
        WHEN 'europe' THEN 'Europe'
        WHEN 'asia' THEN 'Asia'
        WHEN 'oceania' THEN 'Oceania'
        ELSE location_region
    END
WHERE category IS NOT NULL OR condition IS NOT NULL OR location_region IS NOT NULL;

ALTER TABLE vehicles ENABLE TRIGGER vehicles_field_history;

ALTER TABLE vehicles
    ALTER COLUMN make TYPE varchar(100),
    ALTER COLUMN price DROP NOT NULL,
    ALTER COLUMN source_url TYPE varchar(65536),
    ALTER COLUMN image_url TYPE varchar(65536),
    ADD CONSTRAINT vehicles_category_check CHECK (category IN (
        'Muscle Cars', 'Sports Cars', 'Classic Cars', 'Hot Rods', 'Restomods', 'Luxury Cars',
        'Trucks')),
    ADD CONSTRAINT vehicles_condition_check CHECK (condition IN (
        'Excellent', 'Very Good', 'Good', 'Fair', 'Project')),
    ADD CONSTRAINT vehicles_year_check CHECK (year >= 1900),
    -- A region written before the seed's list (free text then) is kept; new rows use the list.
    ADD CONSTRAINT vehicles_location_region_check CHECK (location_region IN (
        'West', 'South', 'Midwest', 'Northeast', 'Europe', 'Asia', 'Oceania')) NOT VALID;

ALTER TABLE events
    ALTER COLUMN source_url TYPE varchar(65536),
    ALTER COLUMN url TYPE varchar(65536),
    ALTER COLUMN image_url TYPE varchar(65536);
ALTER TABLE articles
    ALTER COLUMN source_url TYPE varchar(65536),
    ALTER COLUMN url TYPE varchar(65536),
    ALTER COLUMN image_url TYPE varchar(65536);

ALTER TABLE vehicles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english',
        coalesce(year::text, '') || ' ' || coalesce(make, '') || ' ' || coalesce(model, '')), 'A')
    || setweight(to_tsvector('english', coalesce(description, '')), 'B')
    || setweight(to_tsvector('english',
        coalesce(location_city, '') || ' ' || coalesce(location_state, '') || ' '
        || coalesce(location_region, '') || ' ' || coalesce(category, '') || ' '
        || coalesce(condition, '')), 'C')
) STORED;
CREATE INDEX vehicles_search_idx ON vehicles USING gin (search_vector);
CREATE INDEX vehicles_category_idx ON vehicles (category) WHERE category IS NOT NULL;

CREATE VIEW vehicle_price_history AS
    SELECT v.id AS vehicle_id, v.make, v.model, v.year, h.data_hash,
           h.old_value::numeric(12, 2) AS old_price, h.new_value::numeric(12, 2) AS new_price,
           h.old_batch_id, h.batch_id, h.valid_from, h.changed_at
    FROM field_history AS h JOIN vehicles AS v ON v.id = h.record_id
    WHERE h.record_type = 'vehicles' AND h.field = 'price';
