"""Domain errors. Each carries the code and HTTP status of SPEC §2.2/§3; one place renders them (JSON or flash)."""


class DomainError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, fields=None, extra=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = dict(fields or {})
        self.extra = dict(extra or {})


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"


class RuleViolation(DomainError):
    """A booking rule of SPEC §2.2 other than validation: its own code, 422 unless said otherwise."""

    status = 422


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
