#!/usr/bin/env bash
# Memory soak of samples/Gateway as shipped (issue 10): REQUESTS calls (default 100,000), each with a new bearer key,
# model name and system prompt, against a fake upstream, with the exact and semantic caches on. Prints the gateway's
# resident set and GC heap every 10,000 calls; fails if any call got a 5xx. Virtual keys are off so that every new
# key is served (the per-key structures are what grows).
#   benchmarks/soak.sh [requests] [gateway settings, e.g. --LlmGateway:Cache:LocalMaxBytes=20000000]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-100000}
shift || true
dotnet build benchmarks/LoadHarness -c Release -v q -nologo >/dev/null
dotnet build samples/Gateway -c Release -v q -nologo >/dev/null
harness=benchmarks/LoadHarness/bin/Release/net10.0/LoadHarness.dll
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
dotnet "$harness" upstream --urls http://127.0.0.1:9011 >/dev/null 2>&1 & pids+=($!)
OPENAI_API_KEY=soak OPENAI_BASE_URL=http://127.0.0.1:9011/v1 \
  dotnet samples/Gateway/bin/Release/net10.0/Gateway.dll --contentRoot "$PWD/samples/Gateway" --urls http://127.0.0.1:9013 \
  --LlmGateway:Cache:Mode=${CACHE_MODE:-Semantic} --LlmGateway:VirtualKeys:Enabled=false "$@" >/dev/null 2>&1 & pids+=($!)
gateway_pid=$!
for port in 9011 9013; do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done
dotnet "$harness" soak --target http://127.0.0.1:9013 --requests "$requests" --pid "$gateway_pid"
