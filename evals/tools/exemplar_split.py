#!/usr/bin/env python3
"""How well exemplar similarity alone generalises, measured inside the dev
half only: exemplars from one half of dev (alternating within each language
and level), evaluated on the other half, with the rules switched off
(exemplar_weight 1). Writes temporary plugin directories that override the
built-in plugins' configuration and runs `sparring eval` on them.

Usage (after `sparring plugin build` and `sparring models pull multilingual-e5-small`):
    python3 evals/tools/exemplar_split.py [--sparring PATH] [--sharpness 10 30 60 100]
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIMS = ["empathy", "expectation", "objection"]

parser = argparse.ArgumentParser()
parser.add_argument("--sparring", default="sparring")
parser.add_argument("--sharpness", type=float, nargs="+", default=[10, 30, 60, 100])
args = parser.parse_args()

exemplars, held = {}, []
for d in DIMS:
    cells = {}
    for line in open(ROOT / f"evals/scoring/{d}.jsonl"):
        item = json.loads(line)
        if item["split"] == "dev":
            cells.setdefault((item["language"], item["level"]), []).append(item)
    exemplars[d] = []
    for cell in cells.values():
        for k, item in enumerate(cell):
            (exemplars[d] if k % 2 == 0 else held).append(item)

for sharpness in args.sharpness:
    with tempfile.TemporaryDirectory() as tmp:
        base = pathlib.Path(tmp)
        with open(base / "held.jsonl", "w") as f:
            for item in held:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        for d in DIMS:
            pd = base / d
            pd.mkdir()
            shutil.copy(ROOT / f"plugins/{d}/{d}.wasm", pd)
            with open(pd / "plugin.toml", "w") as f:
                f.write(f'id = "{d}"\nversion = "0.1.0"\nwasm = "{d}.wasm"\n[config]\n')
                f.write(f"exemplar_weight = 1.0\nexemplar_sharpness = {sharpness}\n")
                for e in exemplars[d]:
                    f.write(f"[[config.exemplars]]\nlevel = {e['level']}\ntext = {json.dumps(e['reply'], ensure_ascii=False)}\n")
        out = subprocess.run([args.sparring, "eval", str(base / "held.jsonl"), "--plugins", str(base)],
                             capture_output=True, text=True, check=True).stdout
        print(f"sharpness {sharpness:g}")
        print("\n".join(l for l in out.splitlines() if " all " in l or l.startswith("dimension")))
