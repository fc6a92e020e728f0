"""The Tessera HTTP client for machines holding a Universal Identity (``u-``) token.

The UID token is the machine's long-lived identity; the client exchanges it for a short-lived
session token (``POST /v1/auth``) and caches that until shortly before it expires. Secrets are read
with the session token; the holder's own UID operations (rotate, create child, list the tree,
revoke) are made with the UID token itself, as the API requires.
"""

import base64
import json
import logging
import random
import socket
import ssl
import threading
import time
import http.client
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Optional

from .errors import (
    AuthenticationError,
    TesseraError,
    TokenFileError,
    TokenPersistError,
    TransportError,
    error_for_status,
    redact,
)
from .dpop import DpopKey
from .token_file import DEFAULT_TOKEN_KEY, UidTokenFile

__all__ = ["TesseraClient", "ClientCredentials", "DEFAULT_URL", "DEFAULT_TIMEOUT"]

__version__ = "0.1.0"

DEFAULT_URL = "http://127.0.0.1:8377"
DEFAULT_TIMEOUT = 10.0

log = logging.getLogger("tessera_client")
log.addHandler(logging.NullHandler())

# 401 codes that mean "this session token is no longer good": drop it, exchange again, retry once.
_SESSION_REJECTED = frozenset(
    ["TESSERA_TOKEN_EXPIRED", "TESSERA_TOKEN_INVALID", "TESSERA_TOKEN_REVOKED", "TESSERA_UNAUTHENTICATED"]
)
# A cached session this close to expiry is not worth returning when renewal fails transiently.
_MIN_USEFUL_LIFE = 5.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The API never redirects; following one could send a bearer token to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class ClientCredentials(object):
    """OAuth 2 client credentials (``client_secret_basic``) for a service registered with
    ``tessera oauth-client create``, optionally with DPoP (RFC 9449): with ``dpop``, every token the
    server issues is bound to that key and useless to anyone who steals it.

    :param client_id: the client's id
    :param client_secret: its secret (kept in memory, never logged or shown by ``repr``)
    :param scope: space-separated scopes to ask for, or None for the registered ones
    :param resource: an RFC 8707 resource indicator (the token's audience), or None
    :param dpop: a :class:`DpopKey` to bind tokens to, or None for bearer tokens
    :param token_endpoint: the token endpoint, if not the server's ``/oauth/token``
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scope: Optional[str] = None,
        resource: Optional[str] = None,
        dpop: Optional[DpopKey] = None,
        token_endpoint: Optional[str] = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.resource = resource
        self.dpop = dpop
        self.token_endpoint = token_endpoint

    def __repr__(self) -> str:
        return "ClientCredentials(client_id=%r, dpop=%r)" % (self.client_id, self.dpop)

    def _basic(self) -> str:
        # RFC 6749 §2.3.1: form-encode each part before joining them.
        pair = "%s:%s" % (urllib.parse.quote(self.client_id, safe=""), urllib.parse.quote(self._secret, safe=""))
        return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


class TesseraClient(object):
    """Client for a Tessera server, authenticating with a UID token (or OAuth client credentials).

    :param url: the server's base URL, e.g. ``http://127.0.0.1:8377``
    :param token_file: path of the UID token file (raw ``u-…`` or ``UID_TOKEN=u-…``); re-read before
        each use of the token, so a token rotated by ``tessera agent`` or cron is picked up
    :param uid_token: the UID token itself, instead of a file (kept in memory only)
    :param timeout: seconds, for every request (connect and each read)
    :param access_id: optional auth method access id (``p-…``) sent with the exchange
    :param retries: extra attempts for idempotent reads after a transport error (bounded, small)
    :param ssl_context: for ``https`` URLs with a private CA
    :param token_key: the key of key=value token files (default ``UID_TOKEN``)
    :param oauth: :class:`ClientCredentials` instead of a UID token: sessions are OAuth access
        tokens from the token endpoint, DPoP-bound when the credentials carry a key (the UID token
        operations are then unavailable)
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token_file: Optional[str] = None,
        uid_token: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        access_id: Optional[str] = None,
        retries: int = 2,
        ssl_context: Optional[ssl.SSLContext] = None,
        token_key: str = DEFAULT_TOKEN_KEY,
        oauth: Optional[ClientCredentials] = None,
    ) -> None:
        if [token_file, uid_token, oauth].count(None) != 2:
            raise ValueError("give exactly one of token_file, uid_token and oauth")
        if uid_token is not None and (not isinstance(uid_token, str) or not uid_token.strip()):
            raise ValueError("uid_token is empty")
        if not timeout or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("url must be an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self.access_id = access_id
        self.retries = max(0, min(int(retries), 5))
        self.token_file = UidTokenFile(token_file, key=token_key) if token_file is not None else None
        self._uid_token = uid_token.strip() if uid_token is not None else None
        self.oauth = oauth
        self._token_type = "Bearer"
        # A rotated token that could not be saved to the file: used by this process until it can be.
        self._unsaved_uid_token = None  # type: Optional[str]
        self._session = None  # type: Optional[str]
        self._session_expires = 0.0  # monotonic
        self._session_renew_at = 0.0  # monotonic
        self._lock = threading.RLock()
        self.last_rotation = None  # type: Optional[Dict[str, Any]]
        handlers = [_NoRedirect()]  # type: List[urllib.request.BaseHandler]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)
        self._now = time.monotonic  # tests may replace it

    def __repr__(self) -> str:
        if self.oauth is not None:
            source = "oauth=%r" % self.oauth
        else:
            source = "token_file=%r" % self.token_file.path if self.token_file else "uid_token=<hidden>"
        return "TesseraClient(%r, %s)" % (self.url, source)

    # ------------------------------------------------------------------ UID token

    def uid_token(self) -> str:
        """The current UID token (from the file, re-read each time, or from memory)."""
        with self._lock:
            if self._unsaved_uid_token is not None:
                return self._unsaved_uid_token
            if self.token_file is not None:
                return self.token_file.read()
            if self._uid_token is None:
                raise ValueError("this client authenticates with OAuth client credentials, not a UID token")
            return self._uid_token

    # ------------------------------------------------------------------ sessions

    def session_token(self) -> str:
        """A valid session token (JWT), exchanged from the UID token and cached until shortly before expiry.

        If renewal fails for a transient reason while the cached token is still valid, the cached
        token is returned.
        """
        with self._lock:
            now = self._now()
            if self._session is not None and now < self._session_renew_at:
                return self._session
            try:
                return self._exchange()
            except (TransportError, TesseraError) as e:
                transient = isinstance(e, TransportError) or (e.status or 0) >= 500 or e.status == 429
                if transient and self._session is not None and self._session_expires - self._now() > _MIN_USEFUL_LIFE:
                    log.warning("session renewal failed (%s); using the cached session until it expires", e.code)
                    return self._session
                raise

    def invalidate_session(self) -> None:
        """Forgets the cached session token; the next call exchanges the UID token again."""
        with self._lock:
            self._session = None
            self._session_expires = self._session_renew_at = 0.0

    def _exchange(self) -> str:
        started = self._now()
        if self.oauth is not None:
            answer = self._client_credentials_grant(self.oauth)
            token = answer.get("access_token")
            token_type = answer.get("token_type")
            life_field = "expires_in"
            where = "the token endpoint"
        else:
            body = {"accessType": "universal_identity", "uidToken": self.uid_token()}
            if self.access_id:
                body["accessId"] = self.access_id
            answer = self._request("POST", "/v1/auth", body=body, auth=None, retryable=False)
            token = answer.get("token") if isinstance(answer, dict) else None
            token_type, life_field, where = "Bearer", "expiresIn", "POST /v1/auth"
        if not isinstance(token, str) or not token:
            raise TransportError("the answer of %s has no token" % where, code="TESSERA_BAD_RESPONSE")
        if not isinstance(token_type, str) or token_type.lower() not in ("bearer", "dpop"):
            raise TransportError("the answer of %s has no usable token_type" % where, code="TESSERA_BAD_RESPONSE")
        if token_type.lower() == "dpop" and (self.oauth is None or self.oauth.dpop is None):
            raise TransportError("the server issued a DPoP-bound token to a client without a key", code="TESSERA_BAD_RESPONSE")
        try:
            life = float(answer.get(life_field) or 0)
        except (TypeError, ValueError):
            life = 0.0
        if life <= 0:
            life = 60.0
        margin = min(60.0, life * 0.1)
        self._session = token
        self._token_type = "DPoP" if token_type.lower() == "dpop" else "Bearer"
        self._session_expires = started + life
        self._session_renew_at = started + life - margin
        log.info("session token obtained (expires in %.0f s)", life)
        return token

    # ------------------------------------------------------------------ secrets

    def get_secret(self, name: str, version: Optional[int] = None) -> str:
        """The value of secret ``name`` (the latest version unless ``version``). ``GET /v1/secrets/value``."""
        query = {"name": name}
        if version is not None:
            query["version"] = str(int(version))
        answer = self._with_session("GET", "/v1/secrets/value?" + urllib.parse.urlencode(query), retryable=True)
        return _field(answer, "value", "GET /v1/secrets/value")

    def get_secrets(self, names: Iterable[str]) -> Dict[str, str]:
        """Values of several secrets at once, ``{name: value}`` in the order asked (all or nothing).

        ``POST /v1/secrets/values``; a missing or forbidden name fails the whole call.
        """
        names = list(names)
        if not names:
            return {}
        answer = self._with_session("POST", "/v1/secrets/values", body={"names": names}, retryable=True)
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise TransportError("unexpected answer to POST /v1/secrets/values", code="TESSERA_BAD_RESPONSE")
        out = {}  # type: Dict[str, str]
        for item in items:
            out[_field(item, "name", "POST /v1/secrets/values")] = _field(item, "value", "POST /v1/secrets/values")
        return out

    # ------------------------------------------------------------------ UID operations (holder)

    def rotate_uid_token(self, manual_ack: bool = False) -> str:
        """Rotates the UID token (``POST /v1/uid/rotate`` with the current token) and returns the new one.

        The new token is written to the token file first (atomic, mode 0600, same form), then
        acknowledged with the old token (``manual_ack``) and then used for a session exchange, which
        completes the rotation. If the file cannot be written, :class:`TokenPersistError` is raised:
        with ``manual_ack`` nothing is acknowledged and the old token stays current; without it, this
        client keeps the new token in memory (the old one can only retry the rotation).
        """
        with self._lock:
            old = self.uid_token()
            answer = self._request("POST", "/v1/uid/rotate", body={"manualAck": bool(manual_ack)}, auth=old)
            new = _field(answer, "token", "POST /v1/uid/rotate")
            info = {k: answer.get(k) for k in ("tokenId", "authMethodId", "expiresAt", "ttlSeconds", "pendingAck")}
            if self.token_file is not None:
                try:
                    self.token_file.save(new)
                except TokenFileError as e:
                    if not manual_ack:
                        self._unsaved_uid_token = new
                    raise TokenPersistError(
                        "the UID token was rotated but the new token could not be saved (%s): %s"
                        % (
                            e.message,
                            "it was not acknowledged and the old token stays current"
                            if manual_ack
                            else "this client keeps it in memory only",
                        ),
                        code=TokenPersistError.default_code,
                    ) from None
                self._unsaved_uid_token = None
            else:
                self._uid_token = new
            log.info("UID token rotated (token id %s)%s", info.get("tokenId"), " and saved" if self.token_file else "")
            if manual_ack:
                self._request("POST", "/v1/uid/rotate/ack", body={"newToken": new}, auth=old)
                info["acknowledged"] = True
            self.last_rotation = info
            self.invalidate_session()
            try:
                self.session_token()  # the first use of the new token completes the rotation
            except TransportError as e:
                log.warning("rotation saved; the first use of the new token failed (%s) and will be retried", e.code)
            return new

    def create_child_token(
        self,
        ttl_minutes: Optional[float],
        deny_rotate: bool = False,
        deny_inheritance: bool = False,
        comment: Optional[str] = None,
    ) -> str:
        """Creates a child of this client's UID node (``POST /v1/uid/children``) and returns its token.

        ``ttl_minutes`` is bounded by the method's child TTL limit (``None``: the method's default).
        """
        body = {"denyRotate": bool(deny_rotate), "denyInheritance": bool(deny_inheritance)}  # type: Dict[str, Any]
        if ttl_minutes is not None:
            seconds = int(round(float(ttl_minutes) * 60))
            if seconds < 60:
                raise ValueError("ttl_minutes must be at least 1")
            body["ttlSeconds"] = seconds
        if comment is not None:
            body["comment"] = comment
        with self._lock:
            answer = self._request("POST", "/v1/uid/children", body=body, auth=self.uid_token())
        log.info("child UID token created (token id %s)", answer.get("tokenId") if isinstance(answer, dict) else "?")
        return _field(answer, "token", "POST /v1/uid/children")

    def list_children(self) -> Dict[str, Any]:
        """The holder's subtree (``GET /v1/uid/tree``): ``{authMethodId, maxDepth, numberOfTokens, roots: [UidNode]}``.

        Each node: ``id, parentId, depth, ttlSeconds, expiresAt, createdAt, lastRotatedAt, denyRotate,
        denyInheritance, revoked, revokedAt, comment, children``. Never holds a token.
        """
        with self._lock:
            answer = self._request("GET", "/v1/uid/tree", auth=self.uid_token(), retryable=True)
        if not isinstance(answer, dict):
            raise TransportError("unexpected answer to GET /v1/uid/tree", code="TESSERA_BAD_RESPONSE")
        return answer

    def revoke(
        self, token: Optional[str] = None, token_id: Optional[str] = None, revoke_type: str = "self"
    ) -> Dict[str, Any]:
        """Revokes a token in this client's subtree (``POST /v1/uid/revoke``); default: the client's own.

        ``revoke_type="self"`` revokes that node only (its children move up to its parent);
        ``"all"`` revokes it and its whole subtree. Returns ``{tokenId, type, revokedCount}``.
        """
        if revoke_type not in ("self", "all"):
            raise ValueError('revoke_type must be "self" or "all"')
        if token is not None and token_id is not None:
            raise ValueError("give at most one of token and token_id")
        body = {"type": revoke_type}  # type: Dict[str, Any]
        if token is not None:
            body["token"] = token
        if token_id is not None:
            body["tokenId"] = token_id
        with self._lock:
            own = self.uid_token()
            answer = self._request("POST", "/v1/uid/revoke", body=body, auth=own)
            if (token is None and token_id is None) or token == own:
                self.invalidate_session()
        log.info("UID token revoked (%s, token id %s)", revoke_type, answer.get("tokenId") if isinstance(answer, dict) else "?")
        return answer

    # ------------------------------------------------------------------ HTTP

    def _client_credentials_grant(self, oauth: ClientCredentials) -> Dict[str, Any]:
        """``grant_type=client_credentials`` at the token endpoint, with a DPoP proof when the
        credentials carry a key, answering one ``use_dpop_nonce`` challenge (RFC 9449 §8)."""
        endpoint = oauth.token_endpoint or self.url + "/oauth/token"
        form = {"grant_type": "client_credentials"}
        if oauth.scope:
            form["scope"] = oauth.scope
        if oauth.resource:
            form["resource"] = oauth.resource
        data = urllib.parse.urlencode(form).encode("ascii")
        nonce = None  # type: Optional[str]
        for _ in range(2):
            headers = {
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": oauth._basic(),
                "User-Agent": "tessera-python/" + __version__,
            }
            if oauth.dpop is not None:
                headers["DPoP"] = oauth.dpop.proof("POST", endpoint, nonce=nonce)
            req = urllib.request.Request(endpoint, data=data, headers=headers, method="POST")
            try:
                with self._opener.open(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                try:
                    answer = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    answer = None
                if not isinstance(answer, dict):
                    raise TransportError("the token endpoint's answer is not a JSON object", code="TESSERA_BAD_RESPONSE")
                return answer
            except urllib.error.HTTPError as e:
                raw = e.read() or b""
                challenge = e.headers.get("DPoP-Nonce") if e.headers is not None else None
                e.close()
                try:
                    payload = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    payload = None
                error = payload.get("error") if isinstance(payload, dict) else None
                if error == "use_dpop_nonce" and challenge and nonce is None and oauth.dpop is not None:
                    nonce = challenge
                    continue
                code = "OAUTH_" + error.upper() if isinstance(error, str) and error.replace("_", "").isalnum() else "TESSERA_HTTP_%d" % e.code
                # error_description is the server's text, never an echo of what was sent; still bounded.
                described = payload.get("error_description") if isinstance(payload, dict) else None
                message = redact(described) if isinstance(described, str) else "HTTP %d from the token endpoint" % e.code
                log.info("POST /oauth/token -> %d %s", e.code, code)
                raise error_for_status(e.code)(message, code=code, status=e.code) from None
            except urllib.error.URLError as e:
                raise self._transport("POST", "/oauth/token", e.reason) from None
            except (OSError, http.client.HTTPException, ValueError) as e:
                raise self._transport("POST", "/oauth/token", e) from None
        raise TransportError("the token endpoint asked for a DPoP nonce twice", code="TESSERA_BAD_RESPONSE")

    def _with_session(self, method: str, path: str, body: Any = None, retryable: bool = False) -> Any:
        """A request with the session token; re-authenticates once if the session token is refused."""
        token = self.session_token()
        try:
            return self._request(method, path, body=body, auth=token, retryable=retryable)
        except AuthenticationError as e:
            if e.code not in _SESSION_REJECTED:
                raise
            log.info("session token refused (%s); exchanging the UID token again", e.code)
            with self._lock:
                if self._session == token:
                    self.invalidate_session()
            return self._request(method, path, body=body, auth=self.session_token(), retryable=retryable)

    def _request(self, method: str, path: str, body: Any = None, auth: Optional[str] = None, retryable: bool = False) -> Any:
        attempts = 1 + (self.retries if retryable else 0)
        route = path.split("?", 1)[0]
        for attempt in range(attempts):
            try:
                return self._request_once(method, path, route, body, auth)
            except TransportError as e:
                if attempt + 1 >= attempts:
                    raise
                delay = min(2.0, 0.2 * (2 ** attempt)) * (0.5 + random.random() / 2)
                log.info("%s %s: %s; retry %d of %d in %.2f s", method, route, e.code, attempt + 1, attempts - 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _request_once(self, method: str, path: str, route: str, body: Any, auth: Optional[str]) -> Any:
        headers = {"Accept": "application/json", "User-Agent": "tessera-python/" + __version__}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if auth is not None and self._token_type == "DPoP" and self.oauth is not None and self.oauth.dpop is not None:
            # A DPoP-bound token goes with a fresh proof of its key for exactly this request.
            headers["Authorization"] = "DPoP " + auth
            headers["DPoP"] = self.oauth.dpop.proof(method, self.url + path, access_token=auth)
        elif auth is not None:
            headers["Authorization"] = "Bearer " + auth
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                status = resp.status
                raw = resp.read()
                header_request_id = resp.headers.get("x-request-id")
        except urllib.error.HTTPError as e:
            try:
                raw = e.read()
            except Exception:  # a body that cannot be read: the status still says enough
                raw = b""
            err = self._error_from(e.code, raw, e.headers)
            e.close()
            log.info("%s %s -> %d %s (request %s)", method, route, err.status, err.code, err.request_id)
            raise err from None
        except urllib.error.URLError as e:
            reason = e.reason
            raise self._transport(method, route, reason) from None
        except (socket.timeout, TimeoutError) as e:
            raise self._transport(method, route, e) from None
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise self._transport(method, route, e) from None
        log.debug("%s %s -> %d (request %s)", method, route, status, header_request_id)
        if status == 204 or not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TransportError(
                "%s %s: the server's answer is not JSON" % (method, route),
                code="TESSERA_BAD_RESPONSE",
                status=status,
                request_id=header_request_id,
            ) from None

    def _transport(self, method: str, route: str, reason: Any) -> TransportError:
        if isinstance(reason, (socket.timeout, TimeoutError)):
            what, code = "timed out after %g s" % self.timeout, "TESSERA_TIMEOUT"
        elif isinstance(reason, ConnectionRefusedError):
            what, code = "connection refused", "TESSERA_CONNECTION_REFUSED"
        elif isinstance(reason, BaseException):
            what, code = "%s: %s" % (type(reason).__name__, reason), "TESSERA_TRANSPORT"
        else:
            what, code = str(reason), "TESSERA_TRANSPORT"
        log.info("%s %s: %s", method, route, code)
        return TransportError("%s %s%s: %s" % (method, self.url, route, what), code=code)

    @staticmethod
    def _error_from(status: int, raw: bytes, headers: Any) -> TesseraError:
        code = None
        message = None
        request_id = headers.get("x-request-id") if headers is not None else None
        try:
            payload = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            code = error.get("code") if isinstance(error.get("code"), str) else None
            message = error.get("message") if isinstance(error.get("message"), str) else None
            request_id = error.get("requestId") if isinstance(error.get("requestId"), str) else request_id
        cls = error_for_status(status)
        # Never echo a non-JSON body: it could be anything (a proxy page, a reflected header).
        message = redact(message) if message else "HTTP %d from the server" % status
        code = code or ("TESSERA_HTTP_%d" % status)
        if status == 429:
            retry_after = None
            value = headers.get("retry-after") if headers is not None else None
            try:
                retry_after = float(value) if value is not None else None
            except ValueError:
                retry_after = None
            return cls(message, code=code, status=status, request_id=request_id, retry_after=retry_after)
        return cls(message, code=code, status=status, request_id=request_id)


def _field(answer: Any, key: str, what: str) -> Any:
    if not isinstance(answer, dict) or key not in answer:
        raise TransportError("unexpected answer to %s (no %s)" % (what, key), code="TESSERA_BAD_RESPONSE")
    return answer[key]
