"""Performance measurements (reported as figures, never asserted as timings in tests)."""
