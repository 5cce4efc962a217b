"""Build the compiled kernels in ``native/`` as ``segycore._<name>`` extension modules."""

from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

NATIVE = Path(__file__).parent / "native"

extensions = [
    Extension(
        f"segycore.{pyx.stem}",
        [f"native/{pyx.name}"],
        include_dirs=[numpy.get_include(), "native"],
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
