#!/usr/bin/env bash
# Fuzz the REST API from its own OpenAPI schema with schemathesis, as a teacher, a support agent
# and a unit administrator, against a real server on PostgreSQL and Redis (issue 10).
#
#   bash bench/schemathesis_run.sh [extra schemathesis options, e.g. --max-examples 20]
#
# Needs schemathesis in the venv (.venv/bin/pip install schemathesis; not a project dependency:
# no test imports it). Uses a database and a Redis db of its own, never CI's: SCHEMATHESIS_DB
# (default hc_server), SCHEMATHESIS_REDIS (default redis://127.0.0.1:6379/4), SCHEMATHESIS_PORT
# (default 8031). The database is dropped and created again, migrated, loaded with the division
# tree and the demo data; the server is stopped on exit. Reports go to bench/out/schemathesis/.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
ST=.venv/bin/schemathesis
DB=${SCHEMATHESIS_DB:-hc_server}
PORT=${SCHEMATHESIS_PORT:-8031}
PGHOST=${PGHOST:-127.0.0.1}
PGUSER=${PGUSER:-postgres}
OUT=bench/out/schemathesis
BASE=http://127.0.0.1:$PORT

case "$DB" in test | test_* | postgres | helpdesk) echo "refusing to use database $DB" >&2; exit 2 ;; esac
[ -x "$ST" ] || { echo "schemathesis is not installed: .venv/bin/pip install schemathesis" >&2; exit 2; }

export DATABASE_URL=postgres://$PGUSER@$PGHOST:5432/$DB
export REDIS_URL=${SCHEMATHESIS_REDIS:-redis://127.0.0.1:6379/4}
# The settings production runs with, minus what needs TLS: no debug pages, real error handlers.
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-helpdesk.settings.base}
export DJANGO_DEBUG=0
export HELPDESK_VAR_DIR=${HELPDESK_VAR_DIR:-$PWD/var/schemathesis}
mkdir -p "$OUT" "$HELPDESK_VAR_DIR"
# gunicorn appends to its access log: start it empty, so that its count is this run's.
: > "$OUT/access.log"

# A fresh database every run: the fuzzer deactivates accounts, resets passwords and changes roles,
# and a second run must start from the same demo data.
dropdb -h "$PGHOST" -U "$PGUSER" --if-exists "$DB"
createdb -h "$PGHOST" -U "$PGUSER" "$DB"
$PY manage.py migrate --no-input -v 0
$PY manage.py load_divisions > /dev/null
# The demo password is public; --force because DEBUG is off. The database is this script's own.
$PY manage.py seed_demo --force > /dev/null

# gunicorn's sync workers, as the HTTP side runs in production (README: Docker). Without a limit
# on the request line: the fuzzer's longest query strings (~5 kB) otherwise get gunicorn's own 414
# page, which no operation of the API answers (in production nginx sets that limit).
.venv/bin/gunicorn helpdesk.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --timeout 60 \
  --limit-request-line 0 \
  --access-logfile "$OUT/access.log" --error-logfile "$OUT/server.log" --capture-output &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fs "$BASE/api/schema/?format=json" -o "$OUT/schema.json" && break; sleep 1; done

token() {
  curl -fsS -X POST "$BASE/api/v1/auth/token/" -H 'Content-Type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"Demo@2026\"}" | $PY -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
# All three before any run: the administrator's run may deactivate the others or reset their passwords.
declare -A TOKENS
for account in teacher_zhang hd_agent hd_admin; do TOKENS[$account]=$(token "$account"); done

status=0
# The administrator last: its run may deactivate or reset the other accounts, which ends their tokens.
for account in teacher_zhang hd_agent hd_admin; do
  echo "=== $account"
  # Signing out (DELETE auth/token/) and changing one's own password end the token the run uses:
  # everything after would be a 401.
  $ST run "$OUT/schema.json" --url "$BASE" \
    --header "Authorization: Token ${TOKENS[$account]}" \
    --exclude-operation-id auth_token_destroy \
    --exclude-operation-id me_password_create \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection \
    --workers 2 --seed 20261205 \
    --report junit,ndjson --report-dir "$OUT" \
    --report-junit-path "$OUT/$account.junit.xml" --report-ndjson-path "$OUT/$account.ndjson" \
    "$@" 2>&1 | tee "$OUT/$account.log" || status=1
done
echo "requests: $(grep -c schemathesis "$OUT/access.log"), 5xx answers: $(grep -c '" 5[0-9][0-9] ' "$OUT/access.log")" || true
exit $status
