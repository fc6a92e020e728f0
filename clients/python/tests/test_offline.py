"""Client behaviour that needs no Tessera server: token files, transport errors, error mapping."""

import http.server
import json
import os
import socket
import stat
import tempfile
import threading
import time
import unittest

import harness  # noqa: F401  (puts clients/python on sys.path)
from harness import free_port

from tessera_client import (
    AuthenticationError,
    RateLimitedError,
    ServerError,
    TesseraClient,
    TesseraError,
    TokenFileError,
    TransportError,
    UidTokenFile,
)
from tessera_client.errors import redact

TOKEN = "u-" + "A" * 43 + "xyz1"
NEW = "u-" + "B" * 43 + "new2"


class TokenFileTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tessera-py-tf-")

    def tearDown(self):
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, content, mode=0o644):
        path = os.path.join(self.dir, name)
        with open(path, "w", newline="") as f:
            f.write(content)
        os.chmod(path, mode)
        return path

    def test_raw_token_with_comments_and_blank_lines(self):
        path = self.write("t", "# the service token\n\n%s\n" % TOKEN)
        self.assertEqual(UidTokenFile(path).read(), TOKEN)
        self.assertEqual(UidTokenFile(path).form(), "raw")

    def test_key_value_forms(self):
        for line in (
            "UID_TOKEN=%s" % TOKEN,
            "export UID_TOKEN=%s" % TOKEN,
            'UID_TOKEN="%s"' % TOKEN,
            "  export UID_TOKEN = '%s'  # rotated by cron" % TOKEN,
        ):
            path = self.write("kv", "ACCESS_ID=p-abc\n%s\nOTHER=1\n" % line)
            self.assertEqual(UidTokenFile(path).read(), TOKEN, line)
            self.assertEqual(UidTokenFile(path).form(), "key-value")

    def test_save_keeps_the_key_value_form_and_other_lines(self):
        content = "# demo tokens\r\nACCESS_ID=p-abc\r\nexport UID_TOKEN=\"%s\" # comment\r\nOTHER=1\r\n" % TOKEN
        path = self.write("kv", content, 0o644)
        UidTokenFile(path).save(NEW)
        with open(path, newline="") as f:
            saved = f.read()
        self.assertEqual(saved, content.replace(TOKEN, NEW))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual([n for n in os.listdir(self.dir) if n.endswith(".tmp")], [])

    def test_save_raw_and_missing_file(self):
        path = self.write("raw", TOKEN + "\n")
        UidTokenFile(path).save(NEW)
        with open(path) as f:
            self.assertEqual(f.read(), NEW + "\n")
        missing = os.path.join(self.dir, "new-file")
        UidTokenFile(missing).save(TOKEN)
        self.assertEqual(UidTokenFile(missing).read(), TOKEN)
        self.assertEqual(stat.S_IMODE(os.stat(missing).st_mode), 0o600)

    def test_save_through_a_symlink_keeps_the_link(self):
        target = self.write("target", TOKEN + "\n")
        link = os.path.join(self.dir, "link")
        os.symlink(target, link)
        UidTokenFile(link).save(NEW)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(UidTokenFile(target).read(), NEW)

    def test_bad_files_give_clear_errors_without_their_content(self):
        cases = {
            "two-tokens": "%s\n%s\n" % (TOKEN, NEW),
            "no-uid-key": "ACCESS_ID=p-abc\nOTHER=%s\n" % TOKEN,
            "empty-key": "UID_TOKEN=\n",
            "empty": "",
            "spaces": "%s trailing-%s\n" % (TOKEN, NEW),
        }
        for name, content in cases.items():
            path = self.write(name, content)
            with self.assertRaises(TokenFileError, msg=name) as cm:
                UidTokenFile(path).read()
            text = str(cm.exception) + repr(cm.exception)
            self.assertIn(path, text)
            self.assertNotIn(TOKEN, text)
            self.assertNotIn(NEW, text)
        with self.assertRaises(TokenFileError) as cm:
            UidTokenFile(os.path.join(self.dir, "nope")).read()
        self.assertEqual(cm.exception.code, "TESSERA_TOKEN_FILE_UNREADABLE")
        self.assertIn("does not exist", str(cm.exception))

    def test_save_refuses_to_clobber_a_file_that_is_not_a_token_file(self):
        path = self.write("config", "a=1\nb=2\n")
        with self.assertRaises(TokenFileError):
            UidTokenFile(path).save(NEW)
        with open(path) as f:
            self.assertEqual(f.read(), "a=1\nb=2\n")

    def test_save_refuses_a_malformed_token(self):
        path = self.write("raw", TOKEN + "\n")
        with self.assertRaises(TokenFileError):
            UidTokenFile(path).save("u-abc\nEVIL=1")
        self.assertEqual(UidTokenFile(path).read(), TOKEN)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers every request from ``server.script``: (status, headers, body)."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.hits.append((self.command, self.path))
        status, headers, body = self.server.script(self)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


class FakeServer(object):
    def __init__(self, script):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.script = script
        self.httpd.hits = []
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def hits(self):
        return self.httpd.hits

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _json(status, payload, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return lambda _req: (status, h, json.dumps(payload).encode())


class TransportAndMappingTests(unittest.TestCase):
    def test_unreachable_server_is_a_transport_error(self):
        client = TesseraClient("http://127.0.0.1:%d" % free_port(), uid_token=TOKEN, timeout=2, retries=1)
        with self.assertRaises(TransportError) as cm:
            client.session_token()
        e = cm.exception
        self.assertEqual(e.code, "TESSERA_CONNECTION_REFUSED")
        self.assertIsNone(e.status)
        self.assertNotIn(TOKEN, str(e) + repr(e))
        with self.assertRaises(TransportError):
            client.get_secret("/demo/x")

    def test_timeouts_apply_to_every_request(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts connections (kernel backlog) but never answers
        try:
            url = "http://127.0.0.1:%d" % listener.getsockname()[1]
            client = TesseraClient(url, uid_token=TOKEN, timeout=0.3, retries=0)
            started = time.monotonic()
            with self.assertRaises(TransportError) as cm:
                client.session_token()
            self.assertEqual(cm.exception.code, "TESSERA_TIMEOUT")
            self.assertLess(time.monotonic() - started, 5)
        finally:
            listener.close()

    def test_reads_are_retried_but_writes_are_not(self):
        client = TesseraClient("http://127.0.0.1:%d" % free_port(), uid_token=TOKEN, timeout=1, retries=2)
        calls = []
        original = client._request_once

        def counting(method, path, route, body, auth):
            calls.append(route)
            return original(method, path, route, body, auth)

        client._request_once = counting
        with self.assertRaises(TransportError):
            client.list_children()  # GET: retried
        self.assertEqual(calls, ["/v1/uid/tree"] * 3)
        del calls[:]
        with self.assertRaises(TransportError):
            client.rotate_uid_token()  # a write: once
        self.assertEqual(calls, ["/v1/uid/rotate"])

    def test_error_mapping_and_redaction(self):
        jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        scripts = [
            (_json(401, {"error": {"code": "TESSERA_AUTH_FAILED", "message": "bad %s" % TOKEN, "requestId": "req-1"}}), AuthenticationError, "TESSERA_AUTH_FAILED"),
            (_json(429, {"error": {"code": "TESSERA_RATE_LIMITED", "message": "slow down", "requestId": "req-2"}}, {"Retry-After": "7"}), RateLimitedError, "TESSERA_RATE_LIMITED"),
            (_json(503, {"error": {"code": "TESSERA_UNAVAILABLE", "message": "store down %s" % jwt, "requestId": "req-3"}}), ServerError, "TESSERA_UNAVAILABLE"),
            (lambda _r: (502, {"Content-Type": "text/html"}, ("<h1>proxy %s</h1>" % TOKEN).encode()), ServerError, "TESSERA_HTTP_502"),
        ]
        for script, cls, code in scripts:
            fake = FakeServer(script)
            try:
                client = TesseraClient(fake.url, uid_token=TOKEN, timeout=2)
                with self.assertRaises(cls) as cm:
                    client.session_token()
                e = cm.exception
                self.assertEqual(e.code, code)
                self.assertIsInstance(e, TesseraError)
                text = str(e) + repr(e) + e.message
                self.assertNotIn(TOKEN, text)
                self.assertNotIn(jwt, text)
                self.assertNotIn("proxy", text)
                if cls is RateLimitedError:
                    self.assertEqual(e.retry_after, 7.0)
                    self.assertEqual(e.request_id, "req-2")
            finally:
                fake.close()

    def test_redirects_are_not_followed(self):
        target = FakeServer(_json(200, {"token": "x", "expiresIn": 60}))
        fake = FakeServer(lambda _r: (307, {"Location": target.url + "/v1/auth"}, b""))
        try:
            client = TesseraClient(fake.url, uid_token=TOKEN, timeout=2)
            with self.assertRaises(TesseraError) as cm:
                client.session_token()
            self.assertEqual(cm.exception.status, 307)
            self.assertEqual(target.hits, [])
        finally:
            fake.close()
            target.close()

    def test_non_json_success_is_a_transport_error(self):
        fake = FakeServer(lambda _r: (200, {"Content-Type": "text/plain"}, b"hello"))
        try:
            with self.assertRaises(TransportError) as cm:
                TesseraClient(fake.url, uid_token=TOKEN, timeout=2).session_token()
            self.assertEqual(cm.exception.code, "TESSERA_BAD_RESPONSE")
        finally:
            fake.close()

    def test_constructor_checks_and_repr_hides_the_token(self):
        with self.assertRaises(ValueError):
            TesseraClient("http://127.0.0.1:1")
        with self.assertRaises(ValueError):
            TesseraClient("http://127.0.0.1:1", uid_token=TOKEN, token_file="/x")
        with self.assertRaises(ValueError):
            TesseraClient("ftp://x", uid_token=TOKEN)
        self.assertNotIn(TOKEN, repr(TesseraClient("http://127.0.0.1:1", uid_token=TOKEN)))

    def test_redact(self):
        self.assertEqual(redact("token %s here" % TOKEN), "token [redacted] here")
        self.assertEqual(redact("secret name /demo/database-config"), "secret name /demo/database-config")


if __name__ == "__main__":
    unittest.main()


class DpopKeyTests(unittest.TestCase):
    """The pure-Python Ed25519 behind DPoP proofs, against RFC 8032 and the JWS/DPoP shapes."""

    def test_rfc8032_test_vectors(self):
        from tessera_client import DpopKey

        # RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte).
        one = DpopKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        self.assertEqual(one.jwk["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        self.assertEqual(
            one.sign(b"").hex(),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        )
        two = DpopKey(bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"))
        self.assertEqual(
            two.sign(bytes([0x72])).hex(),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        )

    def test_proof_shape(self):
        import base64

        from tessera_client import DpopKey

        key = DpopKey()
        proof = key.proof("get", "https://tessera.example/v1/secrets/value?name=x#f", access_token="tok", nonce="n1")
        header_b64, claims_b64, sig_b64 = proof.split(".")
        decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        header, claims = decode(header_b64), decode(claims_b64)
        self.assertEqual(header["typ"], "dpop+jwt")
        self.assertEqual(header["alg"], "EdDSA")
        self.assertEqual(set(header["jwk"]), {"kty", "crv", "x"})  # public members only
        self.assertEqual(claims["htm"], "GET")
        self.assertEqual(claims["htu"], "https://tessera.example/v1/secrets/value")
        self.assertEqual(claims["nonce"], "n1")
        self.assertEqual(claims["ath"], "GnZ0607njffhrEOak8P6jjyUV4TU3sn9jjARc4svHWI")  # SHA-256 of "tok"
        self.assertEqual(len(base64.urlsafe_b64decode(sig_b64 + "==")), 64)
        self.assertNotEqual(key.proof("GET", "https://a/"), key.proof("GET", "https://a/"))  # fresh jti
        self.assertNotIn("d", header["jwk"])
        with self.assertRaises(TypeError):
            import pickle

            pickle.dumps(key)
