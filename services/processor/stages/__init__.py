"""The stages a raw file goes through in the processor, one module each.

``read`` streams the values of a raw file (reading side: the reader process or a thread);
``normalize`` maps each value from its source's shape and repairs it (reading side);
``check`` validates each normalized value against its model, or makes its failure line (reading
side);
``link`` links a chunk's rows against the known index (async side, the service's event loop);
``enrich`` runs a chunk's online enrichments after linking (async side);
``write`` serializes a row's line around its link fields (reading side) and writes a chunk's
lines to the file's outputs, made visible together (async side, in a worker thread).
"""
