-- Descriptions are blocked on their rarest words (services/processor/dedup/keys.py evidence) instead
-- of MinHash bands, whose template words filled the blocks. The keys are computed in Python, so the
-- evidence rows are rebuilt from the known vehicles by the processor's backfill
-- (services/processor/schema.py), which runs before the processor takes work.
TRUNCATE processor_vehicle_evidence;
INSERT INTO processor_backfills (name) VALUES ('vehicle_evidence') ON CONFLICT DO NOTHING;
