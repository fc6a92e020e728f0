#!/usr/bin/env python3
"""Secretless machine authentication with Tessera Universal Identity (a complete example).

A service holds only its UID token, in a file put there by the platform engineer (or kept rotated by
`tessera agent`). It exchanges the token for a short-lived session token, reads its database
configuration, and can rotate its own token. No credential is written in this code or its config.

Environment:
  TESSERA_URL              the server (default http://127.0.0.1:8377)
  TESSERA_UID_TOKEN_FILE   the UID token file: `u-…` or `UID_TOKEN=u-…`
                           (default ./tokens/application-service-token)
  TESSERA_SECRET_NAME      the secret to read (default /demo/database-config)

Usage: python3 examples/machine-auth.py [--rotate] [--child-ttl MINUTES]

The secret's value is never printed: only its shape (the keys of a JSON object, or its length).
Exit status: 0 on success, 1 on a Tessera error, 2 on a usage or configuration error.
"""

import argparse
import json
import os
import sys

try:
    from tessera_client import TesseraClient, TesseraError, TokenFileError
except ImportError:  # not installed: use the client from this repository
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
    from tessera_client import TesseraClient, TesseraError, TokenFileError

DEFAULT_URL = "http://127.0.0.1:8377"
DEFAULT_TOKEN_FILE = "./tokens/application-service-token"
DEFAULT_SECRET = "/demo/database-config"


def describe(value):
    """A summary of a secret value that does not reveal it."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return "text, %d characters" % len(value)
    if isinstance(parsed, dict):
        return "JSON object with keys: %s" % (", ".join(sorted(parsed)) or "(none)")
    return "JSON %s, %d characters" % (type(parsed).__name__, len(value))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Secretless machine authentication with a Tessera UID token.")
    parser.add_argument("--rotate", action="store_true", help="rotate the UID token (the file is updated first)")
    parser.add_argument("--child-ttl", type=float, metavar="MINUTES", help="also create a child token with this TTL (not printed)")
    args = parser.parse_args(argv)

    url = os.environ.get("TESSERA_URL") or DEFAULT_URL
    token_file = os.environ.get("TESSERA_UID_TOKEN_FILE") or DEFAULT_TOKEN_FILE
    secret_name = os.environ.get("TESSERA_SECRET_NAME") or DEFAULT_SECRET

    print("Tessera machine authentication")
    print("  server:      %s" % url)
    print("  token file:  %s" % token_file)
    try:
        client = TesseraClient(url, token_file=token_file, timeout=10.0)
    except ValueError as e:
        print("error: %s (check TESSERA_URL)" % e, file=sys.stderr)
        return 2

    step = [0]

    def say(text):
        step[0] += 1
        print("%d. %s" % (step[0], text))

    try:
        client.session_token()
        say("UID token exchanged for a short-lived session token (cached in memory, never printed)")

        value = client.get_secret(secret_name)
        say("read %s: %s" % (secret_name, describe(value)))
        # A real service would now connect, e.g. DatabaseService(json.loads(value)).connect().

        if args.child_ttl is not None:
            client.create_child_token(args.child_ttl, comment="machine-auth.py example")
            tree = client.list_children()
            say("child token created (%g min); the tree now holds %d token(s)" % (args.child_ttl, tree.get("numberOfTokens", 0)))

        if args.rotate:
            client.rotate_uid_token()
            info = client.last_rotation or {}
            say("UID token rotated (secretless self-rotation): the new token is in %s, mode 0600;" % token_file)
            print("   token id %s, expires %s; the old token is no longer valid" % (info.get("tokenId"), info.get("expiresAt")))
            client.get_secret(secret_name)
            print("   the new token works: %s read again" % secret_name)
    except TokenFileError as e:
        print("error: %s" % e, file=sys.stderr)
        print("hint: set TESSERA_UID_TOKEN_FILE to a file holding the service's u- token", file=sys.stderr)
        return 2
    except TesseraError as e:
        print("error: %s" % e, file=sys.stderr)
        hints = {
            "AuthenticationError": "the UID token was refused (expired, revoked, or superseded): ask for a new one",
            "PermissionDeniedError": "no role grants this identity read on %s" % secret_name,
            "NotFoundError": "no secret named %s (set TESSERA_SECRET_NAME)" % secret_name,
            "TransportError": "is the server running at %s? (set TESSERA_URL)" % url,
        }
        hint = hints.get(type(e).__name__)
        if hint:
            print("hint: %s" % hint, file=sys.stderr)
        return 1
    print("done: no static credential was used or printed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
