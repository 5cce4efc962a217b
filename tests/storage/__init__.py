"""Tests of segycore's storage layer."""
