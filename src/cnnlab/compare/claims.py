"""The original write-ups' claims (claims.yaml) and the verdict this run gives each.

Each claim puts one or two questions to the data, each a two-sided test at LEVEL:
- direction: does better beat worse at all (or reach its bar, or train faster)?
- size, when the claim has one (`by`): is the gain below, about, or above the original's?
- for a claim of a tie (`within`, non-inferiority): is better no worse than worse by δ?
Every question of every claim judged in a run is one family: Holm's adjustment (counting a
claim once, since its gain cannot be both zero and the original's size) keeps the chance
that any verdict in the report is wrong at LEVEL or less, not LEVEL for each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from cnnlab.compare.stats import (
    LEVEL,
    MIN_SEEDS,
    MOST_SEEDS,
    POWER,
    Comparison,
    Estimate,
    accuracy,
    compare,
    holm,
    over_seeds,
    power,
    seeds_to_settle,
)
from cnnlab.errors import UserError
from cnnlab.schema import bounded, build, read_yaml

CLAIMS_FILE = Path("claims.yaml")
# Datasets a folder source is recognised as, by its class names.
KNOWN_CLASSES = {
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}
VERDICTS = ("reproduced", "contradicted", "inconclusive", "too few seeds", "not run")


@dataclass(frozen=True)
class Family:
    """One experiment of the write-ups: the question it asked and the variants that answer it
    (the report gives each family present in a run a section of its own)."""
    id: str
    title: str
    question: str
    variants: list[str]


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    dataset: str
    original_measure: str
    family: str = ""  # the id of the family whose question it answers
    original: dict[str, float] = field(default_factory=dict)
    # One of four kinds: better beats worse (test accuracy), optionally `by` points as the
    # original measured; better is at least as good as worse, `within` points; faster trains
    # in less time than slower; variant reaches at_least percent.
    better: str = ""
    worse: str = ""
    by: float = bounded(0.0, ge=0)
    within: float = bounded(0.0, ge=0)
    faster: str = ""
    slower: str = ""
    variant: str = ""
    at_least: float = 0.0

    @property
    def variants(self) -> list[str]:
        return [v for v in (self.better, self.worse, self.faster, self.slower, self.variant) if v]

    @property
    def kind(self) -> str:
        return "time" if self.faster else "bar" if self.variant else "tie" if self.within else "pair"


@dataclass(frozen=True)
class ClaimsFile:
    claims: list[Claim]
    families: list[Family] = field(default_factory=list)


def load_claims(path: Path = CLAIMS_FILE) -> list[Claim]:
    return load_claims_file(path).claims


def load_claims_file(path: Path = CLAIMS_FILE) -> ClaimsFile:
    """The claims and the families they belong to, each checked."""
    loaded = build(ClaimsFile, read_yaml(path), "", file=str(path))
    claims, families = loaded.claims, {f.id: f for f in loaded.families}
    if len(families) != len(loaded.families):
        raise UserError(f"{path}: two families share an id; give each its own.")
    for i, c in enumerate(claims):
        kinds = [bool(c.better) and bool(c.worse), bool(c.faster) and bool(c.slower), bool(c.variant)]
        if sum(kinds) != 1 or len(c.variants) != (1 if c.variant else 2) or (c.variant and c.at_least <= 0):
            raise UserError(f"{path}: claims[{i}] ({c.id}) must name better and worse, or faster and slower, "
                            f"or variant and at_least; fix it in {path}.")
        if (c.by or c.within) and not c.better or c.by and c.within:
            raise UserError(f"{path}: claims[{i}] ({c.id}) has `by` (a size) or `within` (a tie's margin), which "
                            f"go with better and worse, one of them at a time; fix it in {path}.")
        if c.family and c.family not in families:
            raise UserError(f"{path}: claims[{i}] ({c.id}) names family '{c.family}', which is not under "
                            f"families (known: {', '.join(families) or 'none'}); fix it in {path}.")
        if c.family and not set(c.variants) <= set(families[c.family].variants):
            raise UserError(f"{path}: claims[{i}] ({c.id}) compares variants outside its family '{c.family}'; "
                            f"add them to that family's variants in {path}.")
    if len({c.id for c in claims}) != len(claims):
        raise UserError(f"{path}: two claims share an id; give each its own.")
    return loaded


@dataclass(frozen=True)
class Scores:
    """What this run measured: per variant, who got which test image right (seeds x
    images) and the training time of each seed."""
    correct: Callable[[str], np.ndarray]
    seconds: Callable[[str], np.ndarray]
    variants: list[str]  # those this run has results for
    dataset: str
    same_images: bool = True  # every seed tested on the same images (not so under split.per_seed)
    chance: float = 0.0  # the accuracy of a model that learnt nothing (stats.chance_level)


@dataclass(frozen=True)
class Question:
    """One test a claim puts to the data: does the true value differ from `null`?"""
    what: str  # direction, size, margin (a tie's), bar, time
    null: float  # in the estimate's units (fractions of images, or seconds)
    side: int  # the claim says the truth lies above null (+1), below (-1), or at it (0: a size)
    p: float  # raw, two-sided, from the estimate's own interval
    adjusted: float = 1.0  # Holm over every question of the run's claims

    def rejected(self) -> bool:
        return self.adjusted < LEVEL


@dataclass(frozen=True)
class Judgement:
    claim: Claim
    verdict: str  # one of VERDICTS: on the direction, the tie's margin, the bar or the time
    numbers: str  # what cnnlab measured, with intervals
    note: str  # why not run, another dataset, what would settle it
    estimate: Estimate | None = None  # what the verdict is on: a difference, an accuracy, or a time saved
    questions: tuple[Question, ...] = ()
    size: str = ""  # with a claimed size: "credibly below", "consistent with" or "credibly above +3"
    comparison: Comparison | None = None  # of better and worse, for a claim that compares two variants

    def p_values(self) -> str:
        """The verdict's raw and Holm-adjusted p (and the size's, when there is one)."""
        return "; ".join(f"{'size: ' if q.what == 'size' else ''}{q.p:.3g} (Holm {q.adjusted:.3g})"
                         for q in self.questions)


def percent(e: Estimate, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{e.value * 100:{sign}.1f} [{e.low * 100:{sign}.1f}, {e.high * 100:{sign}.1f}]"


def points(value: float) -> str:
    return f"{value * 100:+.3g}"


def original_numbers(c: Claim) -> str:
    size = (f"; {c.better} by {c.by:+g} point{'s' if c.by != 1 else ''}" if c.by else
            f"; a tie within {c.within:g} points" if c.within else "")
    if not c.original:
        return f"({c.original_measure}, no numbers given{size})"
    return ", ".join(f"{v} {n:g}" for v, n in c.original.items()) + f" ({c.original_measure}{size})"


def judge(c: Claim, scores: Scores) -> Judgement:
    """The claim's estimate and raw questions; `judge_all` adjusts them as one family and
    gives the verdicts."""
    missing = [v for v in c.variants if v not in scores.variants]
    if missing:
        return Judgement(c, "not run", "", f"{', '.join(missing)} not in this run (add to active)")
    elsewhere = f"judged on {scores.dataset}, not {c.dataset}" if scores.dataset != c.dataset else ""
    if c.kind == "time":
        return judge_time(c, scores, elsewhere)
    if c.kind == "bar":
        est = accuracy(scores.correct(c.variant), scores.same_images)
        return weigh(c, est, f"{c.variant} {percent(est)}", [("bar", c.at_least / 100, 1)], elsewhere)
    result = compare(scores.correct(c.better), scores.correct(c.worse), scores.same_images)
    said = ComparisonText.of(c.better, c.worse, result)
    numbers = "; ".join(filter(None, [f"{c.better} {said.a} vs {c.worse} {said.b}", f"difference {said.difference}",
                                      said.new_seed]))
    if c.kind == "tie":
        return replace(weigh(c, result.difference, numbers, [("margin", -c.within / 100, 1)], elsewhere),
                       comparison=result)
    sides = [("direction", 0.0, 1)] + ([("size", c.by / 100, 0)] if c.by else [])
    return replace(weigh(c, result.difference, numbers, sides, elsewhere, one_seed_p=result), comparison=result)


@dataclass(frozen=True)
class ComparisonText:
    """A comparison of a with b in words, once: the claims table joins the parts on one line,
    `cnnlab compare` prints them one per line with the methods beside them."""
    a: str  # "90.0 [86.0, 93.2]": a's accuracy with its interval, in %
    b: str
    difference: str  # "+10.0 [+7.7, +10.0] points"
    test: str  # "paired t: p = 0.012"
    new_seed: str  # "P(a beats b on a new seed): 0.93", or "" with one seed

    @classmethod
    def of(cls, a: str, b: str, result: Comparison) -> ComparisonText:
        chance = result.p_a_beats_b
        return cls(percent(result.a), percent(result.b),
                   f"{percent(result.difference, signed=True)} points", f"{result.test}: p = {result.p_value:.3g}",
                   f"P({a} beats {b} on a new seed): {chance:.2f}" if chance is not None else "")


def judge_time(c: Claim, scores: Scores, elsewhere: str) -> Judgement:
    fast, slow = scores.seconds(c.faster), scores.seconds(c.slower)
    if len(fast) != len(slow):
        raise ValueError(f"{c.faster} and {c.slower} have timings of different seeds")
    numbers = f"{c.faster} {fast.mean():.1f} s vs {c.slower} {slow.mean():.1f} s, {seed_count(len(fast))}"
    if len(fast) < MIN_SEEDS:
        return Judgement(c, "too few seeds", numbers, join(elsewhere, too_few(len(fast), "one timing each")))
    saved = over_seeds(slow - fast, f"paired t over {len(fast)} seeds")
    numbers += f"; {saved.value:.1f} s saved [{saved.low:.1f}, {saved.high:.1f}]"
    return weigh(c, saved, numbers, [("time", 0.0, 1)], elsewhere)


def weigh(c: Claim, est: Estimate, numbers: str, questions: list[tuple[str, float, int]], elsewhere: str,
          one_seed_p: Comparison | None = None) -> Judgement:
    """The raw questions on an estimate, or "too few seeds" with the way one seed leans."""
    if not est.judged:
        _, null, side = questions[0]
        shown = f"; {one_seed_p.test}: p = {one_seed_p.p_value:.3g}" if one_seed_p else ""
        return Judgement(c, "too few seeds", f"{numbers} ({est.method}{shown})",
                         join(elsewhere, f"this seed {leans(est, null, side)}", too_few(est.seeds, "")), est)
    asked = tuple(Question(what, null, side, est.p_value(null)) for what, null, side in questions)
    return Judgement(c, "inconclusive", numbers, elsewhere, est, asked)


def leans(est: Estimate, null: float, side: int) -> str:
    way = (est.value - null) * side
    return "leans towards the claim" if way > 0 else "leans against the claim" if way < 0 else "leans neither way"


def too_few(seeds: int, why: str) -> str:
    return (f"too few seeds to judge ({seed_count(seeds)}{', ' + why if why else ''}; {MIN_SEEDS} or more needed: "
            f"add seeds to `seeds` in params.yaml, 3 or more to see the spread)")


def seed_count(n: int) -> str:
    return "one seed" if n == 1 else f"{n} seeds"


def conclude(j: Judgement, adjusted: list[float], family: int) -> Judgement:
    """The verdicts of a judged claim from its questions' Holm-adjusted p (`family` claims judged)."""
    questions = tuple(replace(q, adjusted=a) for q, a in zip(j.questions, adjusted, strict=True))
    est = j.estimate
    verdict, size = "inconclusive", ""
    for q in questions:
        if q.what == "size":
            above = "credibly above" if est.value > q.null else "credibly below"
            size = f"{above if q.rejected() else 'consistent with'} {points(q.null)}"
        elif q.rejected():
            verdict = "reproduced" if (est.value - q.null) * q.side > 0 else "contradicted"
    main = next(q for q in questions if q.what != "size")
    note = j.note if verdict != "inconclusive" else join(j.note, leans(est, main.null, main.side),
                                                         settle(est, main, family))
    return replace(j, verdict=verdict, size=size, note=note, questions=questions)


def settle(est: Estimate, q: Question, family: int) -> str:
    """How many seeds would settle an inconclusive verdict, were the measured value the truth:
    at the level Holm asks of the first of the family's claims (LEVEL / family), so that the
    count holds whatever the other claims' p."""
    level = LEVEL / family
    seeds = seeds_to_settle(est, q.null, level)
    if seeds is None:
        return "no number of seeds would settle it: no spread or no distance measured"
    distance = abs(est.value - q.null)
    if seeds.seeds is None and power(distance, 0.0, est.test_variance, MOST_SEEDS, level) < POWER:
        return ("no number of seeds would settle it: the test set's own sampling error (SD "
                f"{100 * est.test_variance ** 0.5:.2g} points) is too large beside a distance of "
                f"{100 * distance:.2g} points; a larger test set would")
    if seeds.seeds is None:
        return f"{count(None)} seeds would be needed at the spread measured"
    at = f"{POWER:.0%} power" + (f" at the {level:.2g} level Holm asks of the first of {family} claims" if family > 1
                                 else "")
    return (f"about {count(seeds.seeds)} seeds in all would settle it ({at}) at the spread measured; "
            f"{count(seeds.fewest)} to {count(seeds.most)} over that spread's 95% interval")


def count(n: int | None) -> str:
    return f"more than {MOST_SEEDS:,}" if n is None else f"{n:,}"


def join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def dataset_name(dataset: str, classes: list[str]) -> str:
    """The claims' name for this run's data: the source, or for a folder, what its classes say."""
    if dataset != "folder":
        return dataset
    return next((name for name, known in KNOWN_CLASSES.items() if sorted(classes) == sorted(known)), "folder")


def judge_all(claims: list[Claim], scores: Scores) -> list[Judgement]:
    """Every claim's verdict, the questions of all judged claims adjusted as one family (Holm)."""
    judged = [judge(c, scores) for c in claims]
    raw = [q.p for j in judged for q in j.questions]
    owner = [i for i, j in enumerate(judged) for _ in j.questions]
    adjusted = iter(holm(raw, owner))
    family = len(set(owner))
    return [conclude(j, [next(adjusted) for _ in j.questions], family) if j.questions else j for j in judged]
