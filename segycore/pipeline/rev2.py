"""Rev 2 file structure in the import and export coordinators.

Until the coordinators carry additional trace headers, header gaps and trailers through
to the dataset and back, :func:`refuse_unwired` refuses such files with one clear message
instead of importing a dataset that would not export back byte for byte.
"""

from __future__ import annotations

from ..errors import SegyFormatError
from ..format.layout import SegyLayout

__all__ = ["refuse_unwired"]


def refuse_unwired(layout: SegyLayout) -> None:
    """Refuse what the layout reads but import does not yet keep."""
    parts = []
    if layout.extra_headers:
        parts.append(f"{layout.extra_headers} additional 240-byte trace headers per trace")
    if layout.header_gap:
        parts.append(f"{len(layout.header_gap)} bytes before the first trace (bytes 3521-3528)")
    if layout.trailer:
        parts.append(f"{len(layout.trailer) // 3200} trailer stanza records (bytes 3529-3532)")
    if parts:
        raise SegyFormatError(
            f"{layout.path.name}: importing a file with {' and '.join(parts)} is not supported yet"
        )
