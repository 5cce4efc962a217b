"""Tests of segycore's pipeline layer."""
