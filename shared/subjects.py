"""Every stream, subject, consumer and bucket name: the only place they are spelled.

All names derive from ``PIPELINE_NAMESPACE`` so two stacks (or two test runs) can share one NATS
server without seeing each other. One stream per namespace holds every subject under ``<ns>.>``:
work subjects, telemetry and dead letters, so the monitor can follow all of them with one consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

FILES_COLLECTED = "files.collected"
FILES_REJECTED = "files.rejected"
COMMAND_PROCESS_FILE = "commands.process_file"
COMMAND_IMPORT_FILE = "commands.import_file"
RECORDS_PROCESSED = "records.processed"
RECORDS_IMPORTED = "records.imported"
IMPORT_PROGRESS = "telemetry.import_progress"
PROVIDER_USAGE = "telemetry.provider_usage"
SCRAPE_COMPLETED = "runs.scrape_completed"
ALERT_RAISED = "alerts.raised"
DLQ_PREFIX = "dlq"


@dataclass(frozen=True)
class Names:
    """Concrete NATS names for one namespace."""

    namespace: str

    @property
    def stream(self) -> str:
        """Return the JetStream stream that holds every subject of the namespace."""
        return self.namespace.upper().replace("-", "_") + "_EVENTS"

    @property
    def all_subjects(self) -> str:
        """Return the wildcard subject that the stream captures."""
        return f"{self.namespace}.>"

    def subject(self, name: str) -> str:
        """Return the namespaced subject for a bare name such as ``files.collected``."""
        return f"{self.namespace}.{name}"

    def dlq(self, subject: str) -> str:
        """Return the dead-letter subject for a namespaced subject."""
        bare = subject.removeprefix(self.namespace + ".")
        return f"{self.namespace}.{DLQ_PREFIX}.{bare}"

    def bare(self, subject: str) -> str:
        """Return a namespaced subject without its namespace prefix."""
        return subject.removeprefix(self.namespace + ".")

    def durable(self, service: str, name: str) -> str:
        """Return the durable consumer name of a service on a bare subject (or ``all``)."""
        safe = name.replace(">", "all").replace("*", "any").replace(".", "-").replace("_", "-")
        return f"{self.namespace}-{service}-{safe}"

    def rpc(self, name: str) -> str:
        """Return a request/reply subject (``scrape``, ``process_date``, ...).

        Request/reply subjects lie outside ``<ns>.>`` on purpose: a request on a subject that the
        stream captures would be answered by JetStream's publish ack instead of the service.
        """
        return f"rpc.{self.namespace}.{name}"

    def heartbeat(self, service: str) -> str:
        """Return the core-NATS (not stored) subject on which a service announces it is alive."""
        return f"hb.{self.namespace}.{service}"

    @property
    def heartbeats(self) -> str:
        """Return the wildcard over every service's heartbeat subject."""
        return f"hb.{self.namespace}.*"

    @property
    def files_bucket(self) -> str:
        """Return the key-value bucket that maps file content hashes to their raw paths."""
        return f"{self.namespace.replace('-', '_')}_files"

    @property
    def schedule_bucket(self) -> str:
        """Return the key-value bucket of the schedule's ``last.<job>`` marks (kept for ever)."""
        return f"{self.namespace.replace('-', '_')}_schedule"

    @property
    def schedule_claims_bucket(self) -> str:
        """Return the key-value bucket of the schedule's slot claims (each expires after a TTL)."""
        return f"{self.namespace.replace('-', '_')}_schedule_claims"
