#!/usr/bin/env python3
"""Spearman of reply length with the human labels on the test half of
evals/scoring: the baseline a scorer must beat (characters for Chinese,
words x 2.5 for English). Usage: python3 evals/tools/length_baseline.py"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in order[i:j + 1]:
            r[k] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    n = len(x)
    mx, my = sum(rx) / n, sum(ry) / n
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return num / den


for dim in ["empathy", "expectation", "objection"]:
    items = [json.loads(l) for l in open(ROOT / f"evals/scoring/{dim}.jsonl")]
    test = [i for i in items if i["split"] == "test"]
    length = [len(i["reply"]) if i["language"] == "zh" else len(i["reply"].split()) * 2.5 for i in test]
    print(f"{dim:<12} {spearman(length, [i['level'] for i in test]):.3f}")
