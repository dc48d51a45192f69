"""Uncertainty of every comparison cnnlab shows, and the verdict on each original claim."""
