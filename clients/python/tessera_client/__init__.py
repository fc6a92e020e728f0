"""Tessera client for Python: Universal Identity (``u-``) tokens, session tokens, secrets.

Standard library only, Python 3.9 or later::

    from tessera_client import TesseraClient

    client = TesseraClient("http://127.0.0.1:8377", token_file="./tokens/application-service-token")
    config = client.get_secret("/demo/database-config")
    client.rotate_uid_token()                     # the new token is in the file before it is used
    child = client.create_child_token(ttl_minutes=30)

A service registered as an OAuth client can instead use DPoP-bound access tokens (RFC 9449), whose
proofs this package signs itself (Ed25519)::

    from tessera_client import ClientCredentials, DpopKey, TesseraClient

    client = TesseraClient(url, oauth=ClientCredentials(client_id, client_secret, dpop=DpopKey()))

Logging goes to the ``tessera_client`` logger (a ``NullHandler`` by default) and never includes a
token or a secret value; neither do exception messages.
"""

from .client import DEFAULT_TIMEOUT, DEFAULT_URL, ClientCredentials, TesseraClient, __version__
from .dpop import DpopKey
from .errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TesseraError,
    TokenFileError,
    TokenPersistError,
    TransportError,
)
from .token_file import DEFAULT_TOKEN_KEY, UidTokenFile

__all__ = [
    "TesseraClient",
    "ClientCredentials",
    "DpopKey",
    "UidTokenFile",
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
    "DEFAULT_URL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_KEY",
    "__version__",
]
