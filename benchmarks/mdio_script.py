"""MDIO (``multidimio``) import and export through its Python API, as a contender.

MDIO 1.1.3's command line is broken, so this drives ``mdio.segy_to_mdio`` and
``mdio.mdio_to_segy`` directly. The workloads are 2-D streamer shot gathers: shot point
in bytes 17-20 (energy source point), channel in bytes 13-16, which is MDIO's
``StreamerShotGathers2D`` template. Export needs the SEG-Y file headers, which MDIO
keeps only with ``MDIO__IMPORT__SAVE_SEGY_FILE_HEADER=1`` (set here). Usage::

    python mdio_script.py import SOURCE.sgy STORE.mdio
    python mdio_script.py export STORE.mdio DESTINATION.sgy

Run it with an interpreter that has ``multidimio`` installed (``pip install multidimio``,
e.g. in a virtual environment made with ``--system-site-packages``).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("MDIO__IMPORT__SAVE_SEGY_FILE_HEADER", "1")

__all__ = ["main"]

TEMPLATE = "StreamerShotGathers2D"


def _spec():  # -> segy.schema.SegySpec
    from segy.schema import HeaderField
    from segy.standards import get_segy_standard

    return get_segy_standard(1.0).customize(
        trace_header_fields=[
            HeaderField(name="shot_point", byte=17, format="int32"),
            HeaderField(name="channel", byte=13, format="int32"),
        ]
    )


def main(argv: list[str]) -> int:
    """``import SOURCE STORE`` or ``export STORE DESTINATION``."""
    if len(argv) != 3 or argv[0] not in ("import", "export"):
        print(__doc__, file=sys.stderr)
        return 2
    from mdio import mdio_to_segy, segy_to_mdio
    from mdio.builder.template_registry import get_template

    command, a, b = argv
    if command == "import":
        segy_to_mdio(_spec(), get_template(TEMPLATE), a, b, overwrite=True)
    else:
        mdio_to_segy(_spec(), a, b)
    return 0


if __name__ == "__main__":  # MDIO's process pools use spawn: guard the entry point
    sys.exit(main(sys.argv[1:]))
