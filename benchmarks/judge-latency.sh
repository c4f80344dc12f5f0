#!/usr/bin/env bash
# Judging stays off the request path: the shipped sample twice, each with an experiment over the same fake upstream —
# its judge off (SampleRate 0) in one, judging every answer in the other (SampleRate 1, the simulated judge, its queue
# and workers as shipped) — measured in alternating rounds of the same run at a paced load that leaves the machine
# idle part of the time (each connection waits pause-ms between calls): latency, not throughput, is the question, and
# a saturated machine would charge the judge's CPU to every call. Prints the median p50/p99 per instance and what the
# judge did. Usage: benchmarks/judge-latency.sh [seconds-per-round=5] [rounds=12] [connections=2] [pause-ms=2]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-5}
rounds=${2:-12}
connections=${3:-2}
pause=${4:-2}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
dotnet build benchmarks/LoadHarness -c Release -v q -nologo >/dev/null
dotnet build samples/Gateway -c Release -v q -nologo >/dev/null
pids=()
body=$(mktemp --suffix=.lua)
results=$(mktemp)
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -f "$body" "$results"' EXIT

dotnet benchmarks/LoadHarness/bin/Release/net10.0/LoadHarness.dll upstream --urls http://127.0.0.1:9101 >/dev/null 2>&1 & pids+=($!)
experiment=(--LlmGateway:Experiments:bench:Model=bench --LlmGateway:Experiments:bench:StickyBy=None
  --LlmGateway:Experiments:bench:Arms:a:Model=openai/gpt-4o-mini --LlmGateway:Experiments:bench:Arms:b:Model=openai/gpt-4o)
for rate in 0 1; do
  OPENAI_API_KEY=load OPENAI_BASE_URL=http://127.0.0.1:9101/v1 dotnet samples/Gateway/bin/Release/net10.0/Gateway.dll \
    --contentRoot "$PWD/samples/Gateway" --urls "http://127.0.0.1:$((9110 + rate))" "${experiment[@]}" --LlmGateway:Judge:SampleRate=$rate >/dev/null 2>&1 & pids+=($!)
done
for port in 9101 9110 9111; do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done
cat > "$body" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-llm-demo-change-me-0000000000"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"Which arm answers better?"}],"max_completion_tokens":64}'
function delay() return $pause end
LUA
run() { wrk -t1 -c"$connections" -d"$1" --latency -s "$body" "http://127.0.0.1:$2/v1/chat/completions"; }
for port in 9110 9111; do run 12s $port >/dev/null; done # tiered JIT's final code in both
for round in $(seq 0 $((rounds - 1))); do
  for k in 0 1; do
    rate=$(( (k + round) % 2 ))
    out=$(run "${duration}s" $((9110 + rate)))
    echo "$rate $(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1=="50%" {print $2}' <<<"$out") $(awk '$1=="99%" {print $2}' <<<"$out")" >> "$results"
  done
done

to_us() { awk '/us$/ { sub(/us$/, ""); print $1; next } /ms$/ { sub(/ms$/, ""); print $1 * 1000; next } /s$/ { sub(/s$/, ""); print $1 * 1e6 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "${rounds} rounds, ${duration}s each, ${connections} connections pausing ${pause} ms between calls, $(nproc) cores"
printf '%-32s %10s %10s %10s\n' "instance" "req/s" "p50 µs" "p99 µs"
for rate in 0 1; do
  p50[$rate]=$(awk -v r=$rate '$1 == r { print $3 }' "$results" | to_us | median)
  printf '%-32s %10s %10s %10s\n' "judge $([ $rate = 1 ] && echo 'on, every answer' || echo off)" \
    "$(awk -v r=$rate '$1 == r { print $2 }' "$results" | median)" "${p50[$rate]}" "$(awk -v r=$rate '$1 == r { print $4 }' "$results" | to_us | median)"
done
awk -v on="${p50[1]}" -v off="${p50[0]}" 'BEGIN { printf "p50 judge on / judge off: %.3f\n", on / off }'
curl -s http://127.0.0.1:9111/metrics | grep -E '^llm_gateway_judge_(samples|judgements)_total' | sed -E 's/\{.*outcome="([a-z]+)".*\} / \1: /'
