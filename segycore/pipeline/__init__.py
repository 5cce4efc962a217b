"""The staged coordinators (import, export) and the workers that run their parallel stages.

Uses :mod:`segycore.dataset`, :mod:`segycore.format` and :mod:`segycore.storage`; knows
nothing of the supervisor process or the progress block above it.
"""
