#!/usr/bin/env bash
# Load comparison in one run: plain YARP vs the main job as shipped (samples/Gateway, its default logging and
# OpenTelemetry included), all in front of the same upstream. The baseline is YARP as its getting-started runs it
# (WebApplication.CreateBuilder, default logging); YARP on a slim host with no logging is reported beside it. The
# upstream is Debian's nginx-light answering canned provider bodies (UPSTREAM=kestrel: the LoadHarness fake instead):
# it costs so little that the proxies, not the upstream, saturate the machine. With BASELINE_REV set (a git
# revision), the sample as it was at that revision runs beside it, so a change's effect is measured in the same run.
# Prints requests/s, p50, p99 and the proxy process's CPU time per request for each scenario, and throughput ratios.
# Usage: [BASELINE_REV=rev] [UPSTREAM=nginx|kestrel] benchmarks/load.sh [seconds-per-scenario=4] [connections=32] [rounds=15]
# p50/p99 are per-scenario medians over the rounds (wrk --latency); medians of p99 are indicative, not exact.
# Many short rounds rather than a few long ones: on a shared 2-core machine a slow spell then hits one round of
# every scenario instead of one scenario's whole measurement, and the median discards it.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-4}
connections=${2:-32}
rounds=${3:-15}
upstream_kind=${UPSTREAM:-nginx}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ "$upstream_kind" = nginx ] && ! command -v nginx >/dev/null && ! [ -x /usr/sbin/nginx ]; then
  apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null
fi
dotnet build benchmarks/LoadHarness -c Release -v q -nologo >/dev/null
dotnet build samples/Gateway -c Release -v q -nologo >/dev/null
harness=benchmarks/LoadHarness/bin/Release/net10.0/LoadHarness.dll
baseline_dir=""
if [ -n "${BASELINE_REV:-}" ]; then
  baseline_dir=$(mktemp -d)
  git worktree add -q --detach "$baseline_dir" "$BASELINE_REV"
  dotnet build "$baseline_dir/samples/Gateway" -c Release -v q -nologo >/dev/null
fi

pids=()
body=$(mktemp --suffix=.lua)
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  rm -f "$body"
  rm -rf "$nginx_dir"
  if [ -n "$baseline_dir" ]; then git worktree remove --force "$baseline_dir"; fi
}
trap cleanup EXIT

nginx_dir=$(mktemp -d)
if [ "$upstream_kind" = nginx ]; then
  # The same canned bodies as the LoadHarness upstream; one worker, no access log.
  openai='{"id":"chatcmpl-load","object":"chat.completion","created":1741570283,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}'
  anthropic='{"id":"msg_load","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}'
  cat > "$nginx_dir/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $nginx_dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $nginx_dir/body;
  proxy_temp_path $nginx_dir/proxy;
  fastcgi_temp_path $nginx_dir/fastcgi;
  uwsgi_temp_path $nginx_dir/uwsgi;
  scgi_temp_path $nginx_dir/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:9001;
    default_type application/json;
    location = /v1/chat/completions { return 200 '$openai'; }
    location = /v1/messages { return 200 '$anthropic'; }
  }
}
NGINX
  "$(command -v nginx || echo /usr/sbin/nginx)" -e "$nginx_dir/error.log" -p "$nginx_dir" -c "$nginx_dir/nginx.conf" >/dev/null 2>&1 & pids+=($!)
else
  dotnet "$harness" upstream --urls http://127.0.0.1:9001 >/dev/null 2>&1 & pids+=($!)
fi
# The baseline: YARP as its getting-started runs it (default host and logging providers, the sample's log levels); and
# for reference, YARP on a slim host with no logging at all.
dotnet "$harness" yarp --host default --urls http://127.0.0.1:9002 --upstream http://127.0.0.1:9001 >/dev/null 2>&1 & pids+=($!)
yarp_pid=$!
dotnet "$harness" yarp --urls http://127.0.0.1:9005 --upstream http://127.0.0.1:9001 >/dev/null 2>&1 & pids+=($!)
slim_pid=$!
# The shipped sample, pointed at the fake upstream: "default" passes through to its OpenAI API, "claude" (an alias in
# the sample's appsettings.json, read from its content root as `dotnet run` does) is translated to its Anthropic API.
# Its console log goes where a service's would.
sample() { # root port [extra arguments]
  local root=$1 port=$2
  shift 2
  OPENAI_API_KEY=load OPENAI_BASE_URL=http://127.0.0.1:9001/v1 ANTHROPIC_API_KEY=load ANTHROPIC_BASE_URL=http://127.0.0.1:9001 \
    dotnet "$root/samples/Gateway/bin/Release/net10.0/Gateway.dll" --contentRoot "$root/samples/Gateway" --urls "http://127.0.0.1:$port" "$@" >/dev/null 2>&1 &
  pids+=($!)
}
sample "$PWD" 9003
sample_pid=$!
# Governance on: every call takes a request, its tokens and a concurrency slot under its key's limits and reserves
# its worst case on its team's budget (limits far above the load, so nothing is refused), counted in memory.
governed=(--LlmGateway:RateLimits:Rules:0:Scope=Key --LlmGateway:RateLimits:Rules:0:Subject=* --LlmGateway:RateLimits:Rules:0:RequestsPerMinute=2000000000
  --LlmGateway:RateLimits:Rules:0:TokensPerMinute=4000000000000 --LlmGateway:RateLimits:Rules:0:MaxConcurrentRequests=100000
  --LlmGateway:Budgets:Rules:0:Scope=Team --LlmGateway:Budgets:Rules:0:Subject=demo --LlmGateway:Budgets:Rules:0:Limit=1000000000 --LlmGateway:Budgets:Rules:0:Period=Daily)
sample "$PWD" 9006 "${governed[@]}"
governed_pid=$!
names=("plain YARP (baseline)" "samples/Gateway passthrough" "samples/Gateway OpenAI -> Anthropic" "plain YARP, slim host, no logging" "samples/Gateway passthrough, budgets + rate limits")
urls=(http://127.0.0.1:9002 http://127.0.0.1:9003 http://127.0.0.1:9003 http://127.0.0.1:9005 http://127.0.0.1:9006)
models=(gpt-4o-mini default claude gpt-4o-mini default)
proxy_pids=("$yarp_pid" "$sample_pid" "$sample_pid" "$slim_pid" "$governed_pid")
ports=(9001 9002 9003 9005 9006)
# The same, counted in Redis (one Lua script to admit a call, two to settle it, pipelined on one connection), when
# redis-server is here.
if command -v redis-server >/dev/null; then
  redis-server --port 9007 --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & pids+=($!)
  sample "$PWD" 9008 "${governed[@]}" --LlmGateway:GovernanceStore:ConnectionString=127.0.0.1:9007
  names+=("samples/Gateway passthrough, budgets + rate limits in Redis")
  urls+=(http://127.0.0.1:9008)
  models+=(default)
  proxy_pids+=("$!")
  # Requests and tokens per minute only, in Redis with window leases of 1 %: most calls admitted from the slice.
  sample "$PWD" 9009 "${governed[@]:0:4}" --LlmGateway:GovernanceStore:ConnectionString=127.0.0.1:9007 --LlmGateway:GovernanceStore:WindowLease=0.01
  names+=("samples/Gateway passthrough, rate limits in Redis, leased")
  urls+=(http://127.0.0.1:9009)
  models+=(default)
  proxy_pids+=("$!")
  ports+=(9007 9008 9009)
fi
if [ -n "$baseline_dir" ]; then
  sample "$baseline_dir" 9004
  names+=("samples/Gateway passthrough @ $BASELINE_REV" "samples/Gateway OpenAI -> Anthropic @ $BASELINE_REV")
  urls+=(http://127.0.0.1:9004 http://127.0.0.1:9004)
  models+=(default claude)
  proxy_pids+=("$!" "$!")
  ports+=(9004)
fi
for port in "${ports[@]}"; do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

lua_for() {
  cat > "$body" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-llm-demo-change-me-0000000000"
wrk.body = '{"model":"$1","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}],"max_completion_tokens":64}'
LUA
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

measure() { # url model pid -> "rps p50 p99 cpu-us-per-request errors"
  lua_for "$2"
  local before; before=$(cpu_ticks "$3")
  local out; out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$body" "$1/v1/chat/completions")
  local after; after=$(cpu_ticks "$3")
  local requests; requests=$(awk '/requests in/ {print $1}' <<<"$out")
  printf '%s %s %s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
    "$(awk '$1=="99%" {print $2}' <<<"$out")" "$(awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')" \
    "$(awk '/Non-2xx/ {print $4} /Socket errors/ {print "socket-errors"}' <<<"$out" | tr '\n' ' ')"
}

count=${#names[@]}
echo "${rounds} rounds in rotating order, ${duration}s per scenario, ${connections} connections, $(nproc) cores, upstream: ${upstream_kind}; all processes on this machine"
# Warm-up long enough for tiered JIT to reach its final code in every process.
for i in $(seq 0 $((count - 1))); do lua_for "${models[$i]}"; wrk -t2 -c"$connections" -d12s -s "$body" "${urls[$i]}/v1/chat/completions" >/dev/null; done
results=$(mktemp)
for round in $(seq 0 $((rounds - 1))); do
  for k in $(seq 0 $((count - 1))); do
    i=$(( (k + round) % count ))
    echo "$i $(measure "${urls[$i]}" "${models[$i]}" "${proxy_pids[$i]}")" >> "$results"
  done
done

# Median of the rounds per scenario; the ratios compare medians measured in this same run.
to_ms() { awk '/us$/ { sub(/us$/, ""); print $1 / 1000; next } /ms$/ { sub(/ms$/, ""); print $1; next } /s$/ { sub(/s$/, ""); print $1 * 1000 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -a med
for i in $(seq 0 $((count - 1))); do
  med[$i]=$(awk -v i="$i" '$1 == i { print $2 }' "$results" | median)
  p50=$(awk -v i="$i" '$1 == i { print $3 }' "$results" | to_ms | median)
  p99=$(awk -v i="$i" '$1 == i { print $4 }' "$results" | to_ms | median)
  cpu=$(awk -v i="$i" '$1 == i { print $5 }' "$results" | median)
  errors=$(awk -v i="$i" '$1 == i && $6 != "" { print $6 }' "$results" | tr '\n' ' ')
  printf '%-52s %8.0f req/s (%.3f x YARP)   p50 %6sms   p99 %6sms   proxy CPU %6s us/request   %s\n' "${names[$i]}" "${med[$i]}" \
    "$(awk -v a="${med[$i]}" -v b="${med[0]}" 'BEGIN { print a / b }')" "$p50" "$p99" "$cpu" "${errors:+errors: $errors}"
done
echo "targets: passthrough >= 0.95 x YARP and proxy CPU <= YARP + 10 us/request; OpenAI -> Anthropic >= 0.90 x YARP"
rm -f "$results"
