"""Build the compiled kernels in ``native/``, each beside the Python module that wraps it."""

from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

NATIVE = Path(__file__).parent / "native"

#: native/<name>.pyx -> the package its extension module belongs to.
PACKAGE_OF = {
    "_convert": "segycore.format",
    "_header_columns": "segycore.format",
    "_merge": "segycore.storage",
    "_index": "segycore.dataset",
}

extensions = [
    Extension(
        f"{PACKAGE_OF[pyx.stem]}.{pyx.stem}",
        [f"native/{pyx.name}"],
        include_dirs=[numpy.get_include(), "native"],
        depends=[str(h.relative_to(NATIVE.parent)) for h in sorted(NATIVE.glob("*.h"))],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    )
    for pyx in sorted(NATIVE.glob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
