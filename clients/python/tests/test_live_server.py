"""The client against a live Tessera server started by the harness (see harness.py)."""

import json
import logging
import os
import shutil
import stat
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import harness
from tessera_client import (
    AuthenticationError,
    BadRequestError,
    ClientCredentials,
    DpopKey,
    NotFoundError,
    PermissionDeniedError,
    TesseraClient,
    TesseraError,
    TokenFileError,
    TokenPersistError,
    UidTokenFile,
)

SERVER = None  # type: harness.TesseraServer
MAIN = "/python-tests/main"
SHORT = "/python-tests/short-session"
DB_CONFIG = {"host": "db.internal", "port": 5432, "user": "app", "password": "pw-Zq8-never-printed"}
API_KEY = "ak-Very-Secret-Api-Key-1234"
PRIVATE = "private-value-should-not-leak"
METHODS = {}


def setUpModule():
    global SERVER
    SERVER = harness.TesseraServer().start()
    try:
        METHODS[MAIN] = SERVER.create_uid_method(MAIN, jwtTtlSeconds=600, childTtlLimitSeconds=7200)
        METHODS[SHORT] = SERVER.create_uid_method(SHORT, jwtTtlSeconds=60)
        SERVER.create_role("python-demo-reader", [("item", "/demo/*", ["read"])], [MAIN, SHORT])
        SERVER.create_secret("/demo/database-config", json.dumps(DB_CONFIG), "json")
        SERVER.create_secret("/demo/api-key", API_KEY)
        SERVER.create_secret("/private/admin-only", PRIVATE)
    except BaseException:
        SERVER.stop()
        raise


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


class LiveTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tessera-py-live-")
        self.secrets_seen = [json.dumps(DB_CONFIG), API_KEY, PRIVATE, DB_CONFIG["password"]]
        # Capture everything the client logs, to check that no token or value is ever logged.
        self.records = []
        handler = logging.Handler(logging.DEBUG)
        handler.emit = lambda record: self.records.append(record.getMessage())
        logger = logging.getLogger("tessera_client")
        logger.addHandler(handler)
        old_level = logger.level
        logger.setLevel(logging.DEBUG)
        self.addCleanup(logger.removeHandler, handler)
        self.addCleanup(logger.setLevel, old_level)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        for message in self.records:
            self.assert_clean(message)

    def root(self, method=MAIN, **opts):
        issued = SERVER.generate_root(method, **opts)
        self.secrets_seen.append(issued["token"])
        return issued["token"], issued["tokenId"]

    def token_file(self, token, content=None, mode=0o600):
        path = os.path.join(self.dir, "application-service-token")
        with open(path, "w") as f:
            f.write(content if content is not None else token + "\n")
        os.chmod(path, mode)
        return path

    def client(self, **kw):
        kw.setdefault("timeout", 10.0)
        return TesseraClient(SERVER.url, **kw)

    def exchanges(self, node_id):
        events = SERVER.audit_events(type="auth.succeeded")
        return [e for e in events if e["actor"].get("uidNodeId") == node_id]

    def assert_clean(self, text):
        for value in self.secrets_seen:
            self.assertNotIn(value, text)

    def assert_error_clean(self, err):
        self.assertIsInstance(err, TesseraError)
        self.assert_clean(str(err))
        self.assert_clean(repr(err))
        self.assert_clean(err.message)


class SessionAndSecretsTests(LiveTestCase):
    def test_one_exchange_for_several_reads(self):
        token, node = self.root()
        client = self.client(token_file=self.token_file(token))
        self.assertEqual(json.loads(client.get_secret("/demo/database-config")), DB_CONFIG)
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)
        self.assertEqual(client.get_secret("/demo/api-key", version=1), API_KEY)
        first = client.session_token()
        self.assertEqual(client.session_token(), first)
        self.assertEqual(len(self.exchanges(node)), 1)
        self.secrets_seen.append(first)

    def test_session_renewed_near_expiry_and_when_refused(self):
        token, node = self.root(SHORT)  # session tokens live 60 s (the server's minimum)
        client = self.client(uid_token=token)
        clock = [time.monotonic()]
        client._now = lambda: clock[0]
        first = client.session_token()
        clock[0] += 50  # 10 s left: still more than the renewal margin (10% of 60 s)
        self.assertEqual(client.session_token(), first)
        self.assertEqual(len(self.exchanges(node)), 1)
        clock[0] += 5  # within 6 s of expiry: renewed
        second = client.session_token()
        self.assertNotEqual(second, first)
        self.assertEqual(len(self.exchanges(node)), 2)
        # A session the client thinks is fresh but the server refuses: the client exchanges again
        # once and the read succeeds.
        client._session = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJub3BlIn0.bm9wZQ"
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)
        self.assertEqual(len(self.exchanges(node)), 3)
        self.secrets_seen.extend([first, second])

    def test_get_secrets(self):
        token, _ = self.root()
        client = self.client(uid_token=token)
        values = client.get_secrets(["/demo/api-key", "/demo/database-config"])
        self.assertEqual(list(values), ["/demo/api-key", "/demo/database-config"])
        self.assertEqual(values["/demo/api-key"], API_KEY)
        self.assertEqual(json.loads(values["/demo/database-config"]), DB_CONFIG)
        self.assertEqual(client.get_secrets([]), {})
        with self.assertRaises(NotFoundError) as cm:
            client.get_secrets(["/demo/api-key", "/demo/missing"])
        self.assert_error_clean(cm.exception)

    def test_outside_the_role_is_permission_denied(self):
        token, _ = self.root()
        client = self.client(uid_token=token)
        for call in (lambda: client.get_secret("/private/admin-only"), lambda: client.get_secrets(["/demo/api-key", "/private/admin-only"])):
            with self.assertRaises(PermissionDeniedError) as cm:
                call()
            e = cm.exception
            self.assertEqual(e.status, 403)
            self.assertEqual(e.code, "TESSERA_FORBIDDEN")
            self.assertTrue(e.request_id and e.request_id.startswith("req-"))
            self.assert_error_clean(e)

    def test_unknown_token_is_an_authentication_error(self):
        bogus = "u-" + "Q" * 43 + "abcd"
        self.secrets_seen.append(bogus)
        with self.assertRaises(AuthenticationError) as cm:
            self.client(uid_token=bogus).get_secret("/demo/api-key")
        self.assertEqual(cm.exception.code, "TESSERA_AUTH_FAILED")
        self.assertEqual(cm.exception.status, 401)
        self.assert_error_clean(cm.exception)

    def test_bad_token_file_is_a_clear_error(self):
        path = self.token_file("", content="ACCESS_ID=p-abc\nSOMETHING_ELSE=1\n")
        with self.assertRaises(TokenFileError) as cm:
            self.client(token_file=path).get_secret("/demo/api-key")
        self.assertIn(path, str(cm.exception))
        self.assertIn("UID_TOKEN", str(cm.exception))
        with self.assertRaises(TokenFileError) as cm:
            self.client(token_file=os.path.join(self.dir, "missing")).session_token()
        self.assertEqual(cm.exception.code, "TESSERA_TOKEN_FILE_UNREADABLE")

    def test_picks_up_a_token_rotated_by_someone_else(self):
        token, _ = self.root()
        path = self.token_file(token)
        reader = self.client(token_file=path)
        self.assertEqual(reader.get_secret("/demo/api-key"), API_KEY)
        new = self.client(token_file=path).rotate_uid_token()  # e.g. the agent or cron
        self.secrets_seen.append(new)
        reader.invalidate_session()
        self.assertEqual(reader.get_secret("/demo/api-key"), API_KEY)  # re-reads the file


class OAuthDpopTests(LiveTestCase):
    """A service registered as an OAuth client, with DPoP-bound tokens whose proofs Python signs."""

    @classmethod
    def setUpClass(cls):
        name = "/python-tests/oauth-service"
        created = SERVER.call("POST", "/v1/oauth-clients", {"name": name, "dpopBoundAccessTokens": True})
        cls.client_id = created["client"]["clientId"]
        cls.client_secret = created["clientSecret"]
        SERVER.create_role("python-oauth-reader", [("item", "/demo/*", ["read"])], [name])

    def setUp(self):
        super().setUp()
        self.secrets_seen.append(self.client_secret)

    def raw_get(self, path, headers):
        req = urllib.request.Request(SERVER.url + path, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            e.close()
            return e.code

    def test_reads_with_a_dpop_bound_token_that_is_useless_when_stolen(self):
        key = DpopKey()
        client = self.client(oauth=ClientCredentials(self.client_id, self.client_secret, dpop=key))
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)  # a fresh proof each time
        token = client.session_token()
        self.secrets_seen.append(token)
        self.assertEqual(client._token_type, "DPoP")
        self.assertNotIn(self.client_secret, repr(client))
        path = "/v1/secrets/value?name=%2Fdemo%2Fapi-key"
        url = SERVER.url + path
        # The token alone, as a bearer token or without a proof, is refused.
        self.assertEqual(self.raw_get(path, {"Authorization": "Bearer " + token}), 401)
        self.assertEqual(self.raw_get(path, {"Authorization": "DPoP " + token}), 401)
        # A thief's own key does not help; the holder's proof works exactly once.
        thief = DpopKey().proof("GET", url, access_token=token)
        self.assertEqual(self.raw_get(path, {"Authorization": "DPoP " + token, "DPoP": thief}), 401)
        proof = key.proof("GET", url, access_token=token)
        self.assertEqual(self.raw_get(path, {"Authorization": "DPoP " + token, "DPoP": proof}), 200)
        self.assertEqual(self.raw_get(path, {"Authorization": "DPoP " + token, "DPoP": proof}), 401)
        # A proof for another method or URL is refused.
        other = key.proof("POST", url, access_token=token)
        self.assertEqual(self.raw_get(path, {"Authorization": "DPoP " + token, "DPoP": other}), 401)

    def test_a_client_that_must_use_dpop_gets_nothing_without_it(self):
        client = self.client(oauth=ClientCredentials(self.client_id, self.client_secret))
        with self.assertRaises(TesseraError) as caught:
            client.get_secret("/demo/api-key")
        self.assertEqual(caught.exception.status, 400)
        self.assert_error_clean(caught.exception)

    def test_a_wrong_secret_is_invalid_client_and_never_echoed(self):
        wrong = "wrong-" + self.client_secret
        self.secrets_seen.append(wrong)
        client = self.client(oauth=ClientCredentials(self.client_id, wrong, dpop=DpopKey()))
        with self.assertRaises(AuthenticationError) as caught:
            client.get_secret("/demo/api-key")
        self.assertEqual(caught.exception.code, "OAUTH_INVALID_CLIENT")
        self.assert_error_clean(caught.exception)

    def test_uid_operations_are_refused_clearly(self):
        client = self.client(oauth=ClientCredentials(self.client_id, self.client_secret, dpop=DpopKey()))
        with self.assertRaises(ValueError):
            client.rotate_uid_token()


class RotationTests(LiveTestCase):
    def test_rotation_persists_before_use_in_key_value_form(self):
        token, node = self.root()
        content = "# written by the platform engineer\nACCESS_ID=%s\nexport UID_TOKEN=\"%s\"  # rotated\nOTHER=1\n" % (
            METHODS[MAIN]["id"],
            token,
        )
        path = self.token_file(token, content=content, mode=0o644)
        client = self.client(token_file=path)
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)

        order = []
        original_request, original_save = client._request_once, client.token_file.save

        def request(method, p, route, body, auth):
            on_disk = UidTokenFile(path).read()
            order.append((route, "auth=file" if auth == on_disk else "auth=other", "file=old" if on_disk == token else "file=new"))
            return original_request(method, p, route, body, auth)

        def save(new_token):
            order.append(("save",))
            original_save(new_token)

        client._request_once = request
        client.token_file.save = save
        new = client.rotate_uid_token()
        self.secrets_seen.append(new)

        self.assertNotEqual(new, token)
        self.assertTrue(new.startswith("u-"))
        # The rotation is made with the old token, the new one is on disk before its first use.
        self.assertEqual(order[0], ("/v1/uid/rotate", "auth=file", "file=old"))
        self.assertEqual(order[1], ("save",))
        self.assertEqual(order[2][0], "/v1/auth")
        self.assertEqual(order[2][2], "file=new")
        with open(path) as f:
            self.assertEqual(f.read(), content.replace(token, new))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(client.last_rotation["tokenId"], node)
        self.assertNotIn("token", client.last_rotation)
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)

        # The old token is refused from now on ...
        with self.assertRaises(AuthenticationError) as cm:
            self.client(uid_token=token).session_token()
        self.assert_error_clean(cm.exception)
        # ... and presenting it was reuse: with the default policy the node's subtree is revoked.
        with self.assertRaises(AuthenticationError):
            client.get_secret("/demo/api-key")

    def test_manual_ack_rotation_of_a_raw_file(self):
        token, _ = self.root()
        path = self.token_file(token)
        client = self.client(token_file=path)
        new = client.rotate_uid_token(manual_ack=True)
        self.secrets_seen.append(new)
        with open(path) as f:
            self.assertEqual(f.read(), new + "\n")
        self.assertTrue(client.last_rotation["acknowledged"])
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)
        with self.assertRaises(AuthenticationError):
            self.client(uid_token=token).session_token()

    def test_in_memory_token_rotation(self):
        token, _ = self.root()
        client = self.client(uid_token=token)
        new = client.rotate_uid_token()
        self.secrets_seen.append(new)
        self.assertEqual(client.uid_token(), new)
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)

    def test_a_failed_save_is_reported_and_the_rotation_can_be_retried(self):
        token, _ = self.root()
        path = self.token_file(token)
        client = self.client(token_file=path)
        original_save = client.token_file.save

        def failing_save(_new_token):
            raise TokenFileError("cannot write token file %s (ENOSPC)" % path, code="TESSERA_TOKEN_FILE_UNWRITABLE")

        client.token_file.save = failing_save
        with self.assertRaises(TokenPersistError) as cm:
            client.rotate_uid_token(manual_ack=True)
        self.assert_error_clean(cm.exception)
        self.assertIn("not acknowledged", str(cm.exception))
        self.assertEqual(UidTokenFile(path).read(), token)  # unchanged
        # The old token may still finish the rotation (the lost-response rule); a retry within a
        # second is taken for a concurrent rotation (409 TESSERA_ROTATION_CONFLICT).
        client.token_file.save = original_save
        time.sleep(1.1)
        new = client.rotate_uid_token(manual_ack=True)
        self.secrets_seen.append(new)
        self.assertEqual(UidTokenFile(path).read(), new)
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)


class TreeTests(LiveTestCase):
    def test_child_tokens_and_list_children(self):
        token, node = self.root()
        client = self.client(uid_token=token)
        short = client.create_child_token(30, comment="worker-a")
        long_ = client.create_child_token(90, deny_inheritance=True)
        self.secrets_seen.extend([short, long_])
        self.assertTrue(short.startswith("u-"))
        # A child is a working identity of its own.
        self.assertEqual(self.client(uid_token=short).get_secret("/demo/api-key"), API_KEY)

        tree = client.list_children()
        self.assert_clean(json.dumps(tree))
        self.assertEqual(tree["authMethodId"], METHODS[MAIN]["id"])
        self.assertEqual(len(tree["roots"]), 1)
        root = tree["roots"][0]
        self.assertEqual(root["id"], node)
        children = sorted(root["children"], key=lambda c: c["ttlSeconds"])
        self.assertEqual([c["ttlSeconds"] for c in children], [1800, 5400])
        self.assertEqual(children[0]["comment"], "worker-a")
        self.assertTrue(children[1]["denyInheritance"])
        self.assertEqual({c["parentId"] for c in children}, {node})

        # The child TTL limit of the method (120 min) and deny-inheritance are enforced.
        with self.assertRaises(BadRequestError) as cm:
            client.create_child_token(240)
        self.assertEqual(cm.exception.code, "TESSERA_UID_TTL_LIMIT")
        with self.assertRaises(PermissionDeniedError) as cm:
            self.client(uid_token=long_).create_child_token(10)
        self.assertEqual(cm.exception.code, "TESSERA_UID_INHERITANCE_DENIED")
        self.assert_error_clean(cm.exception)

    def test_revoke_self_reattaches_children(self):
        token, node = self.root()
        client = self.client(uid_token=token)
        middle = client.create_child_token(60)
        leaf = self.client(uid_token=middle).create_child_token(30)
        self.secrets_seen.extend([middle, leaf])
        result = client.revoke(token=middle, revoke_type="self")
        self.assertEqual(result["type"], "self")
        self.assertEqual(result["revokedCount"], 1)
        with self.assertRaises(AuthenticationError):
            self.client(uid_token=middle).session_token()
        self.assertEqual(self.client(uid_token=leaf).get_secret("/demo/api-key"), API_KEY)
        root = client.list_children()["roots"][0]
        live = [c for c in root["children"] if not c["revoked"]]
        self.assertEqual(len(live), 1)
        self.assertEqual(live[0]["parentId"], node)

    def test_revoke_all_by_token_id(self):
        token, _ = self.root()
        client = self.client(uid_token=token)
        middle = client.create_child_token(60)
        leaf = self.client(uid_token=middle).create_child_token(30)
        self.secrets_seen.extend([middle, leaf])
        middle_id = client.list_children()["roots"][0]["children"][0]["id"]
        result = client.revoke(token_id=middle_id, revoke_type="all")
        self.assertEqual(result["revokedCount"], 2)
        for revoked in (middle, leaf):
            with self.assertRaises(AuthenticationError):
                self.client(uid_token=revoked).session_token()
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)

    def test_revoke_own_token_stops_the_client(self):
        token, node = self.root()
        path = self.token_file(token)
        client = self.client(token_file=path)
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)
        result = client.revoke()
        self.assertEqual(result["tokenId"], node)
        with self.assertRaises(AuthenticationError) as cm:
            client.get_secret("/demo/api-key")
        self.assert_error_clean(cm.exception)
        with self.assertRaises(AuthenticationError):
            client.list_children()
        with self.assertRaises(ValueError):
            client.revoke(revoke_type="everything")

    def test_revoked_cached_session_stops_at_once(self):
        token, _ = self.root()
        client = self.client(uid_token=token)
        self.assertEqual(client.get_secret("/demo/api-key"), API_KEY)
        SERVER.call("POST", "/v1/uid/revoke", {"token": token, "type": "all", "authMethodName": MAIN})
        with self.assertRaises(AuthenticationError) as cm:
            client.get_secret("/demo/api-key")  # the session is refused, and so is the re-exchange
        self.assert_error_clean(cm.exception)


class ExampleTests(LiveTestCase):
    """examples/machine-auth.py, run from the repository root as the demo does."""

    def run_example(self, env, *args):
        import subprocess
        import sys

        full_env = dict(os.environ)
        full_env.update(env)
        full_env["PYTHONPATH"] = ""  # the example must find the client by itself
        return subprocess.run(
            [sys.executable, os.path.join("examples", "machine-auth.py")] + list(args),
            cwd=harness.REPO_ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_reads_and_rotates_without_printing_secrets(self):
        token, _ = self.root()
        path = self.token_file(token, content="UID_TOKEN=%s\n" % token)
        env = {"TESSERA_URL": SERVER.url, "TESSERA_UID_TOKEN_FILE": path}
        done = self.run_example(env, "--rotate", "--child-ttl", "30")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("JSON object with keys: host, password, port, user", done.stdout)
        new = UidTokenFile(path).read()
        self.assertNotEqual(new, token)
        self.secrets_seen.append(new)
        self.assert_clean(done.stdout + done.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), "UID_TOKEN=%s\n" % new)

    def test_errors_exit_non_zero_with_a_clear_message(self):
        token, _ = self.root()
        path = self.token_file(token)
        denied = self.run_example({"TESSERA_URL": SERVER.url, "TESSERA_UID_TOKEN_FILE": path, "TESSERA_SECRET_NAME": "/private/admin-only"})
        self.assertEqual(denied.returncode, 1)
        self.assertIn("TESSERA_FORBIDDEN", denied.stderr)
        self.assert_clean(denied.stdout + denied.stderr)
        down = self.run_example({"TESSERA_URL": "http://127.0.0.1:%d" % harness.free_port(), "TESSERA_UID_TOKEN_FILE": path})
        self.assertEqual(down.returncode, 1)
        self.assertIn("is the server running", down.stderr)
        missing = self.run_example({"TESSERA_URL": SERVER.url, "TESSERA_UID_TOKEN_FILE": os.path.join(self.dir, "none")})
        self.assertEqual(missing.returncode, 2)
        self.assertIn("does not exist", missing.stderr)


if __name__ == "__main__":
    unittest.main()
