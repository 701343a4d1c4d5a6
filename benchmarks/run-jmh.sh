#!/usr/bin/env bash
# Runs the runner's JMH benchmarks with -prof gc (short config; pass JMH options to override):
#   DecodeBenchmark      G2: bytes allocated per 64 KiB ExtraInfo body decode (gc.alloc.rate.norm) vs one plain copy
#   RequestDecodeBenchmark  per-call HTTP_REQ_CALL decode vs the generated FlatBuffers accessors
#   ConfLookupBenchmark  G13: conf-token lookup ns/op vs ConcurrentHashMap and the previous Caffeine store
#   MetricsBenchmark     a labelled counter increment vs the previous label-text implementation
# If another JMH runs on the machine, JAVA_OPTS=-Djmh.ignoreLock=true lets this one run anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${SKIP_BUILD:-}" != "1" ]]; then
  # package, not install: a benchmark run must not replace the jars in ~/.m2 that other builds resolve
  mvn -B -ntp -q package -DskipTests -pl benchmarks -am
fi
exec java ${JAVA_OPTS:-} -jar benchmarks/target/benchmarks.jar 'io.inferencepam.bench.runner.*' \
  -prof gc -f 1 -wi 2 -i 3 -w 1s -r 1s -rf json -rff benchmarks/target/jmh-runner.json "$@"
