"""The importer's consumers: ``records.processed``, the ``ImportFile`` command, dead letters.

Handlers are transport-free: they take the typed message and their dependencies and return only
after the durable effect (rows committed, file written, event acknowledged), so the bus acks the
message only then. Running one twice for the same message changes nothing.
"""

from __future__ import annotations

import asyncio

import structlog

from services.importer import failures
from services.importer.batches import (
    Deps,
    ImportRequest,
    Publisher,
    import_batch,
    import_errors_path,
    write_import_errors,
)
from services.importer.files import request_for_file
from shared.bus import Envelope
from shared.events import AlertRaised, BatchProcessed, ImportFile, derived_id

log = structlog.get_logger(__name__)

SERVICE = "importer"
DEAD_LETTER_ALERT = "import_dead_lettered"

__all__ = [
    "Deps",
    "Publisher",
    "handle_batch_processed",
    "handle_dead_letter",
    "handle_import_file",
    "import_errors_path",
    "write_import_errors",
]


async def handle_batch_processed(event: BatchProcessed, deps: Deps) -> None:
    """Import one processed batch into its table and publish ``BatchImported``.

    Raises:
        BadInputError: ``processed_path`` leaves ``DATA_DIR/processed``.
        PermanentError: the processed file does not exist or cannot be read.
    """
    structlog.contextvars.bind_contextvars(
        batch_id=event.batch_id, record_type=event.record_type.value
    )
    request = ImportRequest(
        processed_path=event.processed_path,
        record_type=event.record_type,
        batch_id=event.batch_id,
        source=event.source,
        trigger_id=str(event.event_id),
        rows_expected=event.records_valid or None,
        raw_path=event.raw_path,
    )
    await import_batch(request, deps)


async def handle_import_file(command: ImportFile, deps: Deps) -> None:
    """Load a file already under ``processed/`` with the same loader (import a day, re-drive).

    Raises:
        BadInputError: the path leaves ``processed/`` or its record type cannot be told.
        PermanentError: the file does not exist or cannot be read.
    """
    request = await asyncio.to_thread(
        request_for_file, deps.data_dir, command.path, str(command.event_id), command.record_type
    )
    structlog.contextvars.bind_contextvars(
        batch_id=request.batch_id, record_type=request.record_type.value
    )
    await import_batch(request, deps)


async def handle_dead_letter(envelope: Envelope, deps: Deps) -> None:
    """Keep a dead-lettered batch in ``failed/DATE/retry_queue`` and raise an alert.

    The entry holds the original payload, the bus's reason (``Pipeline-Error``) and when; writing
    it again for a redelivered dead letter replaces it, and the alert's id is derived from it.
    """
    payload = envelope.data
    reason = envelope.headers.get("Pipeline-Error", "unknown reason")
    path = failures.queue_path(deps.data_dir, payload)
    await asyncio.to_thread(failures.write_entry, path, payload, reason, subject=envelope.subject)
    relative = deps.data_dir.relative(path)
    batch_id = failures.queue_name(payload)
    alert = AlertRaised(
        event_id=derived_id(DEAD_LETTER_ALERT, relative, reason),
        service=SERVICE,
        kind=DEAD_LETTER_ALERT,
        severity="warning",
        message=f"batch {batch_id} could not be imported and waits in {relative}: {reason}",
        details={
            "batch_id": batch_id,
            "retry_file": relative,
            "processed_path": str(payload.get("processed_path") or "") or None,
            "reason": reason[:500],
        },
    )
    await deps.bus.publish(alert)
    log.warning("import.dead_letter_queued", batch_id=batch_id, retry_file=relative, reason=reason)
