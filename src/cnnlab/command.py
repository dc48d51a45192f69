"""The `cnnlab` command (also `python -m cnnlab`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.explain.registry import SALIENCY

METHODS = [name for name, method in SALIENCY.items() if not method.reference]


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="cnnlab", description="cnnlab: train, compare and explain image classifiers.")
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("explain", help="what a model looks at in any image file",
                        description="Print the top classes of each image and write its original, heatmap and "
                                    "overlay PNGs.")
    ex.add_argument("images", nargs="+", type=Path, help="image files (JPEG, PNG, ...; any size or mode)")
    ex.add_argument("--model", required=True,
                    help="a trained variant (models/VARIANT) or imagenet:ARCH (vgg16, mobilenet_v2, "
                         "mobilenet_v3_large: torchvision's ImageNet classifier, weights on this machine)")
    ex.add_argument("--method", default="gradcam", choices=METHODS)
    ex.add_argument("--target", help="explain this class (a class name) instead of the top prediction")
    ex.add_argument("--out", type=Path, default=Path("explanations"), help="output folder (default: explanations)")
    ex.add_argument("--top", type=int, default=5, help="how many classes to print (default: 5)")
    ex.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    cp = sub.add_parser("compare", help="is variant A really better than B? (intervals and a verdict)",
                        description="The paired comparison of two evaluated variants on the same test images: "
                                    "both accuracies with 95% intervals, the difference with its interval, the "
                                    "exact McNemar test, and the verdict. NAME is a variant of this workspace "
                                    "(baseline) or VARIANT@EXPERIMENT (baseline@sgd; any git revision works).")
    cp.add_argument("a", metavar="A")
    cp.add_argument("b", metavar="B")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "explain":
            from cnnlab.explain.image import explain_files  # torch loads only when needed

            explain_files(args.images, args.model, args.method, args.target, args.out, args.top, args.device)
        elif args.command == "compare":
            from cnnlab.compare.command import run_compare

            run_compare(args.a, args.b)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
