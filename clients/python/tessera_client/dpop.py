"""DPoP proofs (RFC 9449) for sender-constrained tokens, with the standard library only.

A DPoP-bound access token is worthless without the private key it is bound to: every request carries
a fresh proof, a small JWT signed by that key, naming the request's method and URL and the token's
hash. The key here is Ed25519 (JWS ``alg: EdDSA``), implemented on Python integers (RFC 8032) so
the client keeps its no-dependency promise. Signing costs a few milliseconds; a client makes one
proof per request.

The private key never leaves the object: ``repr`` hides it and it is not serialisable.
"""

import base64
import hashlib
import json
import os
import time
import urllib.parse
import uuid
from typing import Any, Dict, Optional, Tuple

__all__ = ["DpopKey"]

# ---------------------------------------------------------------------------- Ed25519 (RFC 8032)

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

_Point = Tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z


def _add(a: _Point, b: _Point) -> _Point:
    # Unified addition on the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 (a = -1).
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * _D * t1 * t2 % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(k: int, point: _Point) -> _Point:
    result = (0, 1, 1, 0)  # the neutral element
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def _encode(point: _Point) -> bytes:
    x, y, z, _ = point
    zi = pow(z, _P - 2, _P)
    x, y = x * zi % _P, y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _base_point() -> _Point:
    y = 4 * pow(5, _P - 2, _P) % _P
    u = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(u, (_P + 3) // 8, _P)
    if (x * x - u) % _P:
        x = x * _SQRT_M1 % _P
    if x & 1:  # the base point's x is even
        x = _P - x
    return (x, y, 1, x * y % _P)


_B = _base_point()


def _sha512_int(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


class _Ed25519(object):
    __slots__ = ("_scalar", "_prefix", "public")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        h = hashlib.sha512(seed).digest()
        scalar = int.from_bytes(h[:32], "little")
        scalar &= (1 << 254) - 8
        scalar |= 1 << 254
        self._scalar = scalar
        self._prefix = h[32:]
        self.public = _encode(_multiply(scalar, _B))

    def sign(self, message: bytes) -> bytes:
        r = _sha512_int(self._prefix, message) % _L
        big_r = _encode(_multiply(r, _B))
        k = _sha512_int(big_r, self.public, message) % _L
        s = (r + k * self._scalar) % _L
        return big_r + s.to_bytes(32, "little")


# ---------------------------------------------------------------------------- DPoP


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: Dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8"))


class DpopKey(object):
    """An Ed25519 key that makes DPoP proofs.

    ``DpopKey()`` generates a new key; keep the object for as long as the tokens bound to it live.
    """

    def __init__(self, seed: Optional[bytes] = None) -> None:
        self._key = _Ed25519(os.urandom(32) if seed is None else bytes(seed))
        self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(self._key.public)}  # type: Dict[str, str]
        # RFC 7638: the required members in lexicographic order, no whitespace.
        canonical = '{"crv":"Ed25519","kty":"OKP","x":"%s"}' % self.jwk["x"]
        self.thumbprint = _b64url(hashlib.sha256(canonical.encode("ascii")).digest())

    def __repr__(self) -> str:
        return "DpopKey(jkt=%r)" % self.thumbprint

    def __reduce__(self) -> Any:
        raise TypeError("a DpopKey is not serialisable")

    def sign(self, message: bytes) -> bytes:
        """The raw Ed25519 signature of ``message`` (64 bytes)."""
        return self._key.sign(message)

    def proof(
        self,
        method: str,
        url: str,
        access_token: Optional[str] = None,
        nonce: Optional[str] = None,
        now: Optional[float] = None,
    ) -> str:
        """A DPoP proof for one request: ``htm``, ``htu`` (the URL without query and fragment),
        ``iat``, a fresh ``jti``, ``ath`` when presenting ``access_token``, and the server's
        ``nonce`` when it asked for one."""
        parts = urllib.parse.urlsplit(url)
        claims = {
            "htm": method.upper(),
            "htu": urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "iat": int(time.time() if now is None else now),
            "jti": str(uuid.uuid4()),
        }  # type: Dict[str, Any]
        if access_token is not None:
            claims["ath"] = _b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": self.jwk}
        signing_input = _segment(header) + "." + _segment(claims)
        return signing_input + "." + _b64url(self.sign(signing_input.encode("ascii")))
