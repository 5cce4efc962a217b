"""Every instruction-set level of the codec (portable, AVX2, AVX-512) against the numpy
reference: random bit patterns and edge cases, every format, both byte orders, row lengths
that exercise the vector bodies and their tails; and the level selection itself."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from segycore.format import _convert, codec
from segycore.format.reference import (
    decode_records_reference,
    encode_records_reference,
    float32_to_ibm_reference,
    ibm_to_float32_reference,
)
from segycore.format.spec import INTEGER_RANGES, SUPPORTED_FORMATS, TRACE_HEADER_SIZE, sample_format
from tests.format.test_codec import ENDIANS, bits, boundary_ibm_words, valid_samples

LEVELS = _convert.simd_levels()
# 1 and 7: shorter than any vector; 37: a vector body plus a tail; 1003: many bodies.
LENGTHS = [1, 7, 37, 1003]
N_TRACES = 5
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(params=LEVELS)
def level(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the kernels pinned to one level, then restore the best."""
    assert _convert.set_simd_level(request.param) == request.param
    yield request.param
    _convert.set_simd_level("auto")


def special_ibm_words(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random IBM words with a share of every edge: zeros, float32 subnormal results,
    overflow (clamps), unnormalised fractions, the boundary table's patterns."""
    words = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    pick = rng.random(n)
    edges = boundary_ibm_words()
    words[pick < 0.1] = rng.choice(edges, int((pick < 0.1).sum()))
    tiny = (pick >= 0.1) & (pick < 0.15)  # exponents 0x00-0x22: subnormal or zero results
    words[tiny] = (words[tiny] & 0x80FFFFFF) | (rng.integers(0, 0x23, tiny.sum()) << 24).astype(
        np.uint32
    )
    unnorm = (pick >= 0.15) & (pick < 0.2)  # leading hex digits zero
    words[unnorm] &= 0xFF00FFFF
    words[(pick >= 0.2) & (pick < 0.22)] &= 0x80000000  # +0 and -0
    return words


def special_floats(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random float32 bit patterns with NaN, infinities, subnormals, -0, FLT_MAX mixed in."""
    values = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    edges = np.array(
        [
            0x00000000,
            0x80000000,
            0x00000001,
            0x807FFFFF,
            0x00800000,
            0x7F7FFFFF,
            0xFF7FFFFF,
            0x7F800000,
            0xFF800000,
            0x7FC00000,
            0x7F800001,
            0x3F800000,
        ],
        np.uint32,
    ).view(np.float32)
    at = rng.random(n) < 0.15
    values[at] = rng.choice(edges, int(at.sum()))
    return values


def random_src(rng: np.random.Generator, code: int, little: bool, n_samples: int) -> np.ndarray:
    """Random record bytes; IBM samples drawn from :func:`special_ibm_words`."""
    size = N_TRACES * codec.record_size(n_samples, code)
    src = rng.integers(0, 256, size, dtype=np.uint8)
    if code == 1:
        words = special_ibm_words(rng, N_TRACES * n_samples).reshape(N_TRACES, n_samples)
        body = words.astype("<u4" if little else ">u4").view(np.uint8)
        src.reshape(N_TRACES, -1)[:, TRACE_HEADER_SIZE:] = body
    return src


@pytest.mark.parametrize("n_samples", LENGTHS)
@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize("code", SUPPORTED_FORMATS)
def test_decode_every_level_matches_reference(
    level: str, code: int, little: bool, n_samples: int
) -> None:
    src = random_src(np.random.default_rng([code, n_samples, little]), code, little, n_samples)
    dtype = sample_format(code).dtype
    out = []
    for decode in (codec.decode_records, decode_records_reference):
        samples = np.full((N_TRACES, n_samples), 0x5A, dtype)
        headers = np.empty((N_TRACES, TRACE_HEADER_SIZE), np.uint8)
        decode(src, N_TRACES, n_samples, code, little, headers, samples)
        out += [headers, bits(samples)]
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[1], out[3])


@pytest.mark.parametrize("n_samples", LENGTHS)
@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize("code", SUPPORTED_FORMATS)
def test_encode_every_level_matches_reference(
    level: str, code: int, little: bool, n_samples: int
) -> None:
    rng = np.random.default_rng([100 + code, n_samples, little])
    fmt = sample_format(code)
    if code == 1:
        samples = special_floats(rng, N_TRACES * n_samples).reshape(N_TRACES, n_samples)
    else:
        samples = valid_samples(rng, code, (N_TRACES, n_samples))
        if code in INTEGER_RANGES and fmt.dtype == np.float32:  # and values it cannot hold
            lo, hi = INTEGER_RANGES[code]
            samples.flat[rng.integers(0, samples.size, 3)] = [lo - 1.0, hi + 0.5, np.nan]
    headers = rng.integers(0, 256, (N_TRACES, TRACE_HEADER_SIZE), dtype=np.uint8)
    size = N_TRACES * codec.record_size(n_samples, code)
    dest, expected = np.full(size, 0xAA, np.uint8), np.full(size, 0x55, np.uint8)
    bad = codec.encode_records(headers, samples, code, little, dest)
    assert bad == encode_records_reference(headers, samples, code, little, expected)
    np.testing.assert_array_equal(dest, expected)


def test_ibm_helpers_every_level_match_reference(level: str) -> None:
    rng = np.random.default_rng(11)
    words = np.concatenate([special_ibm_words(rng, 200_003), boundary_ibm_words()])
    np.testing.assert_array_equal(
        bits(codec.ibm_to_float32(words)), bits(ibm_to_float32_reference(words))
    )
    values = special_floats(rng, 200_003)
    values = values[np.isfinite(values)]
    expected, bad = float32_to_ibm_reference(values)
    assert not bad.any()
    np.testing.assert_array_equal(codec.float32_to_ibm(values), expected)


def test_levels_are_listed_and_selectable() -> None:
    assert LEVELS[0] == "portable"
    assert set(LEVELS) <= {"portable", "avx2", "avx512"}
    try:
        assert _convert.set_simd_level("portable") == "portable"
        assert _convert.simd_level() == "portable"
        assert _convert.set_simd_level("auto") == LEVELS[-1]
    finally:
        _convert.set_simd_level("auto")
    assert _convert.simd_level() == LEVELS[-1]


@pytest.mark.parametrize("name", ["sse9", "", "AVX2", None])
def test_unknown_level_is_refused(name: object) -> None:
    with pytest.raises(ValueError, match="SIMD level"):
        _convert.set_simd_level(name)
    assert _convert.simd_level() == LEVELS[-1]


def test_environment_pins_the_level_for_a_process() -> None:
    env = {**os.environ, "SEGYCORE_SIMD": "portable", "PYTHONPATH": REPO}
    code = "from segycore.format import _convert; print(_convert.simd_level())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "portable"


def test_environment_typo_warns_and_uses_the_best_level() -> None:
    env = {**os.environ, "SEGYCORE_SIMD": "sse9", "PYTHONPATH": REPO}
    code = "from segycore.format import _convert; print(_convert.simd_level())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == LEVELS[-1]
    assert "SEGYCORE_SIMD ignored" in done.stderr


@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize("n_samples", LENGTHS)
def test_ibm_exactness_every_level_is_decode_then_encode(
    level: str, little: bool, n_samples: int
) -> None:
    """The IBM byte-exactness test (realfiles' kernel, cloned per level) at every level."""
    rng = np.random.default_rng([7, n_samples, little])
    n_traces = 64
    words = special_ibm_words(rng, n_traces * n_samples).reshape(n_traces, n_samples)
    words[::3] = (words[::3] & 0x80FFFFFF) | 0x41000000  # many rows all exact
    words[::3] |= 0x00100000  # normalised
    records = np.zeros((n_traces, codec.record_size(n_samples, 1)), np.uint8)
    records[:, TRACE_HEADER_SIZE:] = words.astype("<u4" if little else ">u4").view(np.uint8)
    flags = codec.ibm_inexact_traces(records, n_traces, n_samples, little)
    values = ibm_to_float32_reference(words.ravel())
    again, _ = float32_to_ibm_reference(values)
    expected = (again.reshape(words.shape) != words).any(axis=1)
    np.testing.assert_array_equal(flags, expected)
    assert expected.any() and not expected.all()
