"""The speed of the portable llama.cpp against one built for this machine's CPU alone.

    python benchmarks/portable_cpu.py --native-python PYTHON [--rounds 5] [--tokens 96] [--json]

The project builds llama.cpp without ``-march=native``, with one loadable library of CPU code
per instruction set, chosen at run time (``models/llama_cpu.py``). This compares it with a
build for this CPU alone, installed in another Python environment, e.g.::

    python3 -m venv /tmp/native
    CMAKE_ARGS="-DLLAVA_BUILD=OFF" /tmp/native/bin/pip install --no-cache-dir \\
        "llama-cpp-python==$(.venv/bin/python -c 'import llama_cpp; print(llama_cpp.__version__)')"

Both run the bundled SmolLM2-135M in raw llama-cpp-python, in a process of their own, with two
threads: a prompt of about 200 tokens evaluated at once, then ``--tokens`` tokens generated
one by one (greedy), three times after a warm-up, keeping each process's best rates. The two
builds alternate, starting with the other one each round, so both see the same machine.
Printed: tokens per second of each, and portable ÷ native for prompt evaluation and for
generation, the median of the rounds with their least and greatest.
Target: generation ratio ≥ 0.9.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from purpose_desktop.bench.summary import MedianRange
from purpose_desktop.models.bundled import smollm2_path

ROOT = Path(__file__).resolve().parent.parent

# Runs in either environment. The project's root is put on the path only for llama.cpp's set-up
# (models/llama_cpu.py, which needs nothing but llama_cpp): a native build ignores it.
CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from purpose_desktop.models.llama_cpu import prepare_llama_cpp
from llama_cpp import Llama
setup = prepare_llama_cpp()
llm = Llama(sys.argv[2], n_ctx=1024, n_threads=2, n_threads_batch=2, n_batch=512, verbose=False)
prompt = llm.tokenize((" ".join(["The quick brown fox jumps over the lazy dog."] * 20)).encode())
tokens = int(sys.argv[3])
def once():
    llm.reset()
    started = time.perf_counter()
    llm.eval(prompt)
    evaluated = time.perf_counter()
    for _ in range(tokens):
        llm.eval([llm.sample(temp=0.0)])
    return len(prompt) / (evaluated - started), tokens / (time.perf_counter() - evaluated)
once()  # warm-up: first touches of the weights and buffers
# The best of three: on a shared machine a slower one measures the neighbours, not the build.
rates = [once() for _ in range(3)]
prompt_rate, generation_rate = max(r[0] for r in rates), max(r[1] for r in rates)
print(json.dumps({"variant": setup.variant, "prompt": prompt_rate,
                  "generation": generation_rate}))
"""


def measure(python: str, tokens: int) -> dict[str, float | str | None]:
    """One child's rates: prompt and generation tokens per second, and its CPU variant."""
    done = subprocess.run(
        [python, "-c", CHILD, str(ROOT), str(smollm2_path()), str(tokens)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        sys.exit(f"{python} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float | str | None] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--native-python", required=True, help="a Python with a native build")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pythons = {"portable": sys.executable, "native": args.native_python}
    samples: dict[str, list[dict[str, float | str | None]]] = {"portable": [], "native": []}
    for round_index in range(args.rounds):
        order = ["portable", "native"] if round_index % 2 == 0 else ["native", "portable"]
        for name in order:
            samples[name].append(measure(pythons[name], args.tokens))
    result: dict[str, object] = {"rounds": args.rounds, "tokens": args.tokens}
    for name, runs in samples.items():
        result[name] = {
            "variant": runs[0]["variant"],
            "prompt_tok_s": round(statistics.median(float(r["prompt"] or 0) for r in runs), 1),
            "generation_tok_s": round(
                statistics.median(float(r["generation"] or 0) for r in runs), 1
            ),
        }
    for measure_name in ("prompt", "generation"):
        ratios = [
            float(ours[measure_name] or 0) / float(theirs[measure_name] or 1)
            for ours, theirs in zip(samples["portable"], samples["native"], strict=True)
        ]
        result[f"{measure_name}_ratio"] = asdict(MedianRange.of(ratios))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for name in ("portable", "native"):
        row = result[name]
        assert isinstance(row, dict)
        print(
            f"{name:<9} CPU code {row['variant'] or 'built in'}: prompt "
            f"{row['prompt_tok_s']} tok/s, generation {row['generation_tok_s']} tok/s"
        )
    for measure_name in ("prompt", "generation"):
        ratio = result[f"{measure_name}_ratio"]
        assert isinstance(ratio, dict)
        print(
            f"portable ÷ native, {measure_name}: {ratio['median']} "
            f"({ratio['low']} to {ratio['high']} over {args.rounds} rounds)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
