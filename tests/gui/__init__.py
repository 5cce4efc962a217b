"""Tests of the desktop application (segycore_gui), offscreen."""
