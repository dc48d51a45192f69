"""Every key of params.yaml, walked from the schema itself, is checked the same way: an
unknown key gets a suggestion, a wrong type, a value out of range or an unknown name
stops with the key's full path and what it must be. A key added later is covered
without editing this file."""

from __future__ import annotations

import copy
import dataclasses
import typing
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin

import pytest
import yaml

from cnnlab.errors import UserError
from cnnlab.models.registry import MODELS
from cnnlab.params import (
    DataOverviewParams,
    DataParams,
    LRFindParams,
    MisclassifiedParams,
    SaliencyParams,
    SplitParams,
    TrainParams,
    parse_params,
)
from tests.conftest import ROOT

SECTIONS = {"data": DataParams, "split": SplitParams, "saliency": SaliencyParams,
            "misclassified": MisclassifiedParams,
            "data_overview": DataOverviewParams, "lr_find": LRFindParams, "train": TrainParams}


def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def fields_of(cls: type, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, dataclasses.Field]]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from fields_of(hints[f.name], path + (f.name,))
        elif get_origin(hints[f.name]) is not dict:
            yield path + (f.name,), hints[f.name], f


def every_key() -> Iterator[tuple[tuple[str, ...], Any, dataclasses.Field, dict]]:
    """(key path, type, field, the `train.model` block to use) for every checked key."""
    for section, cls in SECTIONS.items():
        for path, tp, f in fields_of(cls, (section,)):
            yield path, tp, f, {}
    for name, entry in MODELS.items():
        for path, tp, f in fields_of(entry.args, ("train", "model")):
            yield path, tp, f, {"name": name}


KEYS = list(every_key())
IDS = [".".join(p) + (f"[{m['name']}]" if m else "") for p, _, _, m in KEYS]


def with_value(path: tuple[str, ...], value: Any, model: dict) -> dict:
    raw = raw_params()
    raw["variants"] = {"only": {}}
    raw["active"] = ["only"]
    if model:
        raw["train"]["model"] = dict(model)
    node = raw
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return raw


def message_for(raw: dict) -> str:
    with pytest.raises(UserError) as err:
        parse_params(raw)
    message = str(err.value)
    assert "\n" not in message
    return message


def wrong_type(tp: Any) -> Any:
    """A value no field of this type accepts."""
    return {"a": "mapping"} if get_origin(tp) is list else [["nested"]]


def outside(bounds: dict[str, float]) -> list[tuple[Any, str]]:
    out = []
    for op, limit in bounds.items():
        value = {"ge": limit - 1 if limit >= 1 else limit - 0.5, "gt": limit, "le": limit + 1, "lt": limit}[op]
        out.append((value, {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[op]))
    return out


def literal_words(tp: Any) -> list[Any]:
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    if get_origin(tp) in (Union, list):
        return [w for a in get_args(tp) for w in literal_words(a)]
    return []


def test_the_walk_covers_every_section_and_model():
    assert {p[0] for p, _, _, _ in KEYS} == set(SECTIONS)
    assert {m["name"] for _, _, _, m in KEYS if m} >= {"convnet", "mycnn", "resnet18", "mlp", "vgg16"}
    assert ("data", "on_bad_image") in {p for p, _, _, _ in KEYS}
    assert ("train", "augment", "cutout_p") in {p for p, _, _, _ in KEYS}


@pytest.mark.parametrize("path, tp, field, model", KEYS, ids=IDS)
def test_a_misspelt_key_is_named_with_a_suggestion(path, tp, field, model):
    raw = with_value(path, None, model)
    parent = raw
    for part in path[:-1]:
        parent = parent[part]
    parent.pop(path[-1])
    parent[path[-1] + "x"] = 1
    message = message_for(raw)
    assert ".".join(path) + "x" in message and f"did you mean '{path[-1]}'" in message


@pytest.mark.parametrize("path, tp, field, model", KEYS, ids=IDS)
def test_a_value_of_the_wrong_type_is_named_with_what_it_must_be(path, tp, field, model):
    message = message_for(with_value(path, wrong_type(tp), model))
    assert ".".join(path) in message and "must be" in message


@pytest.mark.parametrize("path, tp, field, model", [k for k in KEYS if k[2].metadata.get("bounds")],
                         ids=[i for i, k in zip(IDS, KEYS, strict=True) if k[2].metadata.get("bounds")])
def test_a_value_out_of_range_is_named_with_the_limit(path, tp, field, model):
    for value, sign in outside(field.metadata["bounds"]):
        if get_origin(tp) is list:
            value = [value]
        elif tp is int or int in get_args(tp):
            value = int(value) if float(value).is_integer() else int(value) - 1
        message = message_for(with_value(path, value, model))
        assert ".".join(path) in message and f"must be {sign}" in message


@pytest.mark.parametrize("path, tp, field, model", [k for k in KEYS if literal_words(k[1])],
                         ids=[i for i, k in zip(IDS, KEYS, strict=True) if literal_words(k[1])])
def test_an_unknown_name_lists_the_allowed_ones(path, tp, field, model):
    value = ["no_such_name"] if get_origin(tp) is list else "no_such_name"
    message = message_for(with_value(path, value, model))
    assert ".".join(path) in message and all(repr(w) in message for w in literal_words(tp))


def test_unknown_model_and_variant_names_list_the_known_ones():
    raw = raw_params()
    raw["train"]["model"] = {"name": "resnet19"}
    message = message_for(raw)
    assert "train.model.name 'resnet19'" in message and "resnet18" in message and "mobilenet_v2" in message
    raw = raw_params()
    raw["active"] = ["basline"]
    message = message_for(raw)
    assert "'basline'" in message and "baseline" in message


def test_unknown_top_level_sections_get_a_suggestion():
    raw = raw_params()
    raw["saliancy"] = copy.deepcopy(raw["saliency"])
    assert "did you mean 'saliency'" in message_for(raw)


@pytest.mark.parametrize("where", ["train", "variants.only"])
def test_a_device_that_is_not_one_is_named_where_it_is_set(where):
    raw = with_value(("train", "device"), "cpu", {})
    (raw["train"] if where == "train" else raw["variants"]["only"])["device"] = "gpu"
    message = message_for(raw)
    assert f"{where}.device" in message and "auto, cpu, cuda" in message and "'gpu'" in message
    raw["train"]["device"], raw["variants"]["only"]["device"] = "auto", "cuda:1"
    assert parse_params(raw).variant("only").train.device == "cuda:1"
