#!/usr/bin/env bash
# Re-run every measurement behind benchmarks/REPORT.md and rewrite it (about 3.5 h on 2 cores).
# Usage: bash benchmarks/reproduce.sh [results-folder]   (default: benchmarks/results-<date>)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || { python3 -m venv .venv && .venv/bin/pip install -q -e ".[test,benchmarks]"; }
R=${1:-benchmarks/results-$(date +%Y%m%d-%H%M)}
mkdir -p "$R"
run() { "$PY" benchmarks/run.py "$@"; }
# spopt side by side (single-service p-MCLP on synthetic cities); spopt at 50k x 2k needs ~30 min
run --suite synthetic_pmclp --methods spopt-cbc spopt-highs highs --time-limit 120 \
    --kill-after 5400 --results "$R/spopt.jsonl"
run --suite synthetic_pmclp --methods lpfirst highs+presolve --time-limit 60 --results "$R/spopt.jsonl"
run --suite synthetic_pmclp --only 2 --methods lpfirst --time-limit 600 --results "$R/spopt_long.jsonl"
# spopt + HiGHS left to finish at 50k x 2k: it proves the optimum in about 52 min
run --suite synthetic_pmclp --only 2 --methods spopt-highs --time-limit 7200 --kill-after 10800 \
    --results "$R/spopt_long.jsonl"
run --suite sjc --methods lpfirst highs ils10 spopt-cbc cbc ortools --time-limit 60 \
    --results "$R/sjc.jsonl"
run --suite bds --methods lpfirst highs --time-limit 60 --results "$R/bds.jsonl"
run --suite bds_generated --methods lpfirst --time-limit 120 --results "$R/bds_generated.jsonl"
run --suite bds_generated --only 0 1 --methods highs --time-limit 120 --results "$R/bds_generated.jsonl"
run --suite maximo --methods lpfirst --time-limit 60 --results "$R/maximo.jsonl"
run --suite maximo --methods ils10 heuristic --time-limit 10 --results "$R/maximo.jsonl"
run --suite maximo --only 0 5 6 11 12 17 18 23 --methods highs --time-limit 60 \
    --results "$R/maximo.jsonl"
run --suite synthetic --only 0 1 2 3 --methods highs lpfirst heuristic --time-limit 60 \
    --results "$R/synthetic.jsonl"
run --suite synthetic --only 4 5 --methods highs heuristic lpfirst --time-limit 120 --kill-after 1500 \
    --results "$R/synthetic.jsonl"
# SUMMARY.md is written by hand from the tables: check its figures against the new ones
"$PY" benchmarks/report.py "$R"/*.jsonl --intro benchmarks/SUMMARY.md --out benchmarks/REPORT.md
# Máximo beside the recorded CPLEX and AILS-PR trajectories (the intro is the report's own head)
sed '/^| instance /,$d' benchmarks/REPORT-maximo.md > "$R/maximo-intro.md"
"$PY" benchmarks/maximo_reference.py "$R/maximo.jsonl" --intro "$R/maximo-intro.md" \
    --out benchmarks/REPORT-maximo.md
