"""Every matplotlib figure, in one home that every stage calls (headless: files only)."""

import matplotlib

matplotlib.use("Agg")
