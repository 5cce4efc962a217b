"""Bytes on disk: positional I/O with portable fallbacks, atomic staging, segment merging.

Beside :mod:`segycore.format` at the bottom: it imports nothing of segycore but
:mod:`segycore.errors`.
"""
