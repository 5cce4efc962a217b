"""Tests of segycore (a package, so every helper module has one unambiguous name)."""
