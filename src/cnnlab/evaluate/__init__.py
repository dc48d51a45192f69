"""Evaluation: test metrics, confusion, misclassified images."""
