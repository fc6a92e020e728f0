"""Typed exceptions of the Tessera client.

Every exception carries ``code`` (the server's stable ``TESSERA_…`` code, or a client-side code),
``status`` (the HTTP status, ``None`` when no response was received) and ``request_id`` (the
server's request id, for support and for finding the audit record).

Messages, ``str()`` and ``repr()`` never contain a token or a secret value: messages coming from the
server are passed through :func:`redact` as a second line of defence.
"""

import re
from typing import Optional

__all__ = [
    "TesseraError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "TokenFileError",
    "TokenPersistError",
    "redact",
    "error_for_status",
]

# Shapes of credentials that must never be shown: UID tokens, session tokens (JWT, optionally with the
# Akeyless-style `t-` prefix), access keys. Generous on purpose.
_SECRET_SHAPES = re.compile(
    r"(?:\bu-[A-Za-z0-9._~+/=-]{8,})"
    r"|(?:\bt-[A-Za-z0-9._~+/=-]{12,})"
    r"|(?:\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*)"
    r"|(?:\b[A-Za-z0-9_-]{40,})"
)


def redact(text: str) -> str:
    """Replaces anything shaped like a token or key in ``text`` with ``[redacted]``."""
    return _SECRET_SHAPES.sub("[redacted]", text)


class TesseraError(Exception):
    """Base class of every error raised by the client."""

    default_code = "TESSERA_ERROR"

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        status: Optional[int] = None,
        request_id: Optional[str] = None,
    ) -> None:
        message = redact(str(message))
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message, "(" + self.code]
        if self.status is not None:
            parts[-1] += ", HTTP %d" % self.status
        if self.request_id:
            parts[-1] += ", request " + self.request_id
        parts[-1] += ")"
        return " ".join(parts)

    def __repr__(self) -> str:
        return "%s(code=%r, status=%r, request_id=%r, message=%r)" % (
            type(self).__name__,
            self.code,
            self.status,
            self.request_id,
            self.message,
        )

    def __reduce__(self):  # picklable with its attributes
        return (type(self), (self.message, self.code, self.status, self.request_id))


class BadRequestError(TesseraError):
    """400/413/415: the request was malformed or too large (e.g. ``TESSERA_VALIDATION_FAILED``)."""

    default_code = "TESSERA_VALIDATION_FAILED"


class AuthenticationError(TesseraError):
    """401: the credential was refused (bad, expired or revoked UID token; session token refused)."""

    default_code = "TESSERA_AUTH_FAILED"


class PermissionDeniedError(TesseraError):
    """403: authenticated, but not allowed (no role grants it; rotation or inheritance denied)."""

    default_code = "TESSERA_FORBIDDEN"


class NotFoundError(TesseraError):
    """404: no such secret, token or route (or not visible to the caller)."""

    default_code = "TESSERA_NOT_FOUND"


class ConflictError(TesseraError):
    """409: the state changed underneath (e.g. ``TESSERA_ROTATION_CONFLICT``)."""

    default_code = "TESSERA_CONFLICT"


class RateLimitedError(TesseraError):
    """429: too many requests (or too many failed authentications). ``retry_after`` in seconds, if sent."""

    default_code = "TESSERA_RATE_LIMITED"

    def __init__(self, message, code=None, status=None, request_id=None, retry_after=None):
        super().__init__(message, code, status, request_id)
        self.retry_after = retry_after

    def __reduce__(self):
        return (type(self), (self.message, self.code, self.status, self.request_id, self.retry_after))


class ServerError(TesseraError):
    """5xx: the server failed or is unavailable (Tessera fails closed when its store or audit cannot commit)."""

    default_code = "TESSERA_UNAVAILABLE"


class TransportError(TesseraError):
    """No usable HTTP response: connection refused or reset, DNS, TLS, timeout, malformed response."""

    default_code = "TESSERA_TRANSPORT"


class TokenFileError(TesseraError):
    """The UID token file cannot be read, holds no token, or cannot be written."""

    default_code = "TESSERA_TOKEN_FILE_INVALID"


class TokenPersistError(TokenFileError):
    """A rotation succeeded on the server but the new token could not be saved to the token file."""

    default_code = "TESSERA_TOKEN_PERSIST_FAILED"


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    415: BadRequestError,
    429: RateLimitedError,
}


def error_for_status(status: int) -> type:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, TesseraError)
