"""Semantic lint rules, one module per area; each exposes `check(ctx) -> list[Problem]`."""
