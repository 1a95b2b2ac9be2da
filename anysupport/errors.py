"""Domain errors: raised by managers (which know nothing of HTTP), mapped to status codes by handlers.

Each carries the snake_case ``code`` that becomes ``{"error": code}`` and the fields its text needs.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, code: str, **fields):
        super().__init__(code)
        self.code = code
        self.fields = fields


class Invalid(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class PreconditionFailed(DomainError):
    """A conditional change (``If-Match``) made against a version that is no longer the current one."""

    status = 412


class Gone(DomainError):
    status = 410


class TooLarge(DomainError):
    status = 413


class RateLimited(DomainError):
    status = 429

    def __init__(self, code: str = "too_many_attempts", *, retry_after: int, **fields):
        super().__init__(code, retry_after=retry_after, **fields)
        self.retry_after = retry_after


class Unavailable(DomainError):
    status = 503


class DatabaseUnavailable(Unavailable):
    """The database is not answering: known to be down (being restarted), or a connection just failed.

    Raised by the store layer (which translates the driver's connection failures into it), answered
    at once as 503 ``database_unavailable``; ``reason`` is for the log, never for the caller.
    """

    def __init__(self, reason: str = ""):
        super().__init__("database_unavailable")
        self.reason = reason
