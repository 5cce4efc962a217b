"""Reliability: hostile input, faults, soak, concurrency, safety."""
