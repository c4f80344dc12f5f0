#!/usr/bin/env bash
# Fault soak of samples/Gateway as shipped (issue 10): SECONDS (default 600) at RATE calls a second (default 40), half
# of them cache hits and half new prompts to a fake upstream that answers 1 in 40 with a 429, 1 in 40 with a 500 and
# hangs 1 in 200 for 30 s, through a group of two deployments (fallback, one retry); the ledger is a private PostgreSQL
# that is stopped for the middle three minutes. At the end the gateway is stopped gracefully and its ledger rows are
# counted against the calls answered. Prints memory every 30 s, answers by status, and the cache hits' latency before,
# during and after the outage. Virtual keys are off: the callers present a thousand made-up keys.
#   benchmarks/fault-soak.sh [seconds] [rate]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
rate=${2:-40}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_dir=$(mktemp -d /tmp/llm-fault-soak.XXXXXX)
pg_port=5499
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres:postgres "$pg_dir"
as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --no-sync --locale=C >/dev/null
pg_start="$(declare -f as_postgres); as_postgres $pg_bin/pg_ctl -D $pg_dir/data -l $pg_dir/server.log -w -o '-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1' start >/dev/null"
pg_stop="$(declare -f as_postgres); as_postgres $pg_bin/pg_ctl -D $pg_dir/data -m fast -w stop >/dev/null"
bash -c "$pg_start"

dotnet build benchmarks/LoadHarness -c Release -v q -nologo >/dev/null
dotnet build samples/Gateway -c Release -v q -nologo >/dev/null
harness=benchmarks/LoadHarness/bin/Release/net10.0/LoadHarness.dll
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; bash -c "$pg_stop" 2>/dev/null || true; rm -rf "$pg_dir"' EXIT
dotnet "$harness" upstream --urls http://127.0.0.1:9031 --faults true >/dev/null 2>&1 & pids+=($!)
group=LlmGateway:Groups:soak
OPENAI_API_KEY=soak OPENAI_BASE_URL=http://127.0.0.1:9031/v1 \
  dotnet samples/Gateway/bin/Release/net10.0/Gateway.dll --contentRoot "$PWD/samples/Gateway" --urls http://127.0.0.1:9033 \
  --LlmGateway:Cache:Mode=Exact --LlmGateway:FirstTokenTimeout=00:00:05 --LlmGateway:VirtualKeys:Enabled=false \
  --LlmGateway:Ledger:ConnectionString="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres" \
  --$group:Deployments:0:Provider=openai --$group:Deployments:0:Model=gpt-4o-mini \
  --$group:Deployments:1:Provider=openai --$group:Deployments:1:Model=gpt-4o >/dev/null 2>&1 & pids+=($!)
gateway_pid=$!
for port in 9031 9033; do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done
third=$((seconds * 3 / 10))
dotnet "$harness" faults --target http://127.0.0.1:9033 --seconds "$seconds" --rate "$rate" --pid "$gateway_pid" \
  --outage-from "$third" --outage-to "$((third * 2))" --stop-command "$pg_stop" --start-command "$pg_start" | tee "$pg_dir/client.txt"
kill -TERM "$gateway_pid"
while kill -0 "$gateway_pid" 2>/dev/null; do sleep 0.2; done
answered=$(sed -n 's/^answered: //p' "$pg_dir/client.txt")
rows=$(psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -tAc "select count(*) from llm_call_records")
echo "ledger rows after a graceful stop: $rows of $answered answered calls (lost: $((answered - rows)))"
