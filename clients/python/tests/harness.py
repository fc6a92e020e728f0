"""Test harness: a real Tessera server on a free port with a throw-away data directory.

Starts ``node packages/cli/bin/tessera.js server --data-dir <tmp> --port <free port>`` (a real port, so that the
issuer and the URLs DPoP proofs name are the ones clients reach) (the server prints
``Tessera server listening on <url>``), waits for ``/readyz``, signs in as the administrator
(``admin.json``) and offers a small admin API over urllib (independent of the client under test).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_ROOT = os.path.dirname(HERE)  # clients/python
REPO_ROOT = os.path.dirname(os.path.dirname(PYTHON_ROOT))
BIN = os.path.join(REPO_ROOT, "packages", "cli", "bin", "tessera.js")

if PYTHON_ROOT not in sys.path:
    sys.path.insert(0, PYTHON_ROOT)

START_TIMEOUT = 30.0


class AdminError(Exception):
    def __init__(self, status, body):
        super().__init__("admin call failed: HTTP %s %s" % (status, body))
        self.status = status
        self.body = body


class TesseraServer(object):
    """One server process for a test module."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="tessera-py-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.proc = None
        self.url = None
        self.admin_token = None
        self.admin_access_id = None

    # -------------------------------------------------------------- lifecycle

    def start(self):
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        if not os.path.exists(BIN):
            raise RuntimeError("%s is missing: run `npm run build` at the repository root first" % BIN)
        env = dict(os.environ)
        env.setdefault("TESSERA_LOG_LEVEL", "warn")
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [os.environ.get("TESSERA_NODE") or "node", BIN, "server", "--data-dir", self.data_dir, "--port", str(free_port()), "--host", "127.0.0.1"],
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        marker = "Tessera server listening on "
        while self.url is None:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited with %s:\n%s" % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within %ss:\n%s" % (START_TIMEOUT, self.log()))
            for line in self.log().splitlines():
                if line.startswith(marker):
                    self.url = line[len(marker):].strip()
                    break
            else:
                time.sleep(0.05)
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server never became ready:\n%s" % self.log())
            time.sleep(0.05)
        with open(os.path.join(self.data_dir, "admin.json")) as f:
            admin = json.load(f)
        self.admin_access_id = admin["accessId"]
        answer = self.call(
            "POST",
            "/v1/auth",
            {"accessType": "access_key", "accessId": admin["accessId"], "accessKey": admin["accessKey"]},
            token=None,
        )
        self.admin_token = answer["token"]
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -------------------------------------------------------------- admin API

    def call(self, method, path, body=None, token=""):
        """A JSON request; ``token=""`` means the admin session, ``None`` no credential."""
        if token == "":
            token = self.admin_token
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = raw.decode(errors="replace")
            raise AdminError(e.code, payload) from None

    def create_uid_method(self, name, **settings):
        body = {"type": "universal_identity", "name": name}
        body.update(settings)
        return self.call("POST", "/v1/auth-methods", body)["authMethod"]

    def create_role(self, name, rules, methods):
        self.call("POST", "/v1/roles", {"name": name})
        for rule_type, path, caps in rules:
            self.call("POST", "/v1/roles/%s/rules" % name, {"ruleType": rule_type, "path": path, "capabilities": caps})
        for method in methods:
            self.call("POST", "/v1/roles/%s/associations" % name, {"authMethodName": method})

    def create_secret(self, name, value, fmt="text"):
        return self.call("POST", "/v1/secrets", {"name": name, "value": value, "format": fmt})

    def generate_root(self, method_name, **opts):
        body = {"authMethodName": method_name}
        body.update(opts)
        return self.call("POST", "/v1/uid/tokens", body)

    def audit_events(self, **query):
        import urllib.parse

        query.setdefault("limit", "500")
        return self.call("GET", "/v1/audit/events?" + urllib.parse.urlencode(query))["items"]


def free_port():
    """A port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
