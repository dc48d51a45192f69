"""Checks that several architectures share."""

from cnnlab.errors import UserError


def require_poolable(image_size: int, pools: int, model: str) -> None:
    """Each 2x2 max-pool halves the image; `pools` of them must leave at least one pixel."""
    if image_size >> pools < 1:
        raise UserError(
            f"params.yaml: data.image_size {image_size} is too small for {model}'s {pools} pooling "
            f"stages (each halves the size). Raise data.image_size or list fewer model.channels.")
