"""typecall on the Berkeley Function Calling Leaderboard: BFCL's data, BFCL's
function-doc conversion (its OpenAI handler's), BFCL's own AST checker.

Run by scripts/bfcl, which installs bfcl-eval (without its dependencies: the
AST checker needs none of them) and builds the runner; not meant to be run by
hand. Each case is one model turn, greedy and seeded; modes:
  raw          the model server alone: the tools in the request, its own parser
  auto, native, constrained
               typecall's `Agent::decide` in that ToolMode (examples/bfcl.rs)
  required     auto with ToolChoice::Required: every case must call, so its
               row says how calls are written apart from whether the model
               calls (irrelevance rows then score 0 by construction)

Prints a table (category x mode: passed/N, error classes, median seconds per
case) and writes every case's result as JSON lines to --out. "malformed" is
output the checker cannot read (or calls cut at the token limit); "error" a
request that failed (the server refused it, e.g. a prompt longer than its
context): such a case scores nothing and its time is left out of the medians.
"""

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
import types
import urllib.request


# bfcl-eval imports, at module level, things the AST checker and the function-
# doc conversion never use: every model handler (through model_config), the
# Java/JavaScript tree-sitter parsers, filelock and tenacity. They are stubbed
# here instead of installing bfcl-eval's whole dependency tree.
class _Unused:
    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return _Unused()

    def __getattr__(self, name):
        return _Unused()


def _stub(name, **attrs):
    module = types.ModuleType(name)
    module.__getattr__ = lambda n: _Unused()
    for k, v in attrs.items():
        setattr(module, k, v)
    sys.modules[name] = module


class _ModelConfig:
    # typecall sends tool names as they are (mapping them on the wire itself),
    # so BFCL must not expect `math.factorial` as `math_factorial`.
    underscore_to_dot = False


class _ModelConfigs(dict):
    def __missing__(self, key):
        return _ModelConfig()


for _name in ["tree_sitter", "tree_sitter_java", "tree_sitter_javascript", "filelock", "tenacity"]:
    _stub(_name)
_stub("bfcl_eval.constants.model_config", MODEL_CONFIG_MAPPING=_ModelConfigs())

import bfcl_eval  # noqa: E402
from bfcl_eval.constants.enums import Language, ModelStyle  # noqa: E402
from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI  # noqa: E402
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker  # noqa: E402
from bfcl_eval.model_handler.utils import convert_to_tool  # noqa: E402
from bfcl_eval.utils import _func_doc_language_specific_pre_processing  # noqa: E402

DATA = os.path.join(os.path.dirname(bfcl_eval.__file__), "data")
CATEGORIES = [
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "live_simple",
    "live_multiple",
    "live_irrelevance",
]
ERROR_CLASSES = ["no call", "called", "wrong function", "wrong argument", "wrong type", "call count", "malformed", "error"]


def load(category):
    with open(os.path.join(DATA, f"BFCL_v4_{category}.json")) as f:
        cases = [json.loads(line) for line in f if line.strip()]
    answers = {}
    path = os.path.join(DATA, "possible_answer", f"BFCL_v4_{category}.json")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    a = json.loads(line)
                    answers[a["id"]] = a["ground_truth"]
    return cases, answers


def tools_of(case, category):
    """The case's functions as JSON Schema tools, the way BFCL's OpenAI handler
    converts them (types mapped, floats described), under their own names."""
    functions = _func_doc_language_specific_pre_processing(copy.deepcopy(case["function"]), category)
    tools = []
    for f in functions:
        converted = convert_to_tool([f], GORILLA_TO_OPENAPI, ModelStyle.OPENAI_COMPLETIONS)[0]["function"]
        converted["name"] = f["name"]
        tools.append(converted)
    return tools


def messages_of(case):
    # Single-turn categories: the first turn's messages.
    return case["question"][0]


def run_raw(url, cases, category, max_tokens):
    out = []
    for case in cases:
        body = {
            "messages": messages_of(case),
            "tools": [{"type": "function", "function": t} for t in tools_of(case, category)],
            "temperature": 0,
            "seed": 1,
            "max_tokens": max_tokens,
        }
        started = time.time()
        try:
            req = urllib.request.Request(
                url.rstrip("/") + "/chat/completions",
                data=json.dumps(body).encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=600) as r:
                answer = json.load(r)
            message = answer["choices"][0]["message"]
            calls = []
            for c in message.get("tool_calls") or []:
                try:
                    args = json.loads(c["function"]["arguments"])
                except Exception:
                    args = None
                calls.append({"name": c["function"]["name"], "arguments": args})
            out.append({"id": case["id"], "calls": calls, "text": message.get("content"),
                        "ms": int((time.time() - started) * 1000)})
        except Exception as e:
            out.append({"id": case["id"], "error": str(e), "ms": int((time.time() - started) * 1000)})
    return out


def run_typecall(runner, url, model, mode, cases, category, max_tokens, min_call_confidence):
    lines = []
    for case in cases:
        lines.append(json.dumps({"id": case["id"], "messages": messages_of(case), "tools": tools_of(case, category)}))
    tool_mode, choice = ("auto", "required") if mode == "required" else (mode, "auto")
    args = [runner, "--url", url, "--model", model, "--mode", tool_mode, "--tool-choice", choice,
            "--max-tokens", str(max_tokens)]
    if min_call_confidence is not None:
        args += ["--min-call-confidence", str(min_call_confidence)]
    proc = subprocess.run(
        args,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bfcl: the runner failed ({proc.returncode})")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def score(case, result, category, answers):
    """(passed, error class or None)"""
    if result.get("error"):
        # The request failed (the server refused it, or it never got an
        # answer): no model output to score, and no time to count.
        return False, "error"
    if result.get("problem"):
        return False, "malformed"
    calls = result.get("calls") or []
    if any(not isinstance(c.get("arguments"), dict) for c in calls):
        return False, "malformed"
    if "irrelevance" in category:
        return (len(calls) == 0), (None if not calls else "called")
    if not calls:
        return False, "no call"
    output = [{c["name"]: c["arguments"]} for c in calls]
    try:
        checked = ast_checker(case["function"], output, answers[case["id"]], Language.PYTHON, category, "typecall")
    except Exception as e:  # the checker's own failure on odd output
        return False, f"malformed"
    if checked["valid"]:
        return True, None
    kind = checked.get("error_type", "")
    if "wrong_count" in kind:
        return False, "call count"
    if "wrong_func_name" in kind:
        return False, "wrong function"
    if kind.startswith("type_error"):
        return False, "wrong type"
    return False, "wrong argument"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--model", default="qwen")
    p.add_argument("--runner", required=True)
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--categories", default=",".join(CATEGORIES))
    p.add_argument("--modes", default="raw,auto")
    p.add_argument("--max-tokens", type=int, default=400)
    p.add_argument("--min-call-confidence", type=float, default=None)
    p.add_argument("--out", default=None)
    a = p.parse_args()

    rows = []
    totals = {}  # mode -> [passed, cases, every case's seconds]
    out = open(a.out, "w") if a.out else None
    for category in a.categories.split(","):
        cases, answers = load(category)
        cases = cases[a.offset : a.offset + a.n]
        by_id = {c["id"]: c for c in cases}
        for mode in a.modes.split(","):
            if mode == "raw":
                results = run_raw(a.url, cases, category, a.max_tokens)
            else:
                results = run_typecall(a.runner, a.url, a.model, mode, cases, category, a.max_tokens, a.min_call_confidence)
            passed = 0
            classes = {k: 0 for k in ERROR_CLASSES}
            times = []
            for r in results:
                ok, kind = score(by_id[r["id"]], r, category, answers)
                passed += ok
                if kind:
                    classes[kind] = classes.get(kind, 0) + 1
                if kind != "error":
                    times.append(r.get("ms", 0) / 1000)
                if out:
                    out.write(json.dumps({**r, "category": category, "mode": mode, "decided_in": r.get("mode"), "passed": ok, "class": kind}) + "\n")
            median = statistics.median(times) if times else 0.0
            total = totals.setdefault(mode, [0, 0, []])
            total[0] += passed
            total[1] += len(results)
            total[2].extend(times)
            rows.append((category, mode, passed, len(results), classes, median))
            print(f"bfcl: {category:18} {mode:12} {passed}/{len(results)}  median {median:.1f} s", file=sys.stderr, flush=True)

    print()
    print("| category | mode | passed | " + " | ".join(ERROR_CLASSES) + " | median s/case |")
    print("|---|---|---|" + "---|" * len(ERROR_CLASSES) + "---|")
    for category, mode, passed, n, classes, median in rows:
        pct = 100 * passed / n if n else 0
        cells = " | ".join(str(classes.get(k, 0)) for k in ERROR_CLASSES)
        print(f"| {category} | {mode} | {passed}/{n} ({pct:.0f}%) | {cells} | {median:.1f} |")
    for mode, (passed, n, times) in totals.items():
        median = statistics.median(times) if times else 0.0
        print(f"\n{mode}: {passed}/{n} in all, median {median:.1f} s/case", end="")
    print()


if __name__ == "__main__":
    main()
