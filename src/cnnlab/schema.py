"""Typed, validated construction of frozen dataclasses from plain YAML data.

Every section of params.yaml (and every model's arguments) is a dataclass. Building
one from a mapping checks types, allowed values and numeric bounds, and rejects
unknown keys with a "did you mean" hint, so a typo never silently falls back to a
default. Errors name the full dotted key, e.g. ``variants.augmented.lr``.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

from cnnlab.errors import UserError

T = TypeVar("T")


def bounded(default: Any, *, ge: float | None = None, gt: float | None = None,
            le: float | None = None, lt: float | None = None) -> Any:
    """A dataclass field with numeric bounds checked by :func:`build`."""
    bounds = {k: v for k, v in {"ge": ge, "gt": gt, "le": le, "lt": lt}.items() if v is not None}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"bounds": bounds})
    return dataclasses.field(default=default, metadata={"bounds": bounds})


def read_yaml(path: Path) -> Any:
    """A YAML file's data, or one UserError saying the file is missing or where its syntax breaks."""
    if not path.exists():
        raise UserError(f"{path} not found; run from the repository root, where {path.name} lives.")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML: {exc}. Fix the syntax at the line shown.") from None


def fail(key: str, problem: str, file: str = "params.yaml") -> UserError:
    end = "" if problem.endswith("?") else "."
    remedy = f" (or pass -S {key}=... to dvc exp run)" if file == "params.yaml" else ""
    return UserError(f"{file}: {key} {problem}{end} Fix it in {file}{remedy}.")


def build(cls: type[T], raw: Any, where: str, file: str = "params.yaml") -> T:
    """Build dataclass ``cls`` from mapping ``raw``; ``where`` is its dotted key in ``file``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise fail(where, f"must be a mapping of keys, got {raw!r}", file)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            hint = difflib.get_close_matches(str(key), fields, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; known keys: {', '.join(fields)}"
            raise fail(f"{where}.{key}" if where else str(key), f"is not a known key{suggestion}", file)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        key = f"{where}.{name}" if where else name
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise fail(key, "is missing", file)
            continue
        value = coerce(hints[name], raw[name], key, file)
        check_bounds(value, f.metadata.get("bounds", {}), key, file)
        kwargs[name] = value
    return cls(**kwargs)


def check_bounds(value: Any, bounds: dict[str, float], key: str, file: str = "params.yaml") -> None:
    values = value if isinstance(value, list) else [value]
    # Only numbers have bounds: a field may also allow a word, like saliency.fill: mean.
    for v in (v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)):
        for op, limit in bounds.items():
            ok = {"ge": v >= limit, "gt": v > limit, "le": v <= limit, "lt": v < limit}[op]
            if not ok:
                sign = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[op]
                raise fail(key, f"must be {sign} {limit}, got {value!r}", file)


def describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {describe(get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    if origin is Union:
        return " or ".join(describe(a) for a in get_args(tp))
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, str(tp))


def coerce(tp: Any, value: Any, key: str, file: str = "params.yaml") -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, key, file)
    if tp is Any:
        return value
    if origin is Union:
        for option in get_args(tp):
            try:
                return coerce(option, value, key, file)
            except UserError:
                continue
        raise fail(key, f"must be {describe(tp)}, got {value!r}", file)
    if origin is Literal:
        if value in get_args(tp) and type(value) in {type(a) for a in get_args(tp)}:
            return value
        raise fail(key, f"must be {describe(tp)}, got {value!r}", file)
    if origin is list:
        if not isinstance(value, list):
            raise fail(key, f"must be {describe(tp)}, got {value!r}", file)
        (item,) = get_args(tp)
        return [coerce(item, v, f"{key}[{i}]", file) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise fail(key, f"must be a mapping, got {value!r}", file)
        _, item = get_args(tp)
        return {k: coerce(item, v, f"{key}.{k}", file) for k, v in value.items()}
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(tp)
    if ok is None:
        raise TypeError(f"schema cannot check type {tp!r} at {key}")
    if not ok:
        raise fail(key, f"must be {describe(tp)}, got {value!r}", file)
    return float(value) if tp is float else value


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaf values, as `dvc exp run -S` and MLflow's params name them:
    {"a": {"b": 1}} -> {"a.b": 1}; a list is one value, as `-S key=[...]` sets it."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out
