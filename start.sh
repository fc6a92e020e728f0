#!/usr/bin/env bash
# Tessera's interactive Universal Identity demo: three personas (admin, platform
# engineer, application service) against a throw-away Tessera server that this script starts on a
# free port and stops on exit. `./start.sh --help` for usage.
#
# No credential is written into this script, its cron template or the configs it generates: the
# admin key comes from the server's admin.json, tokens from the server, the demo password is random.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./start.sh [--all | --help]

The Universal Identity demo (an administrator, a platform engineer, an application service),
against a Tessera server that the script starts itself (free port, throw-away data directory) and stops on exit.

  (no option)  interactive menu
  --all        run the complete three-persona workflow (every step) without questions; exits
               non-zero if any step fails (this is what CI runs)
  --help       this text

Menu:
  1 Complete three-persona workflow (recommended)   6 Hierarchical token management
  2 Admin setup                                     7 Python integration example
  3 Platform engineer deployment                    8 Show workflow status
  4 Application service operations                  9 Exit
  5 Token rotation demo

Files (all throw-away, re-created on every start, ignored by git):
  tokens/client-tokens              the admin's bootstrap token for the platform engineer (0600)
  tokens/application-service-token  the service's own UID token, rotated in place (0600)
  .demo/                            server data, CLI profile, state, agent config, cron job, logs

Environment:
  TESSERA_DEMO_DIR  put tokens/ and .demo/ under this directory instead of the repository
  NO_COLOR          no colours

Needs: node (and the built CLI: npm install), python3 for step 7, curl (optional).
EOF
}

ALL_MODE=0
case "${1:-}" in
  '') ;;
  --all) ALL_MODE=1 ;;
  -h | --help) usage; exit 0 ;;
  *) printf 'start.sh: unknown option %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
esac
if (($# > 1)); then usage >&2; exit 2; fi

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SCRIPT_DIR"

CLI=$SCRIPT_DIR/packages/cli/bin/tessera.js
NODE=$(command -v node || true)
if [[ -z $NODE ]]; then echo "start.sh: node is not installed (Node.js 20 or later)" >&2; exit 1; fi
if [[ ! -f $SCRIPT_DIR/packages/cli/dist/bin.js ]]; then
  echo "start.sh: packages/cli/dist/bin.js is missing: run 'npm install' (or 'npm run build') first" >&2
  exit 1
fi

DEMO_DIR=${TESSERA_DEMO_DIR:-$SCRIPT_DIR}
mkdir -p "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
TOKENS_DIR=$DEMO_DIR/tokens
STATE_DIR=$DEMO_DIR/.demo
STATE_FILE=$STATE_DIR/state
DATA_DIR=$STATE_DIR/server
PID_FILE=$STATE_DIR/server.pid
SERVER_LOG=$STATE_DIR/server.log
CLIENT_TOKENS=$TOKENS_DIR/client-tokens
SERVICE_TOKEN=$TOKENS_DIR/application-service-token
CRON_TEMPLATE=$SCRIPT_DIR/examples/demo/rotate-uid-token.cron
CRON_FILE=$STATE_DIR/rotate-uid-token.cron
ROTATION_LOG=$STATE_DIR/rotation.log
AGENT_CONFIG=$STATE_DIR/agent.yaml
RENDER_DIR=$STATE_DIR/rendered
CLI_CONFIG_DIR=$STATE_DIR/cli-config
PY_EXAMPLE=$SCRIPT_DIR/examples/machine-auth.py
PY_CLIENT=$SCRIPT_DIR/clients/python

METHOD=/demo/uid-non-human-auth
ROLE=demo-app-readers
SECRET=/demo/database-config

SERVER_PID=''
TESSERA_URL=''
FAILED_STEPS=()

# ── output ──────────────────────────────────────────────────────────────────────────────────────

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
  B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' C=$'\e[36m' N=$'\e[0m'
else
  B='' D='' G='' R='' Y='' C='' N=''
fi

say() { printf '%s\n' "$*"; }
banner() { printf '\n%s══ %s ══%s\n' "$B" "$*" "$N"; }
explain() { printf '%s» %s%s\n' "$C" "$*" "$N"; }
ok() { printf '  %s✓ %s%s\n' "$G" "$*" "$N"; }
warn() { printf '  %s! %s%s\n' "$Y" "$*" "$N"; }
# Fails the current step (steps run in subshells, see run_step).
fail() {
  printf '  %s✗ %s%s\n' "$R" "$*" "$N" >&2
  exit 1
}
indent() { sed 's/^/    /'; }

# Masks credentials in anything shown: u-AbCd…, t-eyJh…, tak-…, bare JWTs.
mask() {
  sed -E \
    -e 's/\b(u-[A-Za-z0-9_-]{4})[A-Za-z0-9_~+/=-]{8,}/\1…/g' \
    -e 's/\b(t-[A-Za-z0-9_-]{4})[A-Za-z0-9._~+/=-]{8,}/\1…/g' \
    -e 's/\b(tak-[A-Za-z0-9_-]{4})[A-Za-z0-9_~+/=-]{8,}/\1…/g' \
    -e 's/\b(eyJ[A-Za-z0-9_-]{4})[A-Za-z0-9._-]{20,}/\1…/g'
}

# A command as it would be typed: plain words bare, others single-quoted; paths of the repository
# and the demo directory shortened.
quote_args() {
  local out='' a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+="$a "; else out+="'${a//\'/\'\\\'\'}' "; fi
  done
  out=${out% }
  out=${out//"$SCRIPT_DIR/"/}
  out=${out//"$DEMO_DIR/"/}
  printf '%s' "$out"
}
show_cmd() { printf '  %s$ %s%s\n' "$D" "$(quote_args "$@" | mask)" "$N"; }
show_line() { printf '  %s$ %s%s\n' "$D" "$(printf '%s' "$*" | mask)" "$N"; }

# ── running commands ────────────────────────────────────────────────────────────────────────────

tessera() { "$NODE" "$CLI" "$@"; }

# run CMD…: shows the command, runs it, shows its output (masked); its failure fails the step.
run() {
  local rc=0
  show_cmd "$@"
  "$@" </dev/null 2>&1 | mask | indent || rc=$?
  ((rc == 0)) || fail "command failed (exit $rc): $(quote_args "$@" | mask)"
}

# capture VAR CMD…: shows the command, runs it, keeps its stdout in VAR (not shown) and shows its
# stderr (masked); its failure fails the step.
capture() {
  local __var=$1 __out __err __rc=0
  shift
  show_cmd "$@"
  __err=$(mktemp "$STATE_DIR/stderr.XXXXXX")
  __out=$("$@" </dev/null 2>"$__err") || __rc=$?
  mask <"$__err" | indent
  rm -f "$__err"
  ((__rc == 0)) || fail "command failed (exit $__rc): $(quote_args "$@" | mask)"
  printf -v "$__var" '%s' "$__out"
}

# expect_refused WHAT CMD…: the command must FAIL; its acceptance fails the step.
expect_refused() {
  local what=$1 out rc=0
  shift
  show_cmd "$@"
  out=$("$@" </dev/null 2>&1) || rc=$?
  if ((rc == 0)); then
    printf '%s\n' "$out" | mask | indent
    fail "$what was ACCEPTED, it should have been refused"
  fi
  printf '%s\n' "$out" | head -n 1 | mask | indent
  ok "$what: refused (exit $rc), as expected"
}

# json_get PATH < JSON: one field (dotted path) of a JSON document.
json_get() {
  "$NODE" -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const v = process.argv[1].split(".").reduce((o, k) => (o == null ? undefined : o[k]), JSON.parse(s));
      if (v === undefined || v === null) process.exit(1);
      console.log(typeof v === "object" ? JSON.stringify(v) : v);
    });' "$1"
}

# The UID token in a token file (raw, or a UID_TOKEN=… line).
token_in() {
  local t
  [[ -f $1 ]] || fail "no token file $1"
  t=$(sed -n 's/^[[:space:]]*\(export[[:space:]]\{1,\}\)\{0,1\}UID_TOKEN=["'\'']\{0,1\}\([^"'\''[:space:]]*\).*/\2/p' "$1" | head -n 1)
  [[ -n $t ]] || t=$(grep -m 1 -E '^[[:space:]]*u-' "$1" | tr -d '[:space:]' || true)
  [[ $t == u-* ]] || fail "no UID token in $1"
  printf '%s' "$t"
}

file_mode() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1"; }
check_private() {
  local m
  m=$(file_mode "$1")
  [[ $m == 600 ]] || fail "$1 has mode $m, expected 600"
}
# write_private FILE < CONTENT: atomically, mode 0600.
write_private() {
  local tmp
  tmp=$(umask 077 && mktemp "$(dirname "$1")/.tmp.XXXXXX")
  cat >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$1"
}
rel() { local p=${1//"$SCRIPT_DIR/"/}; printf '%s' "${p//"$DEMO_DIR/"/}"; }
masked() { printf '%s' "$1" | mask; }

# ── state (.demo/state: which steps ran, non-secret ids) ────────────────────────────────────────

state_get() {
  if [[ -f $STATE_FILE ]]; then sed -n "s/^$1=//p" "$STATE_FILE" | tail -n 1; fi
}
state_set() {
  {
    if [[ -f $STATE_FILE ]]; then grep -v "^$1=" "$STATE_FILE" || true; fi
    printf '%s=%s\n' "$1" "$2"
  } >"$STATE_FILE.tmp"
  mv -f "$STATE_FILE.tmp" "$STATE_FILE"
}

# run_step FN: runs a step in a subshell with errexit, so that any failing command ends the step
# (not the demo); the result is in STEP_RC. Never call it in a condition (if/&&/||): bash would
# switch errexit off inside.
STEP_RC=0
run_step() {
  set +e
  (
    set -e
    "$@"
  )
  STEP_RC=$?
  set -e
}

# A component another part of the project provides and that is not there: said loudly; fails the
# step under --all.
missing_component() {
  warn "NOT INSTALLED: $1"
  if ((ALL_MODE)); then fail "--all needs every component; missing: $1"; fi
  warn "skipping this part (it runs once the component is installed)"
}

# ── the server ──────────────────────────────────────────────────────────────────────────────────

free_port() {
  "$NODE" -e 'const s = require("node:net").createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => console.log(port)); });'
}

http_ok() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
  else
    "$NODE" -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"
  fi
}

stop_server() {
  local i
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=''
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  # The server's data (root key, admin.json) and the admin's CLI profile die with the demo.
  rm -rf "$DATA_DIR" "$CLI_CONFIG_DIR" "$STATE_DIR"/stderr.* 2>/dev/null || true
  exit "$rc"
}

prepare_dirs() {
  local pid
  if [[ -d $STATE_DIR ]]; then
    [[ -f $STATE_DIR/.tessera-demo ]] ||
      { echo "start.sh: $STATE_DIR exists and was not made by start.sh; not touching it" >&2; exit 1; }
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -q "$DATA_DIR" "/proc/$pid/cmdline" 2>/dev/null; then
      echo "start.sh: another demo is running here (server pid $pid); stop it first" >&2
      exit 1
    fi
    rm -rf "$STATE_DIR"
  fi
  rm -f "$CLIENT_TOKENS" "$SERVICE_TOKEN"
  mkdir -p "$STATE_DIR" "$TOKENS_DIR"
  chmod 700 "$STATE_DIR" "$TOKENS_DIR"
  : >"$STATE_DIR/.tessera-demo"
  : >"$STATE_FILE"
}

start_server() {
  local port attempt i
  for attempt in 1 2 3; do
    port=$(free_port)
    TESSERA_URL=http://127.0.0.1:$port
    "$NODE" "$CLI" server --data-dir "$DATA_DIR" --port "$port" --host 127.0.0.1 --log-level warn \
      </dev/null >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    printf '%s\n' "$SERVER_PID" >"$PID_FILE"
    for ((i = 0; i < 300; i++)); do
      if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
      if http_ok "$TESSERA_URL/readyz"; then
        export TESSERA_URL
        return 0
      fi
      sleep 0.1
    done
    stop_server
    echo "start.sh: server did not become ready on port $port (attempt $attempt)" >&2
  done
  echo "start.sh: could not start the Tessera server; its log ($SERVER_LOG):" >&2
  tail -n 30 "$SERVER_LOG" >&2 || true
  exit 1
}

# ── steps ───────────────────────────────────────────────────────────────────────────────────────

ensure_admin() {
  if [[ $(state_get admin) != yes ]]; then
    say "${D}(this needs the admin setup first: running step 2)${N}"
    run_step step_admin
  fi
  [[ $(state_get admin) == yes ]] || fail "the admin setup (step 2) did not complete"
}

ensure_handoff() {
  if [[ $(state_get handoff) != yes || ! -f $SERVICE_TOKEN ]]; then
    say "${D}(this needs the platform engineer's hand-off first: running step 3)${N}"
    run_step step_platform
  fi
  [[ $(state_get handoff) == yes && -f $SERVICE_TOKEN ]] ||
    fail "the platform engineer's hand-off (step 3) did not complete"
}

step_admin() {
  local admin_id access_id value uid
  banner "Step 2 · Admin setup (persona: administrator)"

  if [[ $(state_get admin_profile) != yes ]]; then
    explain "The admin signs in once with the key the new server wrote to admin.json (mode 0600); the key goes through standard input, never the command line, and the profile lives in a throw-away config dir."
    admin_id=$(json_get accessId <"$DATA_DIR/admin.json")
    show_line "tessera configure --access-id $admin_id --access-key - < (accessKey of $(rel "$DATA_DIR")/admin.json)"
    "$NODE" -e 'process.stdout.write(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).accessKey)' \
      "$DATA_DIR/admin.json" | tessera configure --access-id "$admin_id" --access-key - 2>&1 | mask | indent
    state_set admin_profile yes
  fi

  access_id=$(state_get access_id)
  if [[ -z $access_id ]]; then
    explain "A Universal Identity auth method is the one-time organisational setup: its root tokens live 60 minutes unless rotated, its session tokens at most 12 hours, and no shared secret is involved."
    capture access_id tessera auth-method create universal-identity --name "$METHOD" --ttl 60 --jwt-ttl 720
    [[ $access_id == p-* ]] || fail "no access id from auth-method create"
    state_set access_id "$access_id"
    ok "auth method $METHOD, access id $access_id"
  else
    ok "auth method $METHOD exists (access id $access_id)"
  fi

  if [[ $(state_get role) != yes ]]; then
    explain "A role gives the method's tokens read access to /demo/* and nothing else: least privilege, decided by the admin, not by whoever holds a token."
    run tessera create-role --name "$ROLE" --description "demo application services: read /demo/*"
    run tessera set-role-rule --role-name "$ROLE" --path "/demo/*" --capability read --capability list
    run tessera assoc-role-am --role-name "$ROLE" --am-name "$METHOD"
    state_set role yes
  fi

  if [[ $(state_get secret) != yes ]]; then
    explain "The database configuration the service needs is stored as an encrypted JSON secret; its password is generated right now, so nothing static lives in this script."
    value=$("$NODE" -e 'const { randomBytes } = require("node:crypto");
      process.stdout.write(JSON.stringify({ host: "db.demo.internal", port: 5432, database: "orders",
        username: "orders_app", password: randomBytes(18).toString("base64url"), sslmode: "require" }));')
    show_line "tessera create-secret --name $SECRET --format json --value - < (generated JSON: host, port, database, username, password, sslmode)"
    printf '%s' "$value" | tessera create-secret --name "$SECRET" --format json --value - \
      --description "demo database configuration" 2>&1 | mask | indent
    state_set secret yes
  fi

  if [[ -f $CLIENT_TOKENS ]]; then
    ok "bootstrap token already in $(rel "$CLIENT_TOKENS")"
  else
    if [[ $(state_get handoff) == yes ]]; then
      say "  ${D}(the service already holds its token: this bootstrap token is for another instance; step 3 deploys it)${N}"
    fi
    explain "The admin generates the one bootstrap UID token (the 'secret zero') and leaves it in $(rel "$CLIENT_TOKENS") (mode 0600) for the platform engineer; from here on the token manages itself."
    capture uid tessera uid-generate-token --auth-method-name "$METHOD" --comment application-service
    [[ $uid == u-* ]] || fail "uid-generate-token printed no u- token"
    write_private "$CLIENT_TOKENS" <<EOF
# Bootstrap UID token for the demo application service, issued $(date -u +%Y-%m-%dT%H:%M:%SZ) by the admin.
# Hand it to the service's host, then delete this copy: the token rotates itself from then on.
UID_TOKEN=$uid
ACCESS_ID=$(state_get access_id)
AUTH_METHOD=$METHOD
EOF
    check_private "$CLIENT_TOKENS"
    ok "bootstrap token $(masked "$uid") written to $(rel "$CLIENT_TOKENS") (mode $(file_mode "$CLIENT_TOKENS"), UID_TOKEN=… form)"
  fi
  state_set admin yes
  ok "admin setup complete"
}

render_cron() {
  local text tessera_cmd
  [[ -f $CRON_TEMPLATE ]] || fail "the cron template $CRON_TEMPLATE is missing"
  text=$(<"$CRON_TEMPLATE")
  tessera_cmd="$(printf '%q' "$NODE") $(printf '%q' "$CLI")"
  text=${text//@TESSERA@/"$tessera_cmd"}
  text=${text//@TESSERA_URL@/"$(printf '%q' "$TESSERA_URL")"}
  text=${text//@TOKEN_FILE@/"$(printf '%q' "$SERVICE_TOKEN")"}
  text=${text//@LOG_FILE@/"$(printf '%q' "$ROTATION_LOG")"}
  printf '%s\n' "$text" >"$CRON_FILE"
  state_set cron yes
}

# The command of the cron file's job line (its five time fields removed).
cron_command() {
  grep -v -E '^[[:space:]]*(#|$)' "$CRON_FILE" | tail -n 1 | sed -E 's/^[[:space:]]*([^[:space:]]+[[:space:]]+){5}//'
}

yaml_str() { "$NODE" -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

agent_installed() { "$NODE" "$CLI" agent --help >/dev/null 2>&1; }

step_platform() {
  local uid
  banner "Step 3 · Platform engineer deployment (persona: platform engineer)"
  if [[ $(state_get handoff) == yes && -f $SERVICE_TOKEN && ! -f $CLIENT_TOKENS ]]; then
    ok "the service already holds its token in $(rel "$SERVICE_TOKEN")"
  else
    if [[ ! -f $CLIENT_TOKENS ]]; then ensure_admin; fi
    if [[ ! -f $CLIENT_TOKENS ]]; then
      say "${D}(no bootstrap token to hand off: running step 2)${N}"
      run_step step_admin
      [[ -f $CLIENT_TOKENS ]] || fail "no bootstrap token in $(rel "$CLIENT_TOKENS")"
    fi
    explain "The platform engineer deploys the bootstrap token to the service host as the service's own token file (mode 0600) and deletes the hand-off copy, so the credential exists in exactly one place."
    uid=$(token_in "$CLIENT_TOKENS")
    show_line "sed -n 's/^UID_TOKEN=//p' $(rel "$CLIENT_TOKENS") > $(rel "$SERVICE_TOKEN") && chmod 600 $(rel "$SERVICE_TOKEN") && rm $(rel "$CLIENT_TOKENS")"
    printf '%s\n' "$uid" | write_private "$SERVICE_TOKEN"
    check_private "$SERVICE_TOKEN"
    rm -f "$CLIENT_TOKENS"
    explain "A quick check that the deployed token is valid (a monitoring check: the holder lists its own token tree)."
    run tessera uid-list-children --uid-token "$uid"
    state_set handoff yes
    ok "token $(masked "$uid") deployed to $(rel "$SERVICE_TOKEN") (mode $(file_mode "$SERVICE_TOKEN")); hand-off copy deleted"
  fi

  explain "For hosts without the agent, a cron job rotates the token file in place every 30 minutes: 'uid-rotate-token --token-file' writes the new token atomically before it is ever used."
  render_cron
  ok "cron template $(rel "$CRON_TEMPLATE") rendered to $(rel "$CRON_FILE") (install it with 'crontab'; the demo leaves your crontab alone):"
  grep -v -E '^[[:space:]]*(#|$)' "$CRON_FILE" | indent

  explain "The agent is the long-running alternative: it keeps the token rotated at about half its TTL and renders secrets into files (mode 0600), so the application's own config holds no secret."
  mkdir -p "$RENDER_DIR"
  chmod 700 "$RENDER_DIR"
  cat >"$AGENT_CONFIG" <<EOF
# tessera agent for the demo application service (written by ./start.sh).
# No credential in here: the agent reads the UID token from uid_token_file and rotates it in place.
server_url: $(yaml_str "$TESSERA_URL")
uid_token_file: $(yaml_str "$SERVICE_TOKEN")
rotate_at_fraction: 0.5
templates:
  - destination: $(yaml_str "$RENDER_DIR/database.env")
    template: |
      DB_HOST={{ secret "$SECRET" "host" }}
      DB_PORT={{ secret "$SECRET" "port" }}
      DB_NAME={{ secret "$SECRET" "database" }}
      DB_USER={{ secret "$SECRET" "username" }}
      DB_PASSWORD={{ secret "$SECRET" "password" }}
  - destination: $(yaml_str "$RENDER_DIR/database-config.json")
    template: '{{ secret "$SECRET" }}'
EOF
  state_set agent_config yes
  ok "agent config written to $(rel "$AGENT_CONFIG"):"
  indent <"$AGENT_CONFIG"
  if [[ -f $SCRIPT_DIR/examples/agent/tessera-agent.service ]]; then
    ok "systemd unit to run it for good: examples/agent/tessera-agent.service"
  fi

  if agent_installed; then
    explain "One agent cycle, as at every start: session token, rotation if due, templates rendered."
    run tessera agent --config "$AGENT_CONFIG" --once
    [[ -f $RENDER_DIR/database.env ]] || fail "the agent did not render $(rel "$RENDER_DIR")/database.env"
    check_private "$RENDER_DIR/database.env"
    check_private "$RENDER_DIR/database-config.json"
    json_get host <"$RENDER_DIR/database-config.json" >/dev/null ||
      fail "$(rel "$RENDER_DIR")/database-config.json does not hold the database config"
    grep -q '^DB_HOST=db.demo.internal$' "$RENDER_DIR/database.env" ||
      fail "$(rel "$RENDER_DIR")/database.env does not hold the rendered host"
    ok "rendered $(rel "$RENDER_DIR")/database.env (mode $(file_mode "$RENDER_DIR/database.env"); password masked here):"
    sed -E 's/^(DB_PASSWORD=.{3}).*/\1… (masked)/' "$RENDER_DIR/database.env" | indent
    state_set agent yes
  else
    missing_component "tessera agent (the 'agent' command of packages/cli)"
  fi
  ok "platform deployment complete"
}

# The session token (t-…) from `tessera auth … --json`.
session_of() { printf 't-%s' "$(json_get token <<<"$1")"; }

show_db_config() {
  # shellcheck disable=SC2016 # JavaScript template literals
  "$NODE" -e '
    const c = JSON.parse(process.argv[1]);
    for (const [k, v] of Object.entries(c)) {
      const s = String(v);
      console.log(`${k.padEnd(9)} ${/pass|secret|key/i.test(k) ? `${s.slice(0, 3)}… (masked, ${s.length} chars)` : s}`);
    }' "$1" | indent
}

step_app() {
  local access_id auth_json session value old new
  banner "Step 4 · Application service operations (persona: application service)"
  ensure_handoff
  access_id=$(state_get access_id)

  explain "The service exchanges its UID token (its identity) for a short-lived session token (its session), so the long-lived credential is not sent with every call."
  capture auth_json tessera auth --access-id "$access_id" --access-type universal_identity --token-file "$SERVICE_TOKEN" --json
  session=$(session_of "$auth_json")
  ok "session token $(masked "$session"), expires $(json_get expiresAt <<<"$auth_json")"

  explain "With the session token it reads the database configuration, which the admin's role on /demo/* allows."
  capture value tessera get-secret-value --name "$SECRET" --token "$session"
  json_get password <<<"$value" >/dev/null || fail "the database config has no password field"
  ok "$SECRET (demo data; the password is masked here):"
  show_db_config "$value"

  explain "The service rotates its own UID token: the CLI writes the new token into the file atomically before it is ever used, and the TTL starts again."
  old=$(token_in "$SERVICE_TOKEN")
  run tessera uid-rotate-token --token-file "$SERVICE_TOKEN"
  new=$(token_in "$SERVICE_TOKEN")
  [[ $new != "$old" ]] || fail "the token file still holds the old token"
  check_private "$SERVICE_TOKEN"
  ok "$(rel "$SERVICE_TOKEN") now holds $(masked "$new") (was $(masked "$old")), mode $(file_mode "$SERVICE_TOKEN")"

  explain "The old token is refused at once, and the new one works (its first use completes the rotation)."
  expect_refused "the old UID token" tessera auth --access-id "$access_id" --access-type universal_identity --uid-token "$old"
  capture auth_json tessera auth --access-id "$access_id" --access-type universal_identity --token-file "$SERVICE_TOKEN" --json
  session=$(session_of "$auth_json")
  capture value tessera get-secret-value --name "$SECRET" --token "$session"
  json_get host <<<"$value" >/dev/null || fail "reading $SECRET with the new session failed"
  ok "the new token authenticates and its session reads $SECRET"
  say "  ${D}From now on the old token must never be presented again: that would look like theft (step 5 shows what happens).${N}"
  state_set app yes
  ok "application service operations complete"
}

step_rotation() {
  local before after cmd expiry_before expiry_after tree decoy out new_decoy
  banner "Step 5 · Token rotation demo"
  ensure_handoff
  if [[ ! -f $CRON_FILE ]]; then render_cron; fi

  explain "The service token's current state as its holder sees it: TTL, expiry and last rotation."
  before=$(token_in "$SERVICE_TOKEN")
  capture tree tessera uid-list-children --uid-token "$before" --json
  expiry_before=$(json_get roots.0.expiresAt <<<"$tree")
  run tessera uid-list-children --uid-token "$before"

  explain "The cron job from step 3, run now instead of on schedule: it rotates the token file in place and logs the outcome."
  cmd=$(cron_command)
  [[ -n $cmd ]] || fail "no job line in $(rel "$CRON_FILE")"
  show_line "$(rel "$cmd")"
  bash -c "$cmd" </dev/null || fail "the cron job's command failed (log: $(rel "$ROTATION_LOG"))"
  tail -n 2 "$ROTATION_LOG" | mask | indent
  after=$(token_in "$SERVICE_TOKEN")
  [[ $after != "$before" ]] || fail "the cron job did not change the token file"
  check_private "$SERVICE_TOKEN"
  ok "token file rotated: $(masked "$before") → $(masked "$after"), mode $(file_mode "$SERVICE_TOKEN")"

  explain "Before the new token is used the old one may only retry the rotation (in case the answer was lost): anything else is refused."
  expect_refused "the old token" tessera auth --access-type universal_identity --uid-token "$before"
  explain "The new token works, and its TTL started again."
  capture tree tessera uid-list-children --uid-token "$after" --json
  expiry_after=$(json_get roots.0.expiresAt <<<"$tree")
  [[ $expiry_after > $expiry_before ]] || fail "the expiry did not move ($expiry_before → $expiry_after)"
  ok "expiry moved from $expiry_before to $expiry_after"

  explain "And if someone kept a copy of an old token? On a decoy token: it rotates, its new token is used, then the stolen old copy is presented."
  capture decoy tessera uid-generate-token --auth-method-name "$METHOD" --ttl 15 --comment "rotation demo decoy"
  capture out tessera uid-rotate-token --uid-token "$decoy"
  printf '%s\n' "$out" | mask | indent
  new_decoy=$(printf '%s\n' "$out" | grep -E "(ROTATED TOKEN|Token):" | sed 's/.*\[//' | sed 's/\].*//')
  [[ $new_decoy == u-* && $new_decoy != "$decoy" ]] || fail "no rotated token in the output"
  run tessera auth --access-type universal_identity --uid-token "$new_decoy"
  expect_refused "the stolen old copy" tessera auth --access-type universal_identity --uid-token "$decoy"
  expect_refused "the decoy's current token (reuse of a rotated token is a theft signal: the server revoked the node and its subtree)" \
    tessera auth --access-type universal_identity --uid-token "$new_decoy"
  explain "The admin sees it in the audit log."
  capture out tessera audit list --type uid.token.reuse_detected --since 15m
  [[ $out == *reuse_detected* ]] || fail "no uid.token.reuse_detected audit event"
  printf '%s\n' "$out" | tail -n 1 | mask | indent
  state_set rotation yes
  ok "token rotation demo complete"
}

step_hierarchy() {
  local parent db replica api worker auth_json worker_session value
  banner "Step 6 · Hierarchical token management"
  ensure_handoff
  parent=$(token_in "$SERVICE_TOKEN")

  explain "The service creates child tokens for its microservices, each with a TTL that fits its risk: the database service 30 min, the API gateway 60 min, a long-running worker below the gateway 2 h."
  capture db tessera uid-create-child-token --uid-token "$parent" --child-ttl 30 --comment database-service
  capture replica tessera uid-create-child-token --uid-token "$db" --child-ttl 15 --comment db-read-replica
  capture api tessera uid-create-child-token --uid-token "$parent" --child-ttl 60 --comment api-gateway
  capture worker tessera uid-create-child-token --uid-token "$api" --child-ttl 120 --comment worker
  for t in "$db" "$replica" "$api" "$worker"; do [[ $t == u-* ]] || fail "a child token is missing"; done

  explain "The tree as the parent sees it: every node with its own TTL and expiry (ids only, never tokens)."
  run tessera uid-list-children --uid-token "$parent"

  explain "A child's session token works like any other: the worker reads the database config."
  capture auth_json tessera auth --access-type universal_identity --uid-token "$worker" --json
  worker_session=$(session_of "$auth_json")
  capture value tessera get-secret-value --name "$SECRET" --token "$worker_session"
  ok "the worker's session $(masked "$worker_session") reads $SECRET"

  explain "revokeSelf retires one microservice's token only: the database service is refused, and its own child moves up to the parent and keeps working."
  run tessera uid-revoke-token --revoke-token "$db" --revoke-type revokeSelf --auth-method-name "$METHOD"
  expect_refused "the database-service token" tessera uid-list-children --uid-token "$db"
  capture value tessera uid-list-children --uid-token "$replica"
  ok "db-read-replica still valid"

  explain "revokeAll is the emergency brake for a branch: the API gateway, the worker below it and every session derived from them stop at once, and the parent revokes them itself."
  run tessera uid-revoke-token --uid-token "$parent" --revoke-token "$api" --revoke-type revokeAll
  expect_refused "the api-gateway token" tessera uid-list-children --uid-token "$api"
  expect_refused "the worker token" tessera uid-list-children --uid-token "$worker"
  expect_refused "the worker's session token" tessera get-secret-value --name "$SECRET" --token "$worker_session"

  explain "The tree afterwards: the revoked nodes are marked, the replica hangs directly under the parent, and the parent itself is untouched."
  run tessera uid-list-children --uid-token "$parent"
  state_set hierarchy yes
  ok "hierarchical token management complete"
}

step_python() {
  local before after out rc=0 password
  banner "Step 7 · Python integration example"
  ensure_handoff
  if ! command -v python3 >/dev/null 2>&1; then missing_component "python3"; return 0; fi
  if [[ ! -f $PY_EXAMPLE || ! -d $PY_CLIENT ]]; then
    missing_component "the Python client (clients/python) and its example (examples/machine-auth.py)"
    return 0
  fi

  explain "A Python service uses the standard-library client: it reads its UID token file, gets a session token, reads the database config (printing only a summary) and rotates its own token, saving the new one first."
  before=$(token_in "$SERVICE_TOKEN")
  local -a cmd=(env "TESSERA_URL=$TESSERA_URL" "TESSERA_UID_TOKEN_FILE=$SERVICE_TOKEN" "TESSERA_SECRET_NAME=$SECRET"
    "PYTHONPATH=$PY_CLIENT${PYTHONPATH:+:$PYTHONPATH}" python3 "$PY_EXAMPLE" --rotate)
  show_cmd "${cmd[@]}"
  out=$("${cmd[@]}" </dev/null 2>&1) || rc=$?
  printf '%s\n' "$out" | mask | indent
  ((rc == 0)) || fail "examples/machine-auth.py failed (exit $rc)"

  after=$(token_in "$SERVICE_TOKEN")
  [[ $after != "$before" ]] || fail "the Python client did not write a rotated token to $(rel "$SERVICE_TOKEN")"
  check_private "$SERVICE_TOKEN"
  ok "the token file was rotated by the Python client: $(masked "$before") → $(masked "$after"), mode $(file_mode "$SERVICE_TOKEN")"
  explain "The rotated token works, and the example never printed the secret's value."
  capture out tessera uid-list-children --uid-token "$after"
  ok "the new token is valid"
  capture password tessera get-secret-value --name "$SECRET" --json
  password=$(json_get value <<<"$password" | json_get password)
  [[ -n $password ]] || fail "could not read the demo password for the check"
  [[ $out != *"$password"* ]] || fail "the Python example printed the secret value"
  state_set python yes
  ok "Python integration complete"
}

step_status() {
  local f tree step
  banner "Step 8 · Workflow status"
  explain "Where the workflow stands: the server, the token files on disk and the token tree as the admin sees it."
  if http_ok "$TESSERA_URL/readyz"; then
    ok "server $TESSERA_URL ready (pid $SERVER_PID, data in $(rel "$DATA_DIR"), log $(rel "$SERVER_LOG"))"
  else
    fail "server $TESSERA_URL is not ready"
  fi

  say "  steps:"
  for step in admin:2-admin-setup handoff:3-platform-hand-off agent:3-agent-run app:4-application-service \
    rotation:5-token-rotation hierarchy:6-hierarchy python:7-python; do
    if [[ $(state_get "${step%%:*}") == yes ]]; then
      printf '    %s✓%s %s\n' "$G" "$N" "${step#*:}"
    else
      printf '    · %s (not run)\n' "${step#*:}"
    fi
  done

  say "  token files:"
  for f in "$CLIENT_TOKENS" "$SERVICE_TOKEN"; do
    if [[ -f $f ]]; then
      printf '    %s  mode %s  %s\n' "$(rel "$f")" "$(file_mode "$f")" "$(masked "$(token_in "$f")")"
    else
      printf '    %s  (absent)\n' "$(rel "$f")"
    fi
  done
  if [[ -f $SERVICE_TOKEN ]]; then
    if tessera uid-list-children --uid-token "$(token_in "$SERVICE_TOKEN")" </dev/null >/dev/null 2>&1; then
      ok "the service token is valid"
    else
      fail "the service token is NOT valid"
    fi
  fi
  for f in "$CRON_FILE" "$AGENT_CONFIG" "$RENDER_DIR/database.env" "$ROTATION_LOG"; do
    if [[ -f $f ]]; then printf '    %s  mode %s\n' "$(rel "$f")" "$(file_mode "$f")"; fi
  done

  if [[ $(state_get admin) == yes ]]; then
    say "  token tree of $METHOD (admin view):"
    capture tree tessera uid-list-children --auth-method-name "$METHOD" --json
    # shellcheck disable=SC2016 # JavaScript template literals
    "$NODE" -e '
      const t = JSON.parse(process.argv[1]);
      let live = 0, revoked = 0, flagged = 0;
      const walk = (n) => { n.revoked ? revoked++ : live++; if (n.flagged) flagged++; (n.children || []).forEach(walk); };
      t.roots.forEach(walk);
      console.log(`${t.numberOfTokens} tokens: ${live} live, ${revoked} revoked, ${flagged} flagged; max depth ${t.maxDepth}`);
    ' "$tree" | indent
    run tessera uid-list-children --auth-method-name "$METHOD"
  else
    say "  no auth method yet: run step 2"
  fi
}

STEP_NAMES=([2]="Admin setup" [3]="Platform engineer deployment" [4]="Application service operations"
  [5]="Token rotation demo" [6]="Hierarchical token management" [7]="Python integration example"
  [8]="Show workflow status")
STEP_FNS=([2]=step_admin [3]=step_platform [4]=step_app [5]=step_rotation [6]=step_hierarchy
  [7]=step_python [8]=step_status)

# do_step N: runs step N and records its outcome.
do_step() {
  run_step "${STEP_FNS[$1]}"
  if ((STEP_RC == 0)); then
    say "${G}RESULT: step $1 (${STEP_NAMES[$1]}) passed${N}"
  else
    say "${R}RESULT: step $1 (${STEP_NAMES[$1]}) FAILED (exit $STEP_RC)${N}"
    FAILED_STEPS+=("$1")
  fi
}

workflow() {
  local n before=${#FAILED_STEPS[@]}
  banner "Complete three-persona workflow: admin → platform engineer → application service"
  explain "Every step in order: the admin sets up identity and policy, the platform engineer deploys the token, the service runs on its own, rotates, manages children and talks Python."
  for n in 2 3 4 5 6 7 8; do do_step "$n"; done
  if ((${#FAILED_STEPS[@]} > before)); then
    say "${R}${B}Workflow finished with failures in step(s): ${FAILED_STEPS[*]:before}${N}"
  else
    say "${G}${B}All steps passed: no static credential was needed anywhere.${N}"
  fi
}

menu() {
  cat <<EOF

${B}Tessera Universal Identity demo${N}  (server $TESSERA_URL)
  1) Complete three-persona workflow (recommended)
  2) Admin setup: UID auth method, role on /demo/*, secret $SECRET, bootstrap token
  3) Platform engineer deployment: token to the service, agent config, rotation cron template
  4) Application service operations: UID → session token, read the config, self-rotate
  5) Token rotation demo
  6) Hierarchical token management: child tokens, tree, revokeSelf vs revokeAll
  7) Python integration example
  8) Show workflow status
  9) Exit
EOF
  printf 'Choose 1-9: '
}

# ── main ────────────────────────────────────────────────────────────────────────────────────────

prepare_dirs
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TESSERA_CONFIG_DIR=$CLI_CONFIG_DIR
unset TESSERA_TOKEN TESSERA_PROFILE
say "Starting a throw-away Tessera server (data in $(rel "$DATA_DIR"))…"
start_server
ok "server ready at $TESSERA_URL (pid $SERVER_PID); it stops when this demo exits"

if ((ALL_MODE)); then
  workflow
  if ((${#FAILED_STEPS[@]})); then exit 1; fi
  exit 0
fi

while true; do
  menu
  if ! IFS= read -r choice; then
    say ''
    break
  fi
  choice=${choice//[[:space:]]/}
  case $choice in
    1) workflow ;;
    [2-8]) do_step "$choice" ;;
    9 | q | exit) break ;;
    '') ;;
    *) say "Please choose a number from 1 to 9." ;;
  esac
done
say "Stopping the demo server. Bye."
if ((${#FAILED_STEPS[@]})); then
  say "${R}Step(s) that failed in this session: ${FAILED_STEPS[*]}${N}"
  exit 1
fi
