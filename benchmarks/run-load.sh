#!/usr/bin/env bash
# Builds the benchmarks uber jar and runs the protocol load driver: the real runner process and a
# raw Unix-socket floor server, K = 1/32/128 connections, header-only and 4/64 KiB request bodies,
# interleaved repetitions. Prints a markdown table (also written to benchmarks/target/load.md).
#
#   benchmarks/run-load.sh                      # defaults: 20 s JIT warm-up per server, then 3 reps x (2 s warm-up + 3 s measured) per cell
#   REPS=5 MEASURE=5 benchmarks/run-load.sh     # longer, steadier
#   benchmarks/run-load.sh --conns 32 --bodies 0 --baseline before=/tmp/old-benchmarks.jar
#
# Extra arguments go to io.inferencepam.bench.runner.LoadDriver (see its javadoc). The machine this
# was tuned on has 2 noisy cores: read the min-max spread next to each median.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${SKIP_BUILD:-}" != "1" ]]; then
  # package, not install: a benchmark run must not replace the jars in ~/.m2 that other builds resolve
  mvn -B -ntp -q package -DskipTests -pl benchmarks -am
fi
exec java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.runner.LoadDriver \
  --reps "${REPS:-3}" --jvm-warmup "${JVM_WARMUP:-20}" --warmup "${WARMUP:-2}" --measure "${MEASURE:-3}" \
  --out benchmarks/target/load.md "$@"
