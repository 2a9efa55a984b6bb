"""The exception tree; the bus decides ack, nak or dead-letter from it.

ServiceError
├── RetryableError      transient: nak with backoff, JetStream redelivers
└── PermanentError      will never succeed: dead-letter subject, then term
    └── BadInputError   the input itself is wrong (kept with its reason)
"""


class ServiceError(Exception):
    """Base of every error the services raise on purpose."""


class RetryableError(ServiceError):
    """A transient failure: the same work may succeed later."""


class PermanentError(ServiceError):
    """A failure that no retry will fix; the message goes to the dead-letter subject."""


class BadInputError(PermanentError):
    """The input (file, payload) cannot be used; it is kept with this reason."""


class ConfigError(ServiceError):
    """Configuration or infrastructure is unusable at start-up; the service exits with a message."""


class ServerNotReadyError(ConfigError):
    """A server cannot be reached at start-up yet (refused, timed out); waiting may fix it."""
