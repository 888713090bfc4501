"""Hostile submissions of the one-layer MNIST exercise, built from the released notebook."""
