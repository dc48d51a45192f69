"""How many images go into one batch when memory, not the params, sets the bound."""


def images_per_batch(values_per_image: int, budget: int, most: int, least: int = 1) -> int:
    """As many images of `values_per_image` float values as fit `budget` values, but no more
    than `most` and no fewer than `least` (at least one always goes)."""
    return max(least, min(most, budget // max(1, values_per_image)))
