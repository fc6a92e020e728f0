#!/usr/bin/env bash
# Akeyless's Universal Identity walk-through, with `tessera` in place of `akeyless`.
# Needs a running server (TESSERA_URL) and an administrator profile (`tessera configure`).
# Every step checks its outcome; the script fails at the first surprise.
set -euo pipefail
METHOD=${METHOD:-/demo/uid-non-human-auth}
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

step "Admin: create the UID auth method (TTL 60 min, session tokens 12 h)"
ACCESS_ID=$(tessera auth-method create universal-identity --name "$METHOD" --ttl 60 --jwt-ttl 720)
echo "access id: $ACCESS_ID"

step "Admin: generate the bootstrap token"
UID_TOKEN=$(tessera uid-generate-token --auth-method-name "$METHOD")
[[ $UID_TOKEN == u-* ]] || fail "no u- token"

step "Application: exchange the UID token for a session token"
tessera auth --access-id "$ACCESS_ID" --access-type universal_identity --uid_token "$UID_TOKEN" | tee /tmp/tessera-auth.$$
T_TOKEN=$(grep -o 't-[A-Za-z0-9._-]*' /tmp/tessera-auth.$$ | head -n1); rm -f /tmp/tessera-auth.$$
[[ -n $T_TOKEN ]] || fail "no session token"

step "Application: rotate (rotation scripts written for Akeyless parse this output)"
NEW_TOKEN_OUTPUT=$(tessera uid-rotate-token --uid-token "$UID_TOKEN")
NEW_TOKEN=$(echo "$NEW_TOKEN_OUTPUT" | grep -E "(ROTATED TOKEN|Token):" | sed 's/.*\[//' | sed 's/\].*//')
[[ $NEW_TOKEN == u-* && $NEW_TOKEN != "$UID_TOKEN" ]] || fail "rotation gave no new token"

step "Application: the new token works"
tessera auth --access-type universal_identity --uid-token "$NEW_TOKEN" >/dev/null || fail "new token refused"

step "The old token is rejected once the new one has been used (reuse = theft signal)"
if tessera auth --access-type universal_identity --uid-token "$UID_TOKEN" >/dev/null 2>&1; then fail "old token accepted"; fi
if tessera uid-list-children --uid-token "$NEW_TOKEN" >/dev/null 2>&1; then fail "subtree not revoked after reuse"; fi
echo "old token refused; reuse revoked the node's subtree"

step "Hierarchy: a fresh parent with children of different TTLs"
PARENT_TOKEN=$(tessera uid-generate-token --auth-method-name "$METHOD")
DATABASE_SERVICE_TOKEN=$(tessera uid-create-child-token --uid-token "$PARENT_TOKEN" --child-ttl 30)
API_GATEWAY_TOKEN=$(tessera uid-create-child-token --uid-token "$PARENT_TOKEN" --child-ttl 60)
WORKER_TOKEN=$(tessera uid-create-child-token --uid-token "$API_GATEWAY_TOKEN" --child-ttl 120)
tessera uid-list-children --uid-token "$PARENT_TOKEN"
COUNT=$(tessera uid-list-children --uid-token "$PARENT_TOKEN" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).numberOfTokens))')
[[ $COUNT == 4 ]] || fail "expected 4 tokens in the tree, got $COUNT"

step "Derived session tokens"
WORKER_SESSION=$(tessera auth --access-type universal_identity --uid-token "$WORKER_TOKEN" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')

step "Revoke one microservice (revokeSelf)"
tessera uid-revoke-token --revoke-token "$DATABASE_SERVICE_TOKEN" --revoke-type revokeSelf --auth-method-name "$METHOD"
if tessera uid-list-children --uid-token "$DATABASE_SERVICE_TOKEN" >/dev/null 2>&1; then fail "revoked token still valid"; fi
tessera uid-list-children --uid-token "$API_GATEWAY_TOKEN" >/dev/null || fail "sibling lost"

step "Emergency: revoke the whole tree (revokeAll)"
tessera uid-revoke-token --revoke-token "$PARENT_TOKEN" --revoke-type revokeAll --auth-method-name "$METHOD"
for t in "$PARENT_TOKEN" "$API_GATEWAY_TOKEN" "$WORKER_TOKEN"; do
  if tessera uid-list-children --uid-token "$t" >/dev/null 2>&1; then fail "token survived revokeAll"; fi
done
if tessera uid-list-children --token "$WORKER_SESSION" >/dev/null 2>&1; then fail "derived session token still accepted"; fi
echo "every token of the tree and every session derived from it is refused"

step "Walk-through complete"
