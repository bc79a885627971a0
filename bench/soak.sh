#!/usr/bin/env bash
# bench/soak.sh runs the long soak (bench/soak): 10,000 clients chatting in
# rooms for 30 minutes while clients come and go and 1% send bad input.
# Sizes come from the environment: SOAK_DURATION (30m here), SOAK_CLIENTS,
# SOAK_RATE, SOAK_CHURN (see bench/soak/soak_test.go). The log, with a
# sample of the server's RSS, open files and goroutines every 2 s, goes to
# bench/results/soak-<date>.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${SOAK_DURATION:=30m}"
export SOAK_DURATION
mkdir -p bench/results
log="bench/results/soak-$(date -u +%Y-%m-%d-%H%M%S).log"
echo "bench/soak.sh: SOAK_DURATION=$SOAK_DURATION, log in $log"
go test -count=1 -v -timeout 2h -run TestSoak ./bench/soak/ 2>&1 | tee "$log"
