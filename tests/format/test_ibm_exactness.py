"""The IBM byte-exactness detector against a numpy reference of decode-then-encode."""

from __future__ import annotations

import numpy as np
import pytest

from segycore.format import codec
from segycore.format.reference import float32_to_ibm_reference, ibm_to_float32_reference


def reference_inexact(words: np.ndarray) -> np.ndarray:
    """Per row: does any word differ from encode(decode(word))? (numpy only)."""
    again, _ = float32_to_ibm_reference(ibm_to_float32_reference(words))
    return (again != words).any(axis=1)


def records(words: np.ndarray, little: bool) -> np.ndarray:
    n, ns = words.shape
    out = np.zeros((n, 240 + 4 * ns), np.uint8)
    out[:, 240:] = words.astype("<u4" if little else ">u4").view(np.uint8).reshape(n, -1)
    return out.reshape(-1)


def normalised(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Normalised IBM words whose values are normal float32: these round-trip."""
    frac = rng.integers(0x100000, 0x1000000, shape, dtype=np.uint32)
    exp = rng.integers(34, 97, shape, dtype=np.uint32)
    sign = rng.integers(0, 2, shape, dtype=np.uint32) << 31
    return sign | (exp << 24) | frac


SPECIAL = {
    "unnormalised": 0x4100_0123,
    "zero-with-exponent": 0x4100_0000,
    "minus-zero-with-exponent": 0xC200_0000,
    "beyond-float32": 0x7FFF_FFFF,
    "float32-subnormal-losing-bits": 0x2012_3457,
    "tiny": 0x0010_0001,
}


@pytest.mark.parametrize("little", [False, True])
@pytest.mark.parametrize("name", list(SPECIAL))
def test_one_odd_sample_flags_its_trace_only(little: bool, name: str) -> None:
    rng = np.random.default_rng(1)
    words = normalised(rng, (6, 33))
    words[3, 17] = SPECIAL[name]
    words[0, 0] = 0x8000_0000  # -0 round-trips
    words[1, 5] = 0
    flags = codec.ibm_inexact_traces(records(words, little), 6, 33, little)
    assert flags.tolist() == reference_inexact(words).tolist()
    assert flags.tolist() == [False, False, False, True, False, False]


@pytest.mark.parametrize("little", [False, True])
def test_random_words_agree_with_the_reference(little: bool) -> None:
    rng = np.random.default_rng(2)
    words = rng.integers(0, 2**32, (400, 3), dtype=np.uint64).astype(np.uint32)
    flags = codec.ibm_inexact_traces(records(words, little), 400, 3, little)
    expected = reference_inexact(words)
    assert expected.any() and not expected.all()
    np.testing.assert_array_equal(flags, expected)


def test_bad_arguments_are_refused_before_touching_memory() -> None:
    with pytest.raises(ValueError, match="fewer than"):
        codec.ibm_inexact_traces(bytes(240 + 4 * 9), 2, 9, False)
    assert codec.ibm_inexact_traces(b"", 0, 5, False).shape == (0,)


@pytest.mark.parametrize("little", [False, True])
def test_the_bit_test_is_exactly_decode_then_encode(little: bool) -> None:
    """Every exponent, normalised or not, low fraction bits cleared or not: the flag is
    set exactly when the codec's own decode then encode changes the word."""
    rng = np.random.default_rng(3)
    n = 400_000
    words = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    words[: n // 2] = (words[: n // 2] & 0x80FFFFFF) | (
        rng.integers(20, 40, n // 2).astype(np.uint32) << 24
    )  # around float32's subnormal range
    clear = (np.uint32(1) << rng.integers(0, 24, n // 4).astype(np.uint32)) - np.uint32(1)
    words[: n // 4] &= ~clear  # exact multiples of small powers of two
    truth = codec.float32_to_ibm(codec.ibm_to_float32(words)) != words
    flags = codec.ibm_inexact_traces(records(words.reshape(n, 1), little), n, 1, little)
    assert truth.any() and not truth.all()
    np.testing.assert_array_equal(flags, truth)
