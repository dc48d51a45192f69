"""The params.yaml schema: validated once, with errors that name the key.

`train` holds the defaults every variant shares; `variants.V` overrides only what
differs (deep-merged, so `variants.V.model.kernel_size` changes one model argument).
A variant that names a different `model.name` replaces the model block entirely,
since one architecture's arguments mean nothing to another.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cnnlab.data.registry import SOURCES, auto_image_size
from cnnlab.errors import UserError
from cnnlab.explain.registry import DEFAULT_METHODS, FEATURE_WORDS, SALIENCY, missing_for
from cnnlab.models.registry import MODELS, ModelSpec, parse_model_spec
from cnnlab.schema import bounded, build, fail, read_yaml


@dataclass(frozen=True)
class DataParams:
    dataset: Literal[tuple(SOURCES)] = "digits"  # type: ignore[valid-type]  # the sources registry's names
    # For `folder`: a directory or .tar/.tar.gz/.tgz/.zip of class subfolders.
    path: str = "datasets"
    # auto: the source's own size, at least 16 px (digits 16, MNIST 28, CIFAR-10 32), and 32
    # for sources of many sizes; resolved here, so every stage sees a number.
    image_size: int | Literal["auto"] = bounded("auto", ge=8)
    channels: Literal[1, 3] = 3
    # Where torchvision's downloaders keep their files (cnnlab never deletes them).
    download_dir: str = "data/downloads"
    # A file with an image extension that does not decode (empty, truncated, not an image,
    # more pixels than max_image_pixels): skip it and list it in data/raw/skipped.csv, or fail.
    on_bad_image: Literal["skip", "fail"] = "skip"
    # Larger images are refused before decoding (decompression bombs); PIL's default.
    max_image_pixels: int = bounded(89_478_485, ge=1)
    # For `shapes`: how many images to generate, and from which seed (its own, so that
    # changing the training seed keeps the data).
    synthetic_images: int = bounded(2000, ge=8)
    synthetic_seed: int = 0

    def __post_init__(self) -> None:
        if self.image_size == "auto":
            object.__setattr__(self, "image_size", auto_image_size(self.dataset))


@dataclass(frozen=True)
class SplitParams:
    val_fraction: float = bounded(0.15, gt=0.0, lt=1.0)
    # Ignored when the source has an official test split.
    test_fraction: float = bounded(0.2, gt=0.0, lt=1.0)
    # Each training seed draws its own split (data-sampling variance too), instead of
    # every run sharing the one drawn from `seed`.
    per_seed: bool = False


@dataclass(frozen=True)
class AugmentParams:
    # Random-resized crop: the smallest area fraction of the crop (torchvision's
    # scale[0], e.g. 0.08), aspect ratio 3/4..4/3, resized back to the image size (0: off).
    resized_crop: float = bounded(0.0, ge=0.0, le=1.0)
    # true: each image flipped with probability 1/2 each epoch; alternate: each image's flip
    # drawn once, then flipped every other epoch (airbench's, so every image is seen both ways
    # in any two epochs in a row).
    hflip: bool | Literal["alternate"] = False
    crop_padding: int = bounded(0, ge=0)
    # What the padding of the random crop is: zero (black), mean (the mean colour) or
    # reflect (the image mirrored at its edge: a small translation that adds no new edge).
    crop_fill: Literal["zero", "mean", "reflect"] = "zero"
    # Strength of brightness, contrast and saturation jitter: factors in [1-s, 1+s].
    color_jitter: float = bounded(0.0, ge=0.0, le=1.0)
    # Side of the square cut out of a training image (0: off), and how often.
    cutout: int = bounded(0, ge=0)
    cutout_p: float = bounded(1.0, ge=0.0, le=1.0)

    @property
    def active(self) -> bool:
        return (self.resized_crop > 0 or self.hflip is not False or self.crop_padding > 0 or self.color_jitter > 0
                or (self.cutout > 0 and self.cutout_p > 0))


@dataclass(frozen=True)
class TrainParams:
    model: dict[str, Any]
    description: str = ""
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    # A number, or auto: the suggestion of the LR range test (the lr_find@V stage).
    lr: Literal["auto"] | float = bounded(1e-3, gt=0.0)
    momentum: float = bounded(0.9, ge=0.0, lt=1.0)
    nesterov: bool = True
    weight_decay: float = bounded(0.0, ge=0.0)
    # true: the weight decay does not change with the peak lr chosen (AdamW's; for SGD
    # airbench's form, weight_decay / lr, so the shrink per step is lr_t / lr x weight_decay).
    decoupled_weight_decay: bool = False
    # The learning rate of normalisation layers' biases (BatchNorm's) times this, their decay
    # per step unchanged (airbench's bias_scaler, 64): they move fast at little risk.
    bias_lr_scale: float = bounded(1.0, gt=0.0)
    label_smoothing: float = bounded(0.0, ge=0.0, lt=1.0)
    batch_size: int = bounded(64, ge=1)
    epochs: int = bounded(10, ge=1)
    # Early stopping: stop after this many epochs without a better val accuracy (0: off).
    patience: int = bounded(0, ge=0)
    # How much higher a val accuracy must be to count as better: for early stopping, the
    # epoch kept and plateau decays alike (0.002: 15 of 7,500 images).
    min_delta: float = bounded(0.0, ge=0.0, lt=1.0)
    # each_epoch: validation after every epoch (the curves, early stopping, plateau and the
    # kept epoch use it). last_epoch: only after the last, airbench's for a fixed schedule,
    # whose last epoch is the one kept: the other epochs' validation numbers stay empty.
    validate: Literal["each_epoch", "last_epoch"] = "each_epoch"
    scheduler: Literal["none", "step", "onecycle", "cosine", "plateau", "triangle"] = "none"
    step_size: int = bounded(5, ge=1)
    # step and plateau: the factor each decay multiplies the LR by.
    gamma: float = bounded(0.1, gt=0.0, le=1.0)
    # plateau: epochs without a better val accuracy that are let pass; the next one decays
    # the LR (torch's ReduceLROnPlateau patience: 1 decays at the second such epoch in a row).
    plateau_patience: int = bounded(1, ge=0)
    pct_start: float = bounded(0.3, gt=0.0, lt=1.0)
    # Exponential moving average of the weights (and BatchNorm statistics), updated after
    # every batch with this decay (0: off); validation, the kept epoch and the saved model
    # are the average's.
    ema: float = bounded(0.0, ge=0.0, lt=1.0)
    # airbench's lookahead (train/lookahead.py): every this many batches the weights are pulled
    # back into a slow copy of them, averaged with decay ema**k x (step / steps)**3, and every
    # epoch ends on the slow copy (0: off). With it, ema is its decay and no separate average is kept.
    lookahead: int = bounded(0, ge=0)
    # Test-time augmentation of the test predictions (evaluate@V): the mean logits over the
    # image and its mirror (flip), and over one-pixel shifts of both (flip_translate).
    # Validation, run every epoch to choose the kept one, stays plain: TTA costs 2 or 6 passes.
    tta: Literal["none", "flip", "flip_translate"] = "none"
    device: str = "auto"
    # >1: DistributedDataParallel over this many processes on this machine (torchrun
    # --standalone), each training a slice of every batch; with cuda, one GPU per process.
    processes: int = bounded(1, ge=1)
    # bf16: mixed precision (torch.autocast: bfloat16 convolutions and matmuls, float32 weights,
    # loss and optimizer), with channels-last tensors, where bf16 kernels are fastest.
    precision: Literal["fp32", "bf16"] = "fp32"
    # torch.compile of the training step, by backend: inductor (the compiler: fused kernels,
    # needs a C++ compiler on a CPU), aot_eager or eager (trace only, no speed-up: a check
    # that the model compiles). Compiled before the first epoch; timing.json has its seconds apart.
    compile: Literal["none", "inductor", "aot_eager", "eager"] = "none"
    augment: AugmentParams = field(default_factory=AugmentParams)


@dataclass(frozen=True)
class LRFindParams:
    """The LR range test (Smith 2017; the procedure of torch-lr-finder)."""
    start_lr: float = bounded(1e-7, gt=0.0)
    end_lr: float = bounded(10.0, gt=0.0)
    iterations: int = bounded(100, ge=20)
    # Exponential smoothing of the loss: weight of the newest value.
    smoothing: float = bounded(0.05, gt=0.0, le=1.0)
    # Stop once the smoothed loss exceeds this multiple of the best seen.
    diverge: float = bounded(5.0, gt=1.0)


# The saliency registry's method names. random and sobel know nothing of the model: they
# are the reference every method must beat.
SaliencyMethod = Literal[tuple(SALIENCY)]  # type: ignore[valid-type]


@dataclass(frozen=True)
class SaliencyParams:
    # What saliency@V draws and measures.
    # The defaults run where they apply (Grad-CAM needs a convolution: an MLP is skipped);
    # a list of your own must have every method apply to at least one active variant.
    methods: list[SaliencyMethod] = field(default_factory=lambda: list(DEFAULT_METHODS))
    per_class: int = bounded(1, ge=1)
    # Grad-CAM's layer, as a module name ("features.6"); "" finds the last convolution.
    target_layer: str = ""
    window: int = bounded(8, ge=1)
    stride: int = bounded(4, ge=1)
    # Occluder: "mean" (the training mean colour), "blur" (a blurred copy of the image)
    # or a grey level in [0, 1].
    fill: Literal["mean", "blur"] | float = bounded("mean", ge=0.0, le=1.0)
    # What occlusion measures the drop of: the target's probability or its logit.
    occlusion_on: Literal["probability", "logit"] = "probability"
    # Occluded (or interpolated) copies per forward pass, at most; large images get fewer.
    batch_size: int = bounded(128, ge=1)
    integrated_gradients_steps: int = bounded(32, ge=2)
    # Points on the deletion and insertion curves (fractions 0, 1/steps, ..., 1 of the pixels).
    faithfulness_steps: int = bounded(16, ge=2)
    # At most this many images are explained (a seeded choice of classes when there are more);
    # the view of confident mistakes shows at most 6, and never more than this.
    max_images: int = bounded(20, ge=1)


@dataclass(frozen=True)
class MisclassifiedParams:
    max_images: int = bounded(36, ge=1)


@dataclass(frozen=True)
class DataOverviewParams:
    samples_per_class: int = bounded(8, ge=1)  # training images shown per class
    max_classes: int = bounded(20, ge=1)  # rows of the sample grid (a seeded choice when there are more classes)


@dataclass(frozen=True)
class Params:
    # Kept as written: each variant is merged onto it, then validated as TrainParams.
    train: dict[str, Any]
    active: list[str]
    variants: dict[str, dict[str, Any]]
    # The split's seed (unless split.per_seed), and the sampling of images to explain.
    seed: int = 42
    # Training seeds: each (variant, seed) is a run of its own (weights, data order,
    # augmentation, dropout). The first is train@V's; statistics use all of them.
    seeds: list[int] = field(default_factory=lambda: [42])
    data: DataParams = field(default_factory=DataParams)
    split: SplitParams = field(default_factory=SplitParams)
    saliency: SaliencyParams = field(default_factory=SaliencyParams)
    misclassified: MisclassifiedParams = field(default_factory=MisclassifiedParams)
    data_overview: DataOverviewParams = field(default_factory=DataOverviewParams)
    lr_find: LRFindParams = field(default_factory=LRFindParams)

    def variant(self, name: str) -> Variant:
        return resolve_variant(self, name)

    def training_seed(self, seed: int | None = None) -> int:
        """`seed`, or when none is given the first training seed (train@V's)."""
        return self.seeds[0] if seed is None else seed

    def split_seed(self, training_seed: int | None = None) -> int:
        """The seed of the split that the run with this training seed (by default the first,
        whose split is data/split.json) trains, validates and tests on."""
        if not self.split.per_seed:
            return self.seed
        return self.training_seed(training_seed)

    def draws_own_split(self, training_seed: int | None) -> bool:
        """Whether that run's split is its own rather than data/split.json."""
        return self.split_seed(training_seed) != self.split_seed()


@dataclass(frozen=True)
class Variant:
    name: str
    train: TrainParams
    model: ModelSpec


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            if key == "model" and value.get("name", merged[key].get("name")) != merged[key].get("name"):
                merged[key] = copy.deepcopy(value)
            else:
                merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def check_device_name(name: str, key: str) -> None:
    """The device's spelling is checked with the rest of params; whether a GPU is there,
    only when a stage needs it."""
    if not DEVICE_PATTERN.fullmatch(name):
        raise fail(key, f"must be auto, cpu, cuda, cuda:N or mps, got {name!r}")


def check_plateau(train: TrainParams, where: str) -> None:
    """Early stopping that fires before a plateau decay could ever help would end every
    run at the first plateau, at the starting LR."""
    if train.scheduler == "plateau" and 0 < train.patience <= train.plateau_patience + 1:
        raise fail(f"{where}.patience", f"({train.patience}) must be at least plateau_patience + 2 "
                   f"({train.plateau_patience + 2}) with scheduler: plateau, or early stopping ends the run "
                   f"before an epoch at the decayed learning rate; raise patience or lower plateau_patience")


def check_lookahead(train: TrainParams, where: str) -> None:
    if train.lookahead and not train.ema:
        raise fail(f"{where}.lookahead", f"({train.lookahead}) averages with decay ema, which is 0; "
                   "set ema (airbench: 0.95) or lookahead: 0")


def check_validation(train: TrainParams, where: str) -> None:
    """Early stopping and plateau decay act on every epoch's val accuracy."""
    if train.validate == "last_epoch" and (train.patience > 0 or train.scheduler == "plateau"):
        raise fail(f"{where}.validate", "(last_epoch) leaves early stopping (patience) and scheduler: plateau no "
                   "val accuracy to act on; set validate: each_epoch, or patience: 0 and another scheduler")


def check_train(train: TrainParams, where: str) -> None:
    """What the schema's types and bounds cannot say of a train block (the defaults' or a variant's)."""
    check_device_name(train.device, f"{where}.device")
    check_plateau(train, where)
    check_lookahead(train, where)
    check_validation(train, where)


def resolve_variant(params: Params, name: str) -> Variant:
    if name not in params.variants:
        raise UserError(f"params.yaml: no variant '{name}' under variants "
                        f"(known: {', '.join(params.variants)}).")
    where = f"variants.{name}"
    override = params.variants[name] or {}
    if not isinstance(override, dict):
        raise UserError(f"params.yaml: {where} must be a mapping of train keys to override.")
    merged = deep_merge(params.train, override)
    train = build(TrainParams, merged, where)
    check_train(train, where)
    return Variant(name, train, parse_model_spec(train.model, f"{where}.model"))


def parse_params(raw: Any) -> Params:
    params = build(Params, raw, "")
    defaults = build(TrainParams, params.train, "train")
    check_train(defaults, "train")
    parse_model_spec(defaults.model, "train.model")
    if not params.active:
        raise UserError("params.yaml: active is empty; list at least one variant to run.")
    for name in params.active:
        if name not in params.variants:
            raise UserError(f"params.yaml: active lists '{name}', which is not under variants "
                            f"(known: {', '.join(params.variants)}). Add it or remove it from active.")
    # every one, so a typo surfaces before it is made active
    resolved = {name: resolve_variant(params, name) for name in params.variants}
    if not params.seeds:
        raise UserError("params.yaml: seeds is empty; list at least one training seed, e.g. seeds: [42].")
    if len(set(params.seeds)) != len(params.seeds):
        twice = sorted({s for s in params.seeds if params.seeds.count(s) > 1})
        raise UserError(f"params.yaml: seeds lists {', '.join(map(str, twice))} more than once; "
                        f"list each seed once.")
    check_methods_apply(params, [resolved[name] for name in params.active])
    if params.lr_find.start_lr >= params.lr_find.end_lr:
        raise UserError(f"params.yaml: lr_find.start_lr ({params.lr_find.start_lr:g}) must be below "
                        f"lr_find.end_lr ({params.lr_find.end_lr:g}).")
    if params.data.dataset == "folder" and not params.data.path:
        raise UserError("params.yaml: data.path is empty; point it at a folder or archive of "
                        "class subfolders when data.dataset is 'folder'.")
    return params


def check_methods_apply(params: Params, active: list[Variant]) -> None:
    """A saliency method chosen by hand that no active variant can run is a mistake to
    catch before anything trains (the defaults simply skip the models they do not fit)."""
    if list(params.saliency.methods) == list(DEFAULT_METHODS):
        return
    for method in dict.fromkeys(params.saliency.methods):
        if all(missing_for(method, MODELS[v.model.name].features) for v in active):
            needs = " and ".join(FEATURE_WORDS[n] for n in sorted(SALIENCY[method].needs))
            raise UserError(f"params.yaml: saliency.methods lists {method}, which needs {needs}, and no active "
                            f"variant ({', '.join(params.active)}) has one; remove {method} from "
                            f"saliency.methods or make a variant that has one active.")


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path} must be a mapping of sections (data, split, train, ...).")
    return parse_params(raw)
