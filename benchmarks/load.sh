#!/usr/bin/env bash
# Load comparison in one run: plain YARP vs the main job as shipped (samples/Gateway, its default logging and
# OpenTelemetry included), both in front of the same local fake upstream.
# Prints requests/s, p50, p99 and the proxy process's CPU time per request for each scenario, and each gateway
# scenario's throughput as a ratio of YARP's.
# Usage: benchmarks/load.sh [seconds-per-scenario=10] [connections=32] [rounds=3]
# p50/p99 are per-scenario medians over the rounds (wrk --latency); medians of p99 are indicative, not exact.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-32}
rounds=${3:-3}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
dotnet build benchmarks/LoadHarness -c Release -v q -nologo >/dev/null
dotnet build samples/Gateway -c Release -v q -nologo >/dev/null
harness=benchmarks/LoadHarness/bin/Release/net10.0/LoadHarness.dll

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -f "$body_openai"; }
trap cleanup EXIT
start() { dotnet "$harness" "$1" --urls "$2" --upstream http://127.0.0.1:9001 >/dev/null 2>&1 & pids+=($!); }
start upstream http://127.0.0.1:9001
start yarp http://127.0.0.1:9002
# The shipped sample, pointed at the fake upstream: "default" passes through to its OpenAI API, "claude" (an alias in
# the sample's appsettings.json) is translated to its Anthropic API. Its console log goes where a service's would.
OPENAI_API_KEY=load OPENAI_BASE_URL=http://127.0.0.1:9001/v1 ANTHROPIC_API_KEY=load ANTHROPIC_BASE_URL=http://127.0.0.1:9001 \
  dotnet samples/Gateway/bin/Release/net10.0/Gateway.dll --urls http://127.0.0.1:9003 >/dev/null 2>&1 & pids+=($!)
for port in 9001 9002 9003; do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

body_openai=$(mktemp --suffix=.lua)
lua_for() {
  cat > "$body_openai" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer caller"
wrk.body = '{"model":"$1","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}],"max_completion_tokens":64}'
LUA
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

measure() { # url model pid -> "rps p50 p99 cpu-us-per-request errors"
  lua_for "$2"
  local before; before=$(cpu_ticks "$3")
  local out; out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$body_openai" "$1")
  local after; after=$(cpu_ticks "$3")
  local requests; requests=$(awk '/requests in/ {print $1}' <<<"$out")
  printf '%s %s %s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
    "$(awk '$1=="99%" {print $2}' <<<"$out")" "$(awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')" \
    "$(awk '/Non-2xx/ {print $4} /Socket errors/ {print "socket-errors"}' <<<"$out" | tr '\n' ' ')"
}

names=("plain YARP (baseline)" "samples/Gateway OpenAI -> OpenAI (passthrough)" "samples/Gateway OpenAI -> Anthropic")
urls=(http://127.0.0.1:9002/v1/chat/completions http://127.0.0.1:9003/v1/chat/completions http://127.0.0.1:9003/v1/chat/completions)
models=(gpt-4o-mini default claude)
proxy_pids=("${pids[1]}" "${pids[2]}" "${pids[2]}")

echo "${rounds} rounds in rotating order, ${duration}s per scenario, ${connections} connections, $(nproc) cores; all processes on this machine"
# Warm-up long enough for tiered JIT to reach its final code in every process.
for i in 0 1 2; do lua_for "${models[$i]}"; wrk -t2 -c"$connections" -d12s -s "$body_openai" "${urls[$i]}" >/dev/null; done
results=$(mktemp)
for round in $(seq 0 $((rounds - 1))); do
  for k in 0 1 2; do
    i=$(( (k + round) % 3 ))
    echo "$i $(measure "${urls[$i]}" "${models[$i]}" "${proxy_pids[$i]}")" >> "$results"
  done
done

# Median of the rounds per scenario; the ratio compares medians measured in this same run.
to_ms() { awk '/us$/ { sub(/us$/, ""); print $1 / 1000; next } /ms$/ { sub(/ms$/, ""); print $1; next } /s$/ { sub(/s$/, ""); print $1 * 1000 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -a med
for i in 0 1 2; do
  med[$i]=$(awk -v i="$i" '$1 == i { print $2 }' "$results" | median)
  p50=$(awk -v i="$i" '$1 == i { print $3 }' "$results" | to_ms | median)
  p99=$(awk -v i="$i" '$1 == i { print $4 }' "$results" | to_ms | median)
  cpu=$(awk -v i="$i" '$1 == i { print $5 }' "$results" | median)
  errors=$(awk -v i="$i" '$1 == i && $6 != "" { print $6 }' "$results" | tr '\n' ' ')
  printf '%-40s %10.0f req/s   p50 %6sms   p99 %6sms   proxy CPU %6s us/request   %s\n' "${names[$i]}" "${med[$i]}" "$p50" "$p99" "$cpu" "${errors:+errors: $errors}"
done
awk -v b="${med[0]}" -v p="${med[1]}" -v t="${med[2]}" 'BEGIN {
  printf "throughput ratio vs YARP: passthrough %.3f (target >= 0.90), OpenAI->Anthropic %.3f (target >= 0.75)\n", p / b, t / b }'
rm -f "$results"
