#!/usr/bin/env python3
"""Regenerate engine/llm/tests/fixtures/tokenizer_reference.json from llama.cpp.

Runs llama.cpp's `llama-tokenize` on a fixed list of strings for each model and
records the token ids it prints.  Nothing is downloaded and nothing is
committed; the only file written is the fixture (path given by --out).

Each text is written byte-exactly (UTF-8, no added newline) to a temporary
file and passed with `-f`; `--no-escape` keeps llama-tokenize from turning
backslash sequences into control characters, `--no-bos` suppresses BOS, and
`--no-parse-special` is passed for every case except the ones marked
parse_special.

Usage:
  python3 evals/tools/make_tokenizer_fixture.py \
      --llama-tokenize /path/to/build/bin/llama-tokenize \
      --smollm2 /path/to/SmolLM2-135M-Instruct.Q4_1.gguf \
      --gemma /path/to/gemma-3-270m.gguf \
      [--out engine/llm/tests/fixtures/tokenizer_reference.json]
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

EXPECTED_SHA256 = {
    "smollm2-135m-instruct": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    "gemma3-270m": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
}

# Tokenized with special-token parsing OFF, for every model.
CASES = [
    # --- Chinese (simplified), call-center style
    "您好，我要投诉！你们的宽带已经断了三天了。",
    "我想申请退款，订单金额是¥299.00，请尽快处理。",
    "我的手机号是12345678901，请回电。",
    "客服说「明天一定修好」，结果呢？到现在还没人来！",
    "宽带月费从¥99涨到¥129，谁同意了？？",
    "请问退款多久能到账？已经等了15个工作日了。",
    "工单号：GD2024031500123，投诉类型：网络故障。",
    "这是第3次投诉了！！！再不解决我就去12315举报。",
    "您的问题我已记录，稍后会有工程师联系您，请保持电话畅通。",
    "套餐：200M宽带+IPTV，每月¥168.00（含税）。",
    "你好",
    # --- English
    "I don't think I'll renew my contract.",
    "We're sorry, but you can't cancel online; you'll need to call us.",
    "It's the customer's right: they'd've known.",
    "Mr. O'Neil's order #42 isn't here.",
    "Hello",
    "hello world",
    "Hello  world   with    multiple     spaces",
    "  leading and trailing spaces  ",
    "line one\nline two\n\nline four",
    "Ends with newline\n",
    "\n\nstarts with newlines",
    "col1\tcol2\t\tcol3",
    "\r\nWindows line ending\r\n",
    " ",
    "   ",
    "\t",
    # --- mixed zh/en
    "我的WiFi密码忘了，router型号是TP-Link AX3000。",
    "Please help me 退款 for order #A1234, 谢谢!",
    "客户说: \"I want a refund NOW\" 然后挂了电话。",
    # --- emoji
    "😀",
    "Thanks 👍🏽 great service!",
    "Family: 👨‍👩‍👧‍👦 and 👩‍❤️‍👨",
    "服务太差了😡😡😡",
    "🇨🇳🇺🇸 flags",
    # --- digits
    "1",
    "12",
    "123",
    "1234567",
    "3.14159 and 1,000,000 and 0.5%",
    "2024-03-15 14:30:00",
    # --- URLs / addresses
    "https://www.example.com/path/to/page?query=1&lang=zh-CN#section",
    "Visit http://10.0.0.1:8080/admin or mailto:support@example.cn",
    # --- Japanese / Korean
    "お問い合わせありがとうございます。",
    "インターネットが繋がりません。",
    "안녕하세요, 환불을 요청합니다.",
    # --- accented Latin, full-width forms
    "café naïve résumé",
    "Crème brûlée à la façon d'Ümlaut Ångström",
    "ＡＢＣ１２３",
    # --- rare characters (byte fallback in SentencePiece vocabularies)
    "𠮷野家",
    "𪚥 and 𰻞𰻞面",
    "ꙮ𓀀",
]

# Tokenized with special-token parsing ON (still no BOS); per model.
SPECIAL_CASES = {
    "smollm2-135m-instruct": [
        "<|im_start|>user\nHi<|im_end|>\n",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n我要退款<|im_end|>\n<|im_start|>assistant\n",
        "Hello<|im_end|>",
        "<|im_start|>user\n 😀 宽带 <|im_end|>",
    ],
    "gemma3-270m": [
        "<start_of_turn>user\nHi<end_of_turn>\n",
        "<start_of_turn>user\n我要投诉宽带<end_of_turn>\n<start_of_turn>model\n",
        "Hello<end_of_turn>",
        "<start_of_turn>user\n 😀 宽带 <end_of_turn>",
    ],
}

NO_PARSE_SPECIAL = "--no-parse-special"


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tokenize(llama_tokenize, model, text, parse_special):
    fd, tmp = tempfile.mkstemp(suffix=".txt")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        cmd = [llama_tokenize, "-m", model, "-f", tmp,
               "--ids", "--no-bos", "--no-escape", "--log-disable", "--offline"]
        if not parse_special:
            cmd.append(NO_PARSE_SPECIAL)
        res = subprocess.run(cmd, capture_output=True)
    finally:
        os.unlink(tmp)
    if res.returncode != 0:
        raise RuntimeError(f"llama-tokenize failed ({res.returncode}) on {text!r}:\n"
                           + res.stderr.decode("utf-8", "replace"))
    lines = [l for l in res.stdout.decode("utf-8").splitlines() if l.startswith("[")]
    if len(lines) != 1:
        raise RuntimeError(f"unexpected llama-tokenize output for {text!r}: {res.stdout!r}")
    ids = json.loads(lines[0])
    assert all(isinstance(i, int) for i in ids)
    return ids


def version_of(llama_tokenize):
    res = subprocess.run([llama_tokenize, "--version"], capture_output=True)
    out = (res.stdout + res.stderr).decode("utf-8", "replace").strip().splitlines()
    return " / ".join(l.strip() for l in out if l.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-tokenize", required=True, help="path to llama-tokenize")
    ap.add_argument("--smollm2", required=True, help="SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--gemma", required=True, help="Gemma 3 270M (base) GGUF")
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(
        here, "..", "..", "engine", "llm", "tests", "fixtures", "tokenizer_reference.json"))
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--allow-sha-mismatch", action="store_true",
                    help="record the actual sha256 instead of failing on mismatch")
    args = ap.parse_args()

    if len(set(CASES)) != len(CASES):
        sys.exit("duplicate case text")

    models = {"smollm2-135m-instruct": args.smollm2, "gemma3-270m": args.gemma}
    out_models = {}
    for model_id, path in models.items():
        digest = sha256_of(path)
        if digest != EXPECTED_SHA256[model_id] and not args.allow_sha_mismatch:
            sys.exit(f"{model_id}: sha256 {digest} != expected {EXPECTED_SHA256[model_id]}")
        cases = []
        for text in CASES:
            cases.append({"text": text, "parse_special": False,
                          "ids": tokenize(args.llama_tokenize, path, text, False)})
        for text in SPECIAL_CASES[model_id]:
            cases.append({"text": text, "parse_special": True,
                          "ids": tokenize(args.llama_tokenize, path, text, True)})
        out_models[model_id] = {"sha256": digest, "cases": cases}
        print(f"{model_id}: {len(cases)} cases", file=sys.stderr)

    generator = (f"llama.cpp {version_of(args.llama_tokenize)}; "
                 "per case: llama-tokenize -m MODEL -f TEXT_FILE --ids --no-bos --no-escape "
                 "--log-disable --offline [--no-parse-special unless parse_special] "
                 "(TEXT_FILE = the case text as UTF-8 bytes, nothing appended); "
                 "evals/tools/make_tokenizer_fixture.py")

    # One case per line, UTF-8.
    parts = ["{", f'  "generator": {json.dumps(generator, ensure_ascii=False)},', '  "models": {']
    model_items = list(out_models.items())
    for mi, (model_id, m) in enumerate(model_items):
        parts.append(f"    {json.dumps(model_id)}: {{")
        parts.append(f'      "sha256": {json.dumps(m["sha256"])},')
        parts.append('      "cases": [')
        for ci, c in enumerate(m["cases"]):
            sep = "," if ci + 1 < len(m["cases"]) else ""
            parts.append("        " + json.dumps(c, ensure_ascii=False) + sep)
        parts.append("      ]")
        parts.append("    }" + ("," if mi + 1 < len(model_items) else ""))
    parts.append("  }")
    parts.append("}")
    text = "\n".join(parts) + "\n"
    assert json.loads(text) == {"generator": generator, "models": out_models}

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
