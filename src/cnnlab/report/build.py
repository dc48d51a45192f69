"""report: every active variant side by side, then each one's pictures."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab import layout, tracking
from cnnlab.compare.claims import (
    CLAIMS_FILE,
    VERDICTS,
    Family,
    Judgement,
    judge_all,
    load_claims_file,
    original_numbers,
    percent,
)
from cnnlab.compare.runs import workspace_scores
from cnnlab.compare.stats import LEVEL, MIN_SEEDS, Estimate, accuracy, outlying_seeds
from cnnlab.data.canonical import META, SKIPPED, skipped_line
from cnnlab.errors import UserError
from cnnlab.figures.intervals import intervals_figure
from cnnlab.figures.results import curves_figure, time_accuracy_figure
from cnnlab.io import number_cell, read_json, replace_dir, save_figure, write_csv, write_json, write_text
from cnnlab.params import Params
from cnnlab.provenance import Provenance, provenance
from cnnlab.report.document import Block, Cell, Details, Gallery, Heading, Image, Table, Text, to_html, to_markdown

TITLE = "cnnlab report"


@dataclass
class VariantResult:
    name: str
    description: str
    train: dict
    timing: dict
    test: dict
    misclassified: dict
    saliency: dict
    history: dict[str, list[float]]
    seed_runs: list[dict]  # every training seed's metrics.json (runs/V/S/train), the first included
    per_class: list[dict[str, str]] = field(default_factory=list)  # evaluate@V's per_class.csv rows


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_history(path: Path) -> dict[str, list[float]]:
    rows = read_rows(path)
    return {k: [float(r[k]) if r[k] != "" else math.nan for r in rows] for k in (rows[0] if rows else {})}


def collect(params: Params, name: str) -> VariantResult:
    model, tested = layout.trained(name), layout.tested(name)
    needed = [model.metrics, model.timing, model.history, tested.metrics, tested.misclassified_metrics,
              tested.saliency_metrics, tested.per_class]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise UserError(f"results of variant '{name}' are incomplete (missing {', '.join(missing)}); "
                        f"run the whole pipeline with dvc repro.")
    seed_runs = [read_json(layout.require(layout.seed_run(name, seed).train.metrics,
                                          f"repeat@{name}-{seed}")) for seed in params.seeds]
    return VariantResult(name, params.variant(name).train.description, read_json(needed[0]),
                         read_json(needed[1]), read_json(needed[3]), read_json(needed[4]),
                         read_json(needed[5]), read_history(needed[2]), seed_runs, read_rows(needed[6]))


def ranked(results: list[VariantResult], intervals: dict[str, Estimate]) -> list[VariantResult]:
    """Best first, by mean test accuracy over the training seeds (a tie keeps params' order)."""
    return sorted(results, key=lambda r: -intervals[r.name].value)


def best_variant(results: list[VariantResult], intervals: dict[str, Estimate]) -> VariantResult:
    """The variant with the best mean test accuracy over seeds (the first of a tie)."""
    return ranked(results, intervals)[0]


def summary_table(results: list[VariantResult], intervals: dict[str, Estimate], flags: Flags) -> Table:
    """Every variant, best first; the best marked, the doubtful flagged."""
    header = ["variant", "flags", "mean test acc over seeds [95% interval]", "each seed: test % (epochs)",
              "val acc", "test acc", "test loss", "parameters", "train time (s)", "misclassified"]
    order = ranked(results, intervals)
    rows = [[r.name, marks(r, r is order[0], flags),
             f"{intervals[r.name].value:.4f} [{intervals[r.name].low:.4f}, {intervals[r.name].high:.4f}]",
             each_seed(r, intervals[r.name], flags.outliers.get(r.name, {})), f"{r.train['val_accuracy']:.4f}",
             f"{r.test['test_accuracy']:.4f}", f"{r.test['test_loss']:.4f}", f"{r.train['parameters']:,}",
             f"{r.timing['train_seconds']:.1f}", str(r.misclassified["misclassified"])] for r in order]
    return Table(header, rows)


def marks(r: VariantResult, best: bool, flags: Flags) -> str | Cell:
    """One badge for what a reader should know of a variant (its tone from the first mark),
    why in its note."""
    found = [(text, why, tone) for applies, text, why, tone in (
        (r.name in flags.at_chance, "at chance", f"its 95% interval reaches down to chance ({flags.chance:.1%})",
         "bad"),
        (best, "best", "the best mean test accuracy over seeds", "good"),
        (under_trained(r), "under-trained?", "in some seed the best validation epoch was the last", "neutral"))
        if applies]
    if not found:
        return ""
    return Cell(", ".join(f[0] for f in found), "; ".join(f"{f[0]}: {f[1]}" for f in found), found[0][2])


def each_seed(r: VariantResult, estimate: Estimate, outliers: dict[int, str]) -> str:
    return ", ".join(f"{100 * a:.2f} ({run['epochs_trained']})" + (" OUTLIER" if i in outliers else "")
                     for i, (a, run) in enumerate(zip(estimate.per_seed, r.seed_runs, strict=True)))


@dataclass(frozen=True)
class Flags:
    """What a reader must not take at face value: variants no better than chance, and seeds
    far from their siblings (by index into `seeds`, with why)."""
    chance: float
    at_chance: list[str]
    outliers: dict[str, dict[int, str]]


def flag(params: Params, results: list[VariantResult], intervals: dict[str, Estimate], chance: float,
         val_images: int) -> Flags:
    at_chance = [r.name for r in results if intervals[r.name].low <= chance]
    far = {r.name: far_seeds(params, r, intervals[r.name].per_seed, val_images) for r in results}
    return Flags(chance, at_chance, {name: found for name, found in far.items() if found})


def far_seeds(params: Params, r: VariantResult, test: tuple[float, ...], val_images: int) -> dict[int, str]:
    """The variant's seeds far from their siblings on test accuracy, or stopped early (before
    the epoch cap) at a val accuracy far below theirs, each with why."""
    val = [run["val_accuracy"] for run in r.seed_runs]
    far_test = outlying_seeds(test, sampling_sd(test, r.test["test_size"]))
    far_val = outlying_seeds(val, sampling_sd(val, val_images))
    cap = params.variant(r.name).train.epochs
    found = {}
    for i, (seed, run) in enumerate(zip(params.seeds, r.seed_runs, strict=True)):
        if far_test[i]:
            found[i] = f"seed {seed}: test {100 * test[i]:.1f}% against a median of {100 * np.median(test):.1f}%"
        elif far_val[i] and val[i] < np.median(val) and run["epochs_trained"] < cap:
            found[i] = (f"seed {seed}: stopped at epoch {run['epochs_trained']} on a val plateau of "
                        f"{100 * val[i]:.1f}%, its siblings' best {100 * max(val[:i] + val[i + 1:]):.1f}%")
    return found


def sampling_sd(accuracies: tuple[float, ...] | list[float], images: int) -> float:
    """The binomial SD of one accuracy measured on `images` images: seeds closer than this
    differ by the draw of images alone."""
    p = float(np.mean(accuracies))
    return (p * (1 - p) / max(1, images)) ** 0.5


def flag_lines(flags: Flags) -> list[str]:
    lines = []
    if flags.at_chance:
        lines.append(f"Not credibly above chance (the 95% interval of test accuracy reaches down to "
                     f"{flags.chance:.1%}, what a model that learnt nothing scores: guessing, or always the "
                     f"largest class): {', '.join(flags.at_chance)}. Saliency maps of a model at chance explain "
                     f"nothing; train longer (train.epochs) or check the data.")
    if flags.outliers:
        lines.append("Seeds far from their siblings (more than 3 median absolute deviations from the variant's "
                     "median test accuracy, or stopped early on a val plateau that far below; one such run can "
                     "make a wide interval): " + "; ".join(f"{name} {why}" for name, found in flags.outliers.items()
                                                          for why in found.values()) + ".")
    return lines


def summary_metrics(intervals: dict[str, Estimate]) -> dict:
    """Per variant: test accuracy over the training seeds, with its 95% interval (what
    `dvc metrics show`, `dvc exp show` and `dvc metrics diff` carry)."""
    out = {}
    for name, e in intervals.items():
        entry = {"test_accuracy_mean": round(e.value, 6), "test_accuracy_low": round(e.low, 6),
                 "test_accuracy_high": round(e.high, 6), "seeds": e.seeds}
        if e.std is not None:
            entry["test_accuracy_std"] = round(e.std, 6)
        out[name] = entry
    return out


def best_epoch_was_last(run: dict) -> bool:
    """More epochs might still have helped that run."""
    return run["best_epoch"] == run.get("epochs_trained", 0) > 1


def under_trained(r: VariantResult) -> bool:
    """In any of its seeds, the best validation epoch was the last."""
    return any(best_epoch_was_last(run) for run in r.seed_runs)


def under_trained_list(results: list[VariantResult]) -> str:
    """The flagged variants, with how many of their seeds were, when there are several."""
    return ", ".join(r.name + (f" ({sum(map(best_epoch_was_last, r.seed_runs))} of {len(r.seed_runs)} seeds)"
                               if len(r.seed_runs) > 1 else "") for r in results if under_trained(r))


TONES = {"reproduced": "good", "contradicted": "bad", "inconclusive": "neutral"}


def headline(j: Judgement) -> str:
    """What the verdict rests on, short: the difference (or the accuracy, or the time saved)
    with its 95% interval; the rest of the numbers go in the verdict's note."""
    e = j.estimate
    if e is None:
        return "-"
    if j.claim.kind == "time":
        return f"{e.value:+.1f} s saved [{e.low:+.1f}, {e.high:+.1f}]"
    if j.claim.kind == "bar":
        return f"{j.claim.variant} {percent(e)}%"
    return f"{percent(e, signed=True)} points"


def verdict_cell(j: Judgement) -> Cell:
    """The verdict as a coloured badge; how it was reached (intervals, the test and its
    counts, p raw and Holm-adjusted, what would settle it) in its note."""
    p = j.p_values()
    note = ". ".join(filter(None, [j.numbers, f"p {p}" if p else "", j.note]))
    return Cell(j.verdict, note, TONES.get(j.verdict, "muted"))


def claims_table(judgements: list[Judgement]) -> Table:
    rows = [[j.claim.claim, original_numbers(j.claim), headline(j), verdict_cell(j), j.size or "-"]
            for j in judgements]
    return Table(["claim", "original (one run)", "cnnlab: difference [95% interval]", "verdict",
                  "size against the original"], rows)


def verdict_counts(judgements: list[Judgement]) -> str:
    counts = {v: sum(j.verdict == v for j in judgements) for v in VERDICTS}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n)


def verdicts_method(judgements: list[Judgement]) -> Text:
    tests = sum(len(j.questions) for j in judgements)
    return Text(
        f"Each claim of the original write-ups ({CLAIMS_FILE}) against this run, on the test set. A claim that "
        "A beats B is reproduced when the difference is credibly on the claimed side of zero, contradicted "
        "when credibly on the other, inconclusive otherwise; a claimed size (by N points) is credibly below, "
        "consistent with or credibly above the original's; a claimed tie (within N points) is reproduced "
        "when the whole interval lies above -N. With one seed there is no verdict: nothing shows how far "
        "another seed would move the result. "
        + (f"The {tests} tests behind these verdicts are one family, adjusted by Holm's method: each p is "
           "multiplied by the number of tests not yet decided (the smallest by all of them), so the chance that "
           f"any verdict in this report is wrong stays at {LEVEL:.0%} or less, rather than {LEVEL:.0%} for each; "
           "a verdict's note gives the raw p (which goes with the 95% interval shown) beside the adjusted one. "
           if tests else "")
        + f"All claims: {verdict_counts(judgements)}.")


def faithfulness_table(results: list[VariantResult], at_chance: list[str] = ()) -> Table:
    """Every variant's methods with their faithfulness; reference maps (which ignore the
    model) are the bar a method must clear. A model at chance has nothing to explain."""
    header = ["variant", "method", "deletion AUC (lower is better)", "insertion AUC (higher is better)",
              "rank corr. with a randomised model", "sanity check"]
    # The pointing game needs object masks, which only some sources (shapes) have.
    pointing = any("pointing_accuracy" in m for r in results for m in r.saliency["methods"].values())
    if pointing:
        header.append("pointing game (max on the object)")
    rows = []
    for r in results:
        for method, m in r.saliency["methods"].items():
            verdict = "passes" if m["passes_randomisation"] else "FAILS: maps ignore the weights"
            if m["reference"]:
                verdict = "reference (ignores the model)"
            elif r.name in at_chance:
                verdict = "model at chance: its maps explain nothing"
            row = [r.name, method, f"{m['deletion_auc']:.3f}", f"{m['insertion_auc']:.3f}",
                   f"{m['randomisation_rank_correlation']:+.2f}", verdict]
            if pointing:
                shown = "pointing_accuracy" in m and (m["reference"] or r.name not in at_chance)
                row.append(f"{m['pointing_accuracy']:.2f}" if shown else "")
            rows.append(row)
    return Table(header, rows)


def skipped_methods(results: list[VariantResult]) -> list[Block]:
    """The methods asked for that some variant's model cannot have (Grad-CAM on an MLP)."""
    lines = [f"{r.name}: {method} ({why})" for r in results for method, why in r.saliency.get("skipped", {}).items()]
    return [Text("Skipped, since the model cannot have them: " + "; ".join(lines) + ".")] if lines else []


def data_warnings() -> list[Block]:
    """The download stage's word on files it left out, when it left any."""
    line = skipped_line(read_json(layout.DOWNLOAD_METRICS), f"{layout.RAW}/{SKIPPED}")
    return [Text(f"Data: {line}.")] if line else []


def linked(path: Path) -> Path:
    """A file under reports/ as the report, which lives there, links it."""
    return path.relative_to(layout.REPORTS)


SPLIT_PER_SEED = "; every training seed draws its own, this is the first seed's"


@dataclass(frozen=True)
class Section:
    """A family of the write-ups present in this run (or the variants of none), with its claims."""
    id: str
    title: str
    question: str
    variants: list[VariantResult]
    judgements: list[Judgement]

    @property
    def time_figure(self) -> Path | None:
        """Test accuracy against training time, where there are variants to set side by side."""
        return layout.REPORT.time_accuracy(self.id) if len(self.variants) > 1 else None


def sections(families: list[Family], results: list[VariantResult], judgements: list[Judgement]) -> list[Section]:
    """One per family with an active variant, in claims.yaml's order; then the variants of no family."""
    out = []
    for f in families:
        present = [r for r in results if r.name in f.variants]
        if present:
            out.append(Section(f.id, f.title, f.question, present,
                               [j for j in judgements if j.claim.family == f.id and j.verdict != "not run"]))
    known = {v for f in families for v in f.variants}
    others = [r for r in results if r.name not in known]
    if others:
        out.append(Section("other", "Other variants", "", others, []))
    return out


def provenance_text(params: Params, results: list[VariantResult], split: dict[str, list[int]],
                    origin: Provenance) -> list[Block]:
    meta = read_json(layout.RAW / META)
    return [
        Text(f"What ran: {meta['source']}, {meta['count']} images of {meta['image_size']}x{meta['image_size']} "
             f"pixels, {meta['channels']} channel(s), {len(meta['classes'])} classes; split (seed "
             f"{params.split_seed()}{SPLIT_PER_SEED if params.split.per_seed else ''}) {len(split['train'])} train, "
             f"{len(split['val'])} val, {len(split['test'])} test; {len(results)} variant(s): "
             f"{', '.join(r.name for r in results)}; training seed(s) {', '.join(map(str, params.seeds))}."),
        *[Text(line) for line in origin.lines()],
    ]


def summary_blocks(params: Params, results: list[VariantResult], intervals: dict[str, Estimate], method: str,
                   flags: Flags) -> list[Block]:
    best = best_variant(results, intervals)
    return [
        Heading("Summary"),
        Text(f"Best: {best.name}, mean test accuracy {intervals[best.name].value:.2%} over "
             f"{len(params.seeds)} seed(s). Variants best first."),
        summary_table(results, intervals, flags),
        Text(f"Training seeds: {', '.join(map(str, params.seeds))}. 95% intervals of test accuracy: {method}"
             + (f" (add seeds to see how much a new seed moves a variant; a verdict needs {MIN_SEEDS} or more)"
                if len(params.seeds) == 1 else "") + "."
             + (f" Possibly under-trained (the best validation epoch was the last one; more epochs "
                f"might still help): {under_trained_list(results)}."
                if any(under_trained(r) for r in results) else "")),
        *[Text(line) for line in flag_lines(flags)],
        Image(linked(layout.REPORT.accuracy), "test accuracy of every variant with its 95% interval"
              + (", each seed a dot" if len(params.seeds) > 1 else "")),
        Table(["variant", "what it is"], [[r.name, r.description] for r in results]),
    ]


def data_blocks() -> list[Block]:
    files = layout.DATA_OVERVIEW
    overview = read_json(layout.require(files.metrics, "data_overview"))
    return [
        Heading("Data"),
        Text(f"{overview['classes']} classes; class sizes in the training split from {overview['train_smallest_class']}"
             f" to {overview['train_largest_class']} images (largest / smallest: {overview['train_imbalance']:.2f})."),
        *data_warnings(),
        Gallery([Image(linked(files.counts_figure), "images per class in each split"),
                 Image(linked(files.samples), "training images, a row per class")]),
    ]


def section_blocks(section: Section, intervals: dict[str, Estimate]) -> list[Block]:
    """A family's question, its verdicts, then its variants' pictures side by side and each
    variant's detail folded."""
    names = [r.name for r in section.variants]
    blocks: list[Block] = [Heading(section.title)]
    if section.question:
        blocks.append(Text(f"Question: {section.question}"))
    if section.judgements:
        blocks += [Text(f"Verdicts: {verdict_counts(section.judgements)} (how they are made: see the end; each "
                        "verdict's note holds its numbers and test)."), claims_table(section.judgements)]
    if section.time_figure is not None:
        blocks.append(Image(linked(section.time_figure), f"test accuracy against training time: {', '.join(names)}"))
    for r in section.variants:
        range_test = layout.lr_find(r.name).plot
        if range_test.exists():  # lr: auto - the learning rate came from this LR range test
            blocks.append(Image(Path("..") / range_test, f"{r.name}: LR range test, the suggestion marked"))
    blocks += [
        Text("Confusion matrices on the test set:"),
        Gallery([Image(linked(layout.tested(n).confusion), f"{n}: confusion matrix") for n in names]),
        # Tall figures (a row per class): folded, so the page stays short, one click from the comparison.
        Details("Saliency: every method on the same test images (the target is the true class), side by side",
                [Gallery([Image(linked(layout.tested(n).saliency_figure("methods")), f"{n}: saliency methods")
                          for n in names], min_width=480)]),
    ]
    blocks += [variant_details(r, intervals[r.name]) for r in section.variants]
    return blocks


def variant_details(r: VariantResult, estimate: Estimate) -> Details:
    tested = layout.tested(r.name)
    trained = r.train.get("epochs_trained")
    epochs = f" of {trained} trained" if trained else ""
    lr = f" Learning rate {r.train['lr']:.3g}." if "lr" in r.train else ""
    inner: list[Block] = [
        Text(f"{r.description} Best epoch {r.train['best_epoch']}{epochs} (val accuracy "
             f"{r.train['val_accuracy']:.2%}); test accuracy {r.test['test_accuracy']:.2%}.{lr}"),
        Image(linked(tested.misclassified), f"{r.name}: misclassified test images, most confident first"),
        Image(linked(tested.saliency_figure("targets")), f"{r.name}: one image, maps for several target classes"),
    ]
    if tested.saliency_figure("mistakes").exists():
        inner.append(Image(linked(tested.saliency_figure("mistakes")),
                           f"{r.name}: confident mistakes, map for the predicted vs the true class"))
    return Details(f"{r.name}: {estimate.value:.2%} mean test accuracy; mistakes and more saliency", inner,
                   anchor=f"variant-{r.name}")


def build_blocks(params: Params, results: list[VariantResult], intervals: dict[str, Estimate], method: str,
                 judgements: list[Judgement], flags: Flags, parts: list[Section], split: dict[str, list[int]],
                 origin: Provenance) -> list[Block]:
    """method: what every interval in `intervals` is over (they share it: the same seeds and test images)."""
    elsewhere = [j for j in judgements if j.verdict == "not run"]
    blocks: list[Block] = [
        Heading(TITLE, 1),
        *provenance_text(params, results, split, origin),
        *summary_blocks(params, results, intervals, method, flags),
        *data_blocks(),
    ]
    for section in parts:
        blocks += section_blocks(section, intervals)
    blocks += [
        Heading("Saliency: how faithful is each map?"),
        Text(f"On each variant's {results[0].saliency['images']} sampled test images. Deletion: the target's "
             "probability as the most salient pixels are removed first (set to the mean colour), integrated "
             "over the fraction removed. Insertion: the same, inserting them into a blurred copy. Sanity "
             "check (Adebayo et al.): the rank correlation of |map| with the maps of the same architecture "
             f"re-initialised; a method at {results[0].saliency['randomisation_max_correlation']} or above "
             "explains the image, not the model."),
        faithfulness_table(results, flags.at_chance),
        *skipped_methods(results),
        Heading("Training curves"),
        Image(linked(layout.REPORT.curves), "loss and accuracy per epoch, every variant"),
        Heading("How the verdicts are made"),
        verdicts_method(judgements),
    ]
    if elsewhere:
        blocks += [Text("Claims of experiments not in this run (add their variants to active to judge them):"),
                   claims_table(elsewhere)]
    return blocks


def write_history(results: list[VariantResult]) -> None:
    """Every variant's per-epoch history in one file, a row per (variant, epoch): the
    top-level plots of dvc.yaml draw each measure with every variant on one chart."""
    columns = list(dict.fromkeys(k for r in results for k in r.history))
    rows = [[r.name, *(number_cell(r.history[k][i]) if k in r.history else "" for k in columns)]
            for r in results for i in range(len(r.history.get("epoch", [])))]
    write_csv(layout.REPORT.history, ["variant", *columns], rows)


def family_figures(parts: list[Section], intervals: dict[str, Estimate]) -> None:
    """Test accuracy against training time, per section of two or more variants."""
    def draw(folder: Path) -> None:
        for section in parts:
            if section.time_figure is not None:
                points = {r.name: (r.timing["train_seconds"], intervals[r.name].value, intervals[r.name].low,
                                   intervals[r.name].high) for r in section.variants}
                save_figure(time_accuracy_figure(points, section.title), folder / section.time_figure.name)

    replace_dir(layout.REPORT.families, draw)


def publish(r: VariantResult) -> None:
    """Attach test metrics and pictures to the variant's MLflow run (one process for
    all variants: MLflow's import and store setup cost seconds per process)."""
    tested = layout.tested(r.name)
    metrics = {k: v for k, v in r.test.items() if k != "test_size"}
    metrics["test_misclassified"] = r.misclassified["misclassified"]
    for method, m in r.saliency["methods"].items():
        metrics.update({f"saliency_{method}_{k}": v for k, v in m.items() if k.endswith(("auc", "correlation"))})
    for row in r.per_class:  # per class: test_recall/<class>, test_f1/<class>
        name = re.sub(r"[^\w\-. ]", "_", row["class"])  # the characters MLflow allows in a metric name
        metrics.update({f"test_{k}/{name}": float(row[k]) for k in ("precision", "recall", "f1")})
    files = [tested.confusion, tested.per_class, tested.misclassified, tested.saliency_figure("methods")]
    tracking.log_results(layout.trained(r.name).mlflow_run, metrics, files)


def build_report(params: Params) -> Path:
    results = [collect(params, name) for name in params.active]
    save_figure(curves_figure({r.name: r.history for r in results}), layout.REPORT.curves)
    write_history(results)
    scores = workspace_scores(params)
    intervals = {r.name: accuracy(scores.correct(r.name), scores.same_images) for r in results}
    method = next(iter(intervals.values())).method
    split = read_json(layout.SPLIT)
    flags = flag(params, results, intervals, scores.chance, len(split["val"]))
    save_figure(intervals_figure({n: (e.value, e.low, e.high) for n, e in intervals.items()}, method,
                                 {n: e.per_seed for n, e in intervals.items()},
                                 {n: list(found) for n, found in flags.outliers.items()}, scores.chance),
                layout.REPORT.accuracy)
    claims = load_claims_file()
    judgements = judge_all(claims.claims, scores)
    parts = sections(claims.families, results, judgements)
    family_figures(parts, intervals)
    write_json(layout.REPORT.summary, summary_metrics(intervals))
    blocks = build_blocks(params, results, intervals, method, judgements, flags, parts, split, provenance())
    write_text(layout.REPORT.markdown, to_markdown(blocks))
    write_text(layout.REPORT.html, to_html(blocks, layout.REPORTS, TITLE))
    for r in results:
        publish(r)
    best = best_variant(results, intervals)
    version = tracking.register_model(layout.trained(best.name).mlflow_run,
                                      f"{best.name}: mean test accuracy {intervals[best.name].value:.4f} over "
                                      f"{len(params.seeds)} seed(s) on {params.data.dataset}")
    if version is not None:
        print(f"report: best variant {best.name} registered in MLflow as models:/{tracking.REGISTERED_MODEL}/{version}")
    for line in flag_lines(flags):
        print(f"report: {line}")
    print(f"report: {layout.REPORT.html} ({len(results)} variants)")
    return layout.REPORT.html
