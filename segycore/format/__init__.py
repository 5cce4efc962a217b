"""SEG-Y itself: the vocabulary (fields, formats), the file layout, the sample codecs.

The lowest layer: it imports nothing of segycore but :mod:`segycore.errors`.
"""
