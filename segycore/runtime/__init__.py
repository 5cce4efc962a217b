"""The supervisor process, its shared-memory progress block, and the job API over both.

The top layer under the front ends: it runs :mod:`segycore.pipeline` coordinators.
"""
