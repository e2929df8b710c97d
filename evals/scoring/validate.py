#!/usr/bin/env python3
"""Check the scorer ground-truth datasets and print their counts.

    python3 evals/scoring/validate.py            # the three files next to this script
    python3 evals/scoring/validate.py FILE...    # specific files

Checks: JSON schema (exact field set and value domains), id format and uniqueness,
history shape (1-4 turns, ending with the customer), reply language against the item's
`language` (share of CJK characters), reply length, duplicate and near-duplicate replies
within a file, level balance, and the dev/test split (exactly half of every
(language, level) cell, alternating in id order). Prints the counts per (dimension,
language, level, split) and the mean reply length per cell. Exits 1 on any error.
Standard library only.
"""

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

FIELDS = {
    "id", "dimension", "language", "scenario", "persona_summary", "history",
    "reply", "level", "split", "rationale",
}
DIMENSIONS = {"empathy": "emp", "expectation": "exp", "objection": "obj"}
LANGUAGES = ("zh", "en")
SCENARIOS = {"inbound", "outbound", "telesales", "complaint"}
SPEAKERS = {"customer", "agent"}
LEVELS = (0, 1, 2)
SPLITS = ("dev", "test")
MIN_ITEMS = 96
# Reply length bounds: Chinese in non-space characters, English in words.
ZH_CHARS = (8, 120)
EN_WORDS = (5, 80)
# Share of CJK among CJK + Latin letters: a zh text must reach ZH_MIN, an en text stay under EN_MAX.
ZH_MIN, EN_MAX = 0.6, 0.15
LEVEL_SHARE = (0.25, 0.42)  # each level's share within one (file, language)
NEAR_DUP = 0.5  # Jaccard similarity of character trigrams (zh) / word bigrams (en)

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")


def cjk_ratio(text):
    c, l = len(CJK.findall(text)), len(LATIN.findall(text))
    return c / (c + l) if c + l else 0.0


def language_ok(text, lang):
    r = cjk_ratio(text)
    return r >= ZH_MIN if lang == "zh" else r <= EN_MAX


def reply_length(text, lang):
    return len(re.sub(r"\s", "", text)) if lang == "zh" else len(text.split())


def shingles(text, lang):
    if lang == "zh":
        t = re.sub(r"[\s\W]", "", text)
        return {t[i:i + 3] for i in range(max(1, len(t) - 2))}
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(words[i:i + 2]) for i in range(max(1, len(words) - 1))}


def jaccard(a, b):
    return len(a & b) / len(a | b) if a | b else 0.0


def check_item(obj, where, errors):
    """Schema checks for one item; returns True when the item is usable for counting."""
    if not isinstance(obj, dict):
        errors.append(f"{where}: not a JSON object")
        return False
    keys = set(obj)
    if keys != FIELDS:
        errors.append(f"{where}: fields differ: missing {sorted(FIELDS - keys)}, extra {sorted(keys - FIELDS)}")
        return False
    ok = True

    def bad(msg):
        nonlocal ok
        errors.append(f"{where} ({obj.get('id')}): {msg}")
        ok = False

    dim, lang = obj["dimension"], obj["language"]
    if dim not in DIMENSIONS:
        bad(f"dimension {dim!r}")
    if lang not in LANGUAGES:
        bad(f"language {lang!r}")
    if not ok:
        return False
    if not isinstance(obj["id"], str) or not re.fullmatch(rf"{DIMENSIONS[dim]}-{lang}-\d{{3}}", obj["id"]):
        bad(f"id must look like {DIMENSIONS[dim]}-{lang}-NNN")
    if obj["scenario"] not in SCENARIOS:
        bad(f"scenario {obj['scenario']!r}")
    if type(obj["level"]) is not int or obj["level"] not in LEVELS:
        bad(f"level {obj['level']!r}")
    if obj["split"] not in SPLITS:
        bad(f"split {obj['split']!r}")
    for f in ("persona_summary", "reply", "rationale"):
        if not isinstance(obj[f], str) or not obj[f].strip():
            bad(f"{f} must be a non-empty string")
    if not ok:
        return False

    hist = obj["history"]
    if not isinstance(hist, list) or not 1 <= len(hist) <= 4:
        bad("history must have 1-4 turns")
    else:
        for i, turn in enumerate(hist):
            if not isinstance(turn, dict) or set(turn) != {"speaker", "text"}:
                bad(f"history[{i}] must be {{speaker, text}}")
            elif turn["speaker"] not in SPEAKERS or not isinstance(turn["text"], str) or not turn["text"].strip():
                bad(f"history[{i}] has a bad speaker or empty text")
            elif not language_ok(turn["text"], lang):
                bad(f"history[{i}] is not in {lang} (CJK ratio {cjk_ratio(turn['text']):.2f})")
        if ok and hist[-1]["speaker"] != "customer":
            bad("history must end with a customer turn")

    reply = obj["reply"]
    if not language_ok(reply, lang):
        bad(f"reply is not in {lang} (CJK ratio {cjk_ratio(reply):.2f})")
    n = reply_length(reply, lang)
    lo, hi = ZH_CHARS if lang == "zh" else EN_WORDS
    if not lo <= n <= hi:
        unit = "characters" if lang == "zh" else "words"
        bad(f"reply has {n} {unit}, outside {lo}-{hi}")
    if cjk_ratio(obj["rationale"]) > 0.3:
        bad("rationale must be written in English")
    if len(obj["rationale"]) > 300:
        bad("rationale longer than 300 characters; keep it to one short sentence")
    return ok


def check_file(path, errors, warnings):
    items, ids = [], set()
    expected_dim = path.stem
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            where = f"{path.name}:{lineno}"
            if not line.strip():
                errors.append(f"{where}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{where}: invalid JSON: {e}")
                continue
            if not check_item(obj, where, errors):
                continue
            if obj["dimension"] != expected_dim:
                errors.append(f"{where}: dimension {obj['dimension']!r} in {path.name}")
            if obj["id"] in ids:
                errors.append(f"{where}: duplicate id {obj['id']}")
            ids.add(obj["id"])
            items.append(obj)

    name = path.name
    if len(items) < MIN_ITEMS:
        errors.append(f"{name}: {len(items)} valid items, need at least {MIN_ITEMS}")
    by_lang = Counter(o["language"] for o in items)
    if by_lang["zh"] != by_lang["en"]:
        errors.append(f"{name}: {by_lang['zh']} zh vs {by_lang['en']} en items; should be half each")

    for lang in LANGUAGES:
        group = [o for o in items if o["language"] == lang]
        if not group:
            continue
        levels = Counter(o["level"] for o in group)
        for lv in LEVELS:
            share = levels[lv] / len(group)
            if not LEVEL_SHARE[0] <= share <= LEVEL_SHARE[1]:
                errors.append(f"{name}: {lang} level {lv} is {share:.0%} of items, want about a third")
        # Split: exactly half of each (language, level) cell, alternating dev/test in id order.
        for lv in LEVELS:
            cell = sorted((o for o in group if o["level"] == lv), key=lambda o: o["id"])
            splits = [o["split"] for o in cell]
            if splits.count("dev") != splits.count("test"):
                errors.append(f"{name}: {lang}/level {lv}: {splits.count('dev')} dev vs {splits.count('test')} test")
            for i, (o, s) in enumerate(zip(cell, splits)):
                if s != SPLITS[i % 2]:
                    errors.append(f"{name}: {o['id']} should be {SPLITS[i % 2]} (splits alternate within {lang}/level {lv})")
                    break

    # Replies: no exact duplicates, no near-duplicates (the same template with word swaps).
    seen = {}
    for o in items:
        key = re.sub(r"\s+", " ", o["reply"].strip().lower())
        if key in seen:
            errors.append(f"{name}: {o['id']} repeats the reply of {seen[key]}")
        seen.setdefault(key, o["id"])
    sh = [(o["id"], o["language"], shingles(o["reply"], o["language"])) for o in items]
    for i in range(len(sh)):
        for j in range(i + 1, len(sh)):
            if sh[i][1] == sh[j][1] and items[i]["reply"] != items[j]["reply"]:
                sim = jaccard(sh[i][2], sh[j][2])
                if sim >= NEAR_DUP:
                    errors.append(f"{name}: {sh[i][0]} and {sh[j][0]} are near-duplicates (similarity {sim:.2f})")

    scen = Counter((o["language"], o["scenario"]) for o in items)
    warnings.extend(
        f"{name}: {lang} has no {s!r} items" for lang in LANGUAGES for s in SCENARIOS
        if expected_dim != "objection" and s != "telesales" and scen[(lang, s)] == 0
    )
    return items


def print_table(items):
    counts = defaultdict(Counter)
    lengths = defaultdict(list)
    for o in items:
        key = (o["dimension"], o["language"], o["level"])
        counts[key][o["split"]] += 1
        lengths[key].append(reply_length(o["reply"], o["language"]))
    print(f"{'dimension':<12}{'lang':<6}{'level':>5}{'dev':>6}{'test':>6}{'total':>7}   mean reply length")
    for dim in DIMENSIONS:
        for lang in LANGUAGES:
            for lv in LEVELS:
                c = counts.get((dim, lang, lv))
                if not c:
                    continue
                ls = lengths[(dim, lang, lv)]
                unit = "chars" if lang == "zh" else "words"
                print(f"{dim:<12}{lang:<6}{lv:>5}{c['dev']:>6}{c['test']:>6}{c['dev'] + c['test']:>7}"
                      f"   {sum(ls) / len(ls):5.1f} {unit} ({min(ls)}-{max(ls)})")
    total = Counter(o["split"] for o in items)
    print(f"{'all':<12}{'':<6}{'':>5}{total['dev']:>6}{total['test']:>6}{len(items):>7}")
    print()
    scen = Counter((o["dimension"], o["scenario"]) for o in items)
    print("scenarios: " + "; ".join(
        f"{dim} " + ", ".join(f"{s} {scen[(dim, s)]}" for s in sorted(SCENARIOS) if scen[(dim, s)])
        for dim in DIMENSIONS if any(scen[(dim, s)] for s in SCENARIOS)))


def main(argv):
    here = Path(__file__).resolve().parent
    paths = [Path(a) for a in argv] or [here / f"{d}.jsonl" for d in DIMENSIONS]
    errors, warnings, items = [], [], []
    for p in paths:
        if not p.exists():
            errors.append(f"{p}: missing")
            continue
        items.extend(check_file(p, errors, warnings))
    print_table(items)
    for w in warnings:
        print(f"warning: {w}")
    if errors:
        print(f"\n{len(errors)} error(s):", file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
        return 1
    print(f"\nOK: {len(items)} items in {len(paths)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
