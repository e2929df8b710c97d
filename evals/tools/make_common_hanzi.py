#!/usr/bin/env python3
"""Writes engine/core/src/common_hanzi.txt: the 3,500 most frequent Chinese
characters, weighted by word frequency in jieba's dictionary (the copy in the
jieba-rs crate). The output guard uses it to spot garbled Chinese: fluent text
draws nearly all its characters from this set; a small model writing a
language it barely knows does not.

usage: python3 evals/tools/make_common_hanzi.py [PATH/TO/dict.txt]
"""
import collections, glob, os, sys

N = 3500
paths = sys.argv[1:] or glob.glob(os.path.expanduser(
    "~/.cargo/registry/src/*/jieba-rs-*/src/data/dict.txt"))
if not paths:
    sys.exit("jieba-rs dict.txt not found; run `cargo fetch` first or pass its path")
freq = collections.Counter()
for line in open(paths[0], encoding="utf-8"):
    parts = line.split()
    if len(parts) < 2:
        continue
    word, count = parts[0], int(parts[1])
    for ch in word:
        if "\u4e00" <= ch <= "\u9fff":
            freq[ch] += count
chars = [c for c, _ in freq.most_common(N)]
out = os.path.join(os.path.dirname(__file__), "../../engine/core/src/common_hanzi.txt")
with open(out, "w", encoding="utf-8") as f:
    for i in range(0, len(chars), 50):
        f.write("".join(chars[i:i + 50]) + "\n")
print(f"wrote {len(chars)} characters to {os.path.normpath(out)}")
