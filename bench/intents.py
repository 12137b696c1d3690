"""Throughput and latency of careline.contacts.intents.classify on the dev set and synthetic variants."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from careline.contacts.intents import classify, load_vocabulary

REPO = Path(__file__).resolve().parents[1]
# Used when the shared dev set is not beside the repository.
FALLBACK = [
    "I need to reschedule my appointment with Dr. Kim on Friday.",
    "can i get a refill on my lisinopril sent to the cvs on main",
    "My chest feels tight and I'm sweaty, should I come in?",
    "Could you transfer me to billing? I have a question about a charge.",
    "where do i park for the imaging center",
]


def dev_texts(path: Path | None) -> list[str]:
    """Dev-set utterances, or a few built-in ones when the file is missing."""
    candidates = [path] if path else []
    shared = os.environ.get("CARELINE_SHARED_DIR")
    candidates += [Path(shared) / "data" / "dev-utterances.jsonl"] if shared else []
    candidates += [REPO / "tests" / "data" / "dev-utterances.jsonl"]
    for candidate in candidates:
        if candidate and candidate.is_file():
            lines = candidate.read_text(encoding="utf-8").splitlines()
            return [json.loads(line)["text"] for line in lines if line.strip()]
    print("dev set not found; using built-in samples")
    return FALLBACK


def asr(text: str) -> str:
    """Speech-to-text style: lower case, no punctuation."""
    return re.sub(r"[^\w\s']", " ", text.lower())


def typos(text: str, rng: random.Random) -> str:
    """Swap or drop letters in long words, producing tokens the fuzzy matcher has not seen."""

    def mangle(match: re.Match[str]) -> str:
        word = match.group()
        i = rng.randrange(1, len(word) - 2)
        return (
            word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if rng.random() < 0.5
            else word[:i] + word[i + 1 :]
        )

    return re.sub(r"\b[a-zA-Z]{6,}\b", lambda m: mangle(m) if rng.random() < 0.3 else m.group(), text)


def prefixes(text: str) -> list[str]:
    """What a keystroke-pause trigger sees while the agent types: growing prefixes at word ends."""
    words = text.split()
    return [" ".join(words[:n]) for n in range(3, len(words), 4)]


def synthetic(texts: list[str], seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = [asr(t) for t in texts] + [typos(t, rng) for t in texts]
    out += [f"{a} Also, {b[0].lower()}{b[1:]}" for a, b in zip(texts, texts[1:] + texts[:1], strict=True)]
    out += [p for t in texts[:40] for p in prefixes(t)]
    return out


def measure(texts: Iterable[str], classify_one: Callable[[str], object]) -> list[float]:
    latencies = []
    for text in texts:
        started = time.perf_counter()
        classify_one(text)
        latencies.append(time.perf_counter() - started)
    return latencies


def report(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1e3
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1e3
    rate = len(ordered) / sum(ordered)
    worst = ordered[-1] * 1e3
    timing = f"p50 {p50:.3f} ms  p95 {p95:.3f} ms  max {worst:.2f} ms"
    print(f"{name:34s} n={len(ordered):6d} {rate:8.0f} utt/s  {timing}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", type=Path, help="path to dev-utterances.jsonl")
    parser.add_argument("--repeat", type=int, default=20, help="passes over each corpus")
    args = parser.parse_args()

    started = time.perf_counter()
    vocabulary = load_vocabulary()
    print(f"vocabulary load + compile: {(time.perf_counter() - started) * 1e3:.1f} ms (once per process)")
    texts = dev_texts(args.dev)
    variants = synthetic(texts)
    mean_chars = statistics.mean(len(t) for t in texts)
    print(f"dev utterances: {len(texts)} (mean {mean_chars:.0f} chars); synthetic variants: {len(variants)}")

    vocabulary.fuzzy_cache.clear()  # first pass pays for fuzzy look-ups of unseen tokens
    report("dev set, cold fuzzy cache", measure(texts, classify))
    report(f"dev set x{args.repeat}", measure(texts * args.repeat, classify))
    vocabulary.fuzzy_cache.clear()
    report("synthetic variants, cold cache", measure(variants, classify))
    report(f"synthetic variants x{args.repeat}", measure(variants * args.repeat, classify))
    report(
        "dev set x3 with red_flag=True",
        measure(texts * 3, lambda t: classify(t, red_flag=True)),
    )


if __name__ == "__main__":
    main()
