"""The dataset folder: traces, headers, ensemble indexes, metadata, and ``info``.

Uses :mod:`segycore.format` and :mod:`segycore.storage`, never the layers above.
"""
