-- Each known listing keeps its description words (services/processor/dedup/keys.py description_words),
-- sorted, in the order of word_weights: a candidate read back is scored without deriving them again
-- from its description (splitting it and testing each word as a typo of the car's name). Rows stored
-- without them (NULL) derive them as before.
ALTER TABLE processor_known_vehicles ADD COLUMN words text[];
