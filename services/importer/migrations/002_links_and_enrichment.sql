-- Near-duplicate links and enrichment (shared.records.LINK_FIELDS), on every data table.
-- A near-duplicate stays its own row; canonical_hash points at the listing it duplicates, with the
-- score and the fields that matched, so a user can see and undo a merge.

ALTER TABLE vehicles
    ADD COLUMN canonical_hash text CHECK (canonical_hash ~ '^[0-9a-f]{64}$'),
    ADD COLUMN match_score    real CHECK (match_score BETWEEN 0 AND 100),
    ADD COLUMN match_fields   text[],
    ADD COLUMN enrichment     jsonb;
ALTER TABLE events
    ADD COLUMN canonical_hash text CHECK (canonical_hash ~ '^[0-9a-f]{64}$'),
    ADD COLUMN match_score    real CHECK (match_score BETWEEN 0 AND 100),
    ADD COLUMN match_fields   text[],
    ADD COLUMN enrichment     jsonb;
ALTER TABLE articles
    ADD COLUMN canonical_hash text CHECK (canonical_hash ~ '^[0-9a-f]{64}$'),
    ADD COLUMN match_score    real CHECK (match_score BETWEEN 0 AND 100),
    ADD COLUMN match_fields   text[],
    ADD COLUMN enrichment     jsonb;

CREATE INDEX vehicles_canonical_idx ON vehicles (canonical_hash) WHERE canonical_hash IS NOT NULL;
CREATE INDEX events_canonical_idx ON events (canonical_hash) WHERE canonical_hash IS NOT NULL;
CREATE INDEX articles_canonical_idx ON articles (canonical_hash) WHERE canonical_hash IS NOT NULL;
