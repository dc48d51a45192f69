"""Explanations: the saliency registry, per-class sampling, panels."""
