"""Parsing a 10,000-rule policy, clean and with 50 syntax errors (issue #18, item 11).

Prints the CPU time of :func:`ringfence.language.parser.parse_text` on each. Recovering from
syntax errors should cost about one parse however many errors there are, so the file with errors
(which builds no syntax tree) should take no longer than the clean one.

    python benchmarks/parse_errors_bench.py [--rules N] [--every K]
"""

from __future__ import annotations

import argparse
import time

from ringfence.errors import PolicyError
from ringfence.language.parser import parse_text


def policy(rules: int, every: int | None) -> str:
    """A policy of ``rules`` rules; every ``every``-th one says ``deny iff`` (a syntax error)."""
    head = 'policy big "Big"\n  version 1\n  applies to US\n\n'
    body = "\n".join(
        f'rule r{i} "Rule {i}"\n  cite "T"\n  when purpose is marketing\n'
        f"  deny {'iff' if every and i % every == 0 else 'if'} count of attempts"
        f" in last {i % 50 + 1} hours >= {i + 2}\n" for i in range(rules))
    return head + body


def cpu_seconds(text: str) -> tuple[float, int]:
    """CPU seconds to parse ``text``, and how many diagnostics it gave."""
    start = time.process_time()
    try:
        parse_text(text, "big.rf")
        found = 0
    except PolicyError as err:
        found = len(err.diagnostics)
    return time.process_time() - start, found


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rules", type=int, default=10_000)
    args.add_argument("--every", type=int, default=200, help="one broken rule in this many")
    options = args.parse_args()
    for label, every in (("clean", None), ("with errors", options.every)):
        seconds, found = cpu_seconds(policy(options.rules, every))
        print(f"{options.rules} rules, {label}: {seconds:.2f} s CPU, {found} diagnostics")


if __name__ == "__main__":
    main()
