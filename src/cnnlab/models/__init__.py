"""The one model registry: a name in params.yaml -> its argument schema and builder."""

from cnnlab.models.registry import (MODELS, ModelSpec, build_model, count_parameters, input_stats,
                                    parse_model_spec)

__all__ = ["MODELS", "ModelSpec", "build_model", "count_parameters", "input_stats", "parse_model_spec"]
