#!/usr/bin/env python3
"""Per-model time per customer line and guard rejections by reason, from the
JSON of `sparring persona fidelity --json` (evals/results/persona-fidelity.md).

usage: sparring persona fidelity --model gemma3-270m --model smollm2-135m-instruct --json > runs.json
       python3 evals/tools/fidelity_stats.py runs.json
"""
import collections, json, statistics, sys

for model in json.load(open(sys.argv[1])):
    per_line, rejections = [], collections.Counter()
    for run in model["runs"]:
        report = run["report"]
        for reason, n in report["voice"]["rejections"].items():
            rejections[reason] += n
        for turn in report["turns"]:
            candidates = turn["customer"].get("candidates", [])
            if candidates:
                per_line.append(sum(c["ms"] for c in candidates))
    per_line.sort()
    p = lambda q: per_line[min(len(per_line) - 1, int(q * len(per_line)))] / 1000
    print(f"{model['model']}: {len(per_line)} lines asked of the model, "
          f"time per line p50 {statistics.median(per_line) / 1000:.1f} s, p90 {p(0.9):.1f} s; "
          f"rejections {dict(rejections)}")
