"""Benchmark the red-flag screen: utterances per second and per-utterance latency percentiles.

Run: .venv/bin/python bench/triage.py [--rounds N] [--dev PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from careline.triage.rules import screen

DEFAULT_DEV = Path(__file__).resolve().parents[1] / "tests" / "data" / "dev-utterances.jsonl"
FALLBACK = [
    "I have chest pain going down my left arm and I'm sweating",
    "no chest pain, just a cough for three days",
    "my 6 week old has a fever of a hundred and one",
    "can I reschedule my appointment with Dr. Kim to Friday?",
    "i cant breath and my lips r blue",
]
FILLERS = ["um", "so", "like", "you know", "okay", "hi", "yeah"]


def load_texts(path: Path) -> list[str]:
    """The dev utterances, or a small built-in sample when the shared folder is not there."""
    if not path.exists():
        return list(FALLBACK)
    return [
        json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def asr_variant(text: str, rng: random.Random) -> str:
    """A synthetic ASR-style copy: lower case, no punctuation, a filler word or two, no apostrophes."""
    words = text.lower().replace(",", "").replace(".", "").replace("?", "").replace("'", "").split()
    for _ in range(rng.randint(1, 3)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
    return " ".join(words)


def synthetic(texts: list[str], seed: int = 7) -> list[str]:
    """ASR-style variants plus two-utterance concatenations (longer, rambling calls)."""
    rng = random.Random(seed)
    variants = [asr_variant(t, rng) for t in texts]
    joined = [f"{rng.choice(texts)} {rng.choice(texts)}" for _ in range(len(texts) // 2)]
    return variants + joined


def bench_screen(texts: Iterable[str], rounds: int, fn: Callable[[str], object] = screen) -> dict[str, float]:
    """Time fn over every text, `rounds` times; return throughput and latency percentiles in ms."""
    texts = list(texts)
    for text in texts:  # warm up: compile patterns, fill caches
        fn(text)
    latencies = []
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            t0 = time.perf_counter()
            fn(text)
            latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return _summary(latencies, elapsed)


def _summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "utterances": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": cuts[49],
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "max_ms": max(latencies),
    }


def print_row(name: str, stats: dict[str, float]) -> None:
    """One aligned line of figures."""
    print(
        f"{name:<22} {stats['utterances']:>8.0f} {stats['per_second']:>10.0f} "
        f"{stats['p50_ms']:>8.3f} {stats['p95_ms']:>8.3f} {stats['p99_ms']:>8.3f} {stats['max_ms']:>8.3f}"
    )


def main() -> None:
    """Screen the dev set and synthetic variants many times and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    args = parser.parse_args()
    texts = load_texts(args.dev)
    print(f"{'set':<22} {'n':>8} {'utt/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print_row("dev utterances", bench_screen(texts, args.rounds))
    print_row("synthetic variants", bench_screen(synthetic(texts), args.rounds))
    # The full analysis the console and /api/v1/analyze run: screening plus caller intents.
    from careline.contacts.analyze import analyze
    from careline.contacts.intents import classify

    print_row("intents only (dev)", bench_screen(texts, args.rounds, fn=classify))
    print_row("analyze (dev)", bench_screen(texts, args.rounds, fn=analyze))
    print_row("analyze (synthetic)", bench_screen(synthetic(texts), args.rounds, fn=analyze))


if __name__ == "__main__":
    main()
