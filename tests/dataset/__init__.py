"""Tests of segycore's dataset layer."""
