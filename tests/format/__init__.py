"""Tests of segycore's format layer."""
