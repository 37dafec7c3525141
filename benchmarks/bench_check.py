"""Time ``check_policy_text`` on the sample policies against parliament's analysis.

Usage: python benchmarks/bench_check.py [--rounds N] [--cases DIR]

Prints the median milliseconds per policy for the grader with its memoized
answers warm, for the grader with every memo cleared before each check (the
catalogue stays loaded, so the solver runs), and for parliament's
``analyze_policy_string`` on the same texts, with the ratios ours/parliament.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from parliament import analyze_policy_string

from grader.evaluator import clear_caches, evaluate_request
from grader.report import check_policy_text
from grader.task import DEFAULT_TASK_PATH, load_task

ROOT = Path(__file__).resolve().parents[1]


def _texts(folder: Path) -> dict[str, str]:
    return {
        path.stem: json.loads(path.read_text())["policy_text"]
        for path in sorted(folder.glob("*.json"))
    }


def _parliament(text: str) -> None:
    try:
        _ = analyze_policy_string(text).findings
    except Exception:  # noqa: BLE001 - parliament raises anything on bad text
        return


def _median_ms(
    run: Callable[[str], object],
    texts: dict[str, str],
    rounds: int,
    before: Callable[[], None] | None = None,
) -> dict[str, float]:
    medians = {}
    for name, text in texts.items():
        times = []
        for _ in range(rounds):
            if before is not None:
                before()
            start = time.perf_counter()
            run(text)
            times.append((time.perf_counter() - start) * 1000)
        medians[name] = statistics.median(times)
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cases", type=Path, default=ROOT / "tests/data/policies")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)

    task = load_task(DEFAULT_TASK_PATH)
    texts = _texts(args.cases)
    for text in texts.values():
        check_policy_text(text, task)
        _parliament(text)

    def ours(text: str) -> object:
        return check_policy_text(text, task)

    warm = _median_ms(ours, texts, args.rounds)
    cold = _median_ms(ours, texts, max(args.rounds // 4, 3), before=clear_caches)
    theirs = _median_ms(_parliament, texts, args.rounds)

    rows = [("warm", warm), ("cold solver", cold), ("parliament", theirs)]
    print(f"{len(texts)} policies from {args.cases}, {args.rounds} rounds")
    for label, values in rows:
        ordered = sorted(values.values())
        print(
            f"  {label:12} median {statistics.median(ordered):7.3f} ms per policy"
            f"  (max {ordered[-1]:7.3f} ms)"
        )
    base = statistics.median(theirs.values())
    print(
        f"  ratio warm/parliament        {statistics.median(warm.values()) / base:6.2f}"
    )
    print(
        f"  ratio cold solver/parliament {statistics.median(cold.values()) / base:6.2f}"
    )
    slowest = max(cold, key=cold.get)
    print(f"  slowest with the solver: {slowest} at {cold[slowest]:.1f} ms")
    print(f"  evaluate_request: {_request_us(texts):.1f} us per call (median policy)")
    return 0


def _request_us(texts: dict[str, str]) -> float:
    documents = [json.loads(t) for t in texts.values() if _decodes(t)]
    resource = "arn:aws:s3:::my-frontend-app-assets/index.html"
    per_policy = []
    for document in documents:
        start = time.perf_counter()
        for _ in range(200):
            evaluate_request([document], "s3:PutObject", resource)
        per_policy.append((time.perf_counter() - start) / 200 * 1e6)
    return statistics.median(per_policy)


def _decodes(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())
