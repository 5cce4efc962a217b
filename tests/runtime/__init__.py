"""Tests of segycore's runtime layer."""
