#!/usr/bin/env bash
# Runs the runner's JMH benchmarks with -prof gc (short config; pass JMH options to override):
#   DecodeBenchmark      G2: bytes allocated per 64 KiB ExtraInfo body decode (gc.alloc.rate.norm) vs one plain copy
#   ConfLookupBenchmark  G13: conf-token lookup ns/op vs ConcurrentHashMap and the previous Caffeine store
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${SKIP_BUILD:-}" != "1" ]]; then
  mvn -B -ntp -q install -DskipTests -pl plugin-runner,plugins,tests-e2e,benchmarks -am
fi
exec java -jar benchmarks/target/benchmarks.jar 'io.inferencepam.bench.runner.*' \
  -prof gc -f 1 -wi 2 -i 3 -w 1s -r 1s -rf json -rff benchmarks/target/jmh-runner.json "$@"
