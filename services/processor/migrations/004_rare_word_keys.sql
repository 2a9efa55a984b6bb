-- Descriptions are blocked on their rarest words (services/processor/dedup/keys.py evidence) instead
-- of MinHash bands, whose template words filled the blocks. The keys are computed in Python, so the
-- evidence rows are rebuilt from the known vehicles by the processor's backfill
-- (services/processor/schema.py), which runs before the processor takes work.
TRUNCATE processor_vehicle_evidence;
INSERT INTO processor_backfills (name) VALUES ('vehicle_evidence') ON CONFLICT DO NOTHING;

-- Each listing keeps its description words' weights from the chunk it was linked in, in the order of
-- its sorted words (services/processor/dedup/rarity.py Weights): a pair is scored with each side's
-- own weights, so the score does not depend on which was linked first. The backfill fills them;
-- a row without them weighs its words alike.
ALTER TABLE processor_known_vehicles ADD COLUMN word_weights double precision[];
