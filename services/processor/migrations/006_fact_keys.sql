-- Listings are also blocked on their facts (make, place and year: services/processor/dedup/keys.py
-- evidence), so a copy re-worded by another site meets its original without a shared rare word or
-- photo. The keys are computed in Python, so the evidence rows are rebuilt from the known vehicles
-- by the processor's backfill (services/processor/schema.py), which runs before the processor
-- takes work.
TRUNCATE processor_vehicle_evidence;
INSERT INTO processor_backfills (name) VALUES ('vehicle_evidence') ON CONFLICT DO NOTHING;
