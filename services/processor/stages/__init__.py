"""The stages a raw file goes through in the processor, one module each, in the file's order.

A file goes through them chunk by chunk, on two sides: the reading side runs in the reader
process or a worker thread (``reader_process``), the async side in the service's event loop,
which links one chunk while the next is read (``processing``).

1. ``read``: stream the raw file's values, whatever its JSON shape (reading side).
2. ``normalize``: map each value from its source's shape to the canonical record and repair it
   (reading side, over ``sources``).
3. ``check``: validate the record against its model, or make its failure line; drop an exact
   repeat within the file (reading side).
4. ``link``: link the chunk's rows to the known index in PostgreSQL (async side, over ``dedup``;
   the matching keys are prepared on the reading side).
5. ``enrich``: grade, offline geocode and image form of each record (reading side, before
   linking), then the opt-in online geocode and image HEAD check of the chunk (async side, after
   linking), over ``enrich``.
6. ``write``: each row's line framed around its link fields (reading side), then the chunk's
   lines appended to the file's outputs, renamed into place together at the end (async side, in
   a worker thread).

``chunks`` composes the reading side's stages for one chunk, ``processing.ChunkStages`` the
async side's. Nothing is imported here: the reader process imports only the stages it runs.
"""
