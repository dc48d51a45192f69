"""Data: sources, the canonical ImageSet, split, stats, augmentation, batching."""
