"""The original write-ups' claims (claims.yaml) and the verdict this run gives each."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from cnnlab.compare.stats import MIN_SEEDS, Estimate, accuracy, compare, seeds_to_decide, t_mean, verdict
from cnnlab.errors import UserError
from cnnlab.schema import build, read_yaml

CLAIMS_FILE = Path("claims.yaml")
# Datasets a folder source is recognised as, by its class names.
KNOWN_CLASSES = {
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    dataset: str
    original_measure: str
    original: dict[str, float] = field(default_factory=dict)
    # One of three kinds: better beats worse (test accuracy); faster trains in less time
    # than slower; variant reaches at_least percent.
    better: str = ""
    worse: str = ""
    faster: str = ""
    slower: str = ""
    variant: str = ""
    at_least: float = 0.0

    @property
    def variants(self) -> list[str]:
        return [v for v in (self.better, self.worse, self.faster, self.slower, self.variant) if v]

    @property
    def kind(self) -> str:
        return "time" if self.faster else "bar" if self.variant else "pair"


@dataclass(frozen=True)
class ClaimsFile:
    claims: list[Claim]


def load_claims(path: Path = CLAIMS_FILE) -> list[Claim]:
    claims = build(ClaimsFile, read_yaml(path), "", file=str(path)).claims
    for i, c in enumerate(claims):
        kinds = [bool(c.better) and bool(c.worse), bool(c.faster) and bool(c.slower), bool(c.variant)]
        if sum(kinds) != 1 or len(c.variants) != (1 if c.variant else 2) or (c.variant and c.at_least <= 0):
            raise UserError(f"{path}: claims[{i}] ({c.id}) must name better and worse, or faster and slower, "
                            f"or variant and at_least; fix it in {path}.")
    if len({c.id for c in claims}) != len(claims):
        raise UserError(f"{path}: two claims share an id; give each its own.")
    return claims


@dataclass(frozen=True)
class Scores:
    """What this run measured: per variant, who got which test image right (seeds x
    images) and the training time of each seed."""
    correct: Callable[[str], np.ndarray]
    seconds: Callable[[str], np.ndarray]
    variants: list[str]  # those this run has results for
    dataset: str
    same_images: bool = True  # every seed tested on the same images (not so under split.per_seed)


@dataclass(frozen=True)
class Judgement:
    claim: Claim
    verdict: str
    numbers: str  # what cnnlab measured, with intervals
    note: str  # why not run, another dataset, what would settle it


def percent(e: Estimate, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{e.value * 100:{sign}.1f} [{e.low * 100:{sign}.1f}, {e.high * 100:{sign}.1f}]"


def original_numbers(c: Claim) -> str:
    if not c.original:
        return f"({c.original_measure}, no numbers given)"
    return ", ".join(f"{v} {n:g}" for v, n in c.original.items()) + f" ({c.original_measure})"


def judge(c: Claim, scores: Scores) -> Judgement:
    missing = [v for v in c.variants if v not in scores.variants]
    if missing:
        return Judgement(c, "not run", "", f"{', '.join(missing)} not in this run (add to active)")
    elsewhere = f"judged on {scores.dataset}, not {c.dataset}" if scores.dataset != c.dataset else ""
    if c.kind == "time":
        return judge_time(c, scores, elsewhere)
    if c.kind == "bar":
        est = accuracy(scores.correct(c.variant), scores.same_images)
        shifted = Estimate(est.value - c.at_least / 100, est.low - c.at_least / 100, est.high - c.at_least / 100,
                           est.method, est.seeds, est.std)
        numbers = f"{c.variant} {percent(est)} ({est.method})"
        return Judgement(c, verdict(shifted), numbers, join(elsewhere, settle(shifted)))
    result = compare(scores.correct(c.better), scores.correct(c.worse), scores.same_images)
    d = result.difference
    numbers = (f"{c.better} {percent(result.a)} vs {c.worse} {percent(result.b)}; difference "
               f"{percent(d, signed=True)} points ({d.method}; {result.test} p = {result.p_value:.3g}"
               + (f"; {result.sign_flip()}" if result.sign_flip_p is not None else "")
               + (f"; P({c.better} wins on a new seed) = {result.p_a_beats_b:.2f}" if result.p_a_beats_b is not None
                  else "") + ")")
    return Judgement(c, verdict(d), numbers, join(elsewhere, settle(d)))


def judge_time(c: Claim, scores: Scores, elsewhere: str) -> Judgement:
    fast, slow = scores.seconds(c.faster), scores.seconds(c.slower)
    if len(fast) != len(slow):
        raise ValueError(f"{c.faster} and {c.slower} have timings of different seeds")
    count = seed_count(len(fast))
    numbers = f"{c.faster} {fast.mean():.1f} s vs {c.slower} {slow.mean():.1f} s, {count}"
    if len(fast) < MIN_SEEDS:
        return Judgement(c, "inconclusive", numbers,
                         join(elsewhere, f"{count}, one timing each: no interval; run {MIN_SEEDS} or more seeds"))
    saved = t_mean(slow - fast, f"paired t over {len(fast)} seeds")
    numbers += f"; {saved.value:.1f} s saved [{saved.low:.1f}, {saved.high:.1f}]"
    return Judgement(c, verdict(saved), numbers, join(elsewhere, settle(saved)))


def seed_count(n: int) -> str:
    return "one seed" if n == 1 else f"{n} seeds"


def settle(d: Estimate) -> str:
    if verdict(d) != "inconclusive":
        return ""
    if d.seeds < MIN_SEEDS:
        return (f"{seed_count(d.seeds)}: the interval is the test set's sampling error alone; run {MIN_SEEDS} or more seeds "
                f"to measure seed-to-seed spread")
    needed = seeds_to_decide(d)
    return (f"about {needed} seeds in all would settle it at the spread measured" if needed
            else "no number of seeds would, at the difference measured")


def join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def dataset_name(dataset: str, classes: list[str]) -> str:
    """The claims' name for this run's data: the source, or for a folder, what its classes say."""
    if dataset != "folder":
        return dataset
    return next((name for name, known in KNOWN_CLASSES.items() if sorted(classes) == sorted(known)), "folder")


def judge_all(claims: list[Claim], scores: Scores) -> list[Judgement]:
    return [judge(c, scores) for c in claims]
