"""The trace codec: compiled kernels against the numpy reference, IBM edge cases, bounds
checks, byte-exact round trips, and real multi-format files against segyio."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
from tests.helpers import DATA_DIR

DATA = DATA_DIR
MULTI = DATA / "multiformats"
FLT_MAX = float(np.finfo(np.float32).max)
FLT_MIN = float(np.finfo(np.float32).tiny)
# Odd sizes, so the vectorised loops run their tails too.
N_TRACES, N_SAMPLES = 9, 37
ENDIANS = [pytest.param(False, id="big"), pytest.param(True, id="little")]
# Formats whose dataset dtype is float32 but whose file samples are integers.
INTEGER_AS_FLOAT = [c for c in INTEGER_RANGES if sample_format(c).dtype == np.float32]


def bits(a: np.ndarray) -> np.ndarray:
    """The array's raw bits as unsigned integers, for bitwise comparison (NaN, -0.0)."""
    return a.view(f"u{a.dtype.itemsize}")


def record_bytes(n_traces: int, n_samples: int, code: int) -> int:
    return n_traces * codec.record_size(n_samples, code)


def decode_both(
    src: np.ndarray, n_traces: int, n_samples: int, code: int, little: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(headers, samples) from the kernel, then from the reference."""
    dtype = sample_format(code).dtype
    results = []
    for decode in (codec.decode_records, decode_records_reference):
        headers = np.empty((n_traces, TRACE_HEADER_SIZE), np.uint8)
        samples = np.empty((n_traces, n_samples), dtype)
        decode(src, n_traces, n_samples, code, little, headers, samples)
        results += [headers, samples]
    return tuple(results)


def encode_both(
    headers: np.ndarray, samples: np.ndarray, code: int, little: bool
) -> tuple[int, np.ndarray, int, np.ndarray]:
    """(result, bytes) from the kernel, then from the reference."""
    size = record_bytes(*samples.shape, code)
    dest, expected = np.full(size, 0xAA, np.uint8), np.full(size, 0x55, np.uint8)
    bad = codec.encode_records(headers, samples, code, little, dest)
    bad_expected = encode_records_reference(headers, samples, code, little, expected)
    return bad, dest, bad_expected, expected


def random_records(rng: np.random.Generator, code: int, little: bool) -> np.ndarray:
    """Random record bytes with extreme sample patterns (int min/max, NaN, inf ...) mixed in."""
    itemsize = sample_format(code).itemsize
    src = rng.integers(0, 256, record_bytes(N_TRACES, N_SAMPLES, code) + 5, dtype=np.uint8)
    patterns = [b"\x00" * itemsize, b"\xff" * itemsize, b"\x00" * (itemsize - 1) + b"\x01"]
    patterns += [b"\x80" + b"\x00" * (itemsize - 1), b"\x7f" + b"\xff" * (itemsize - 1)]
    if itemsize == 4:  # IEEE single: +-inf, quiet and signalling NaN, subnormal
        patterns += [bytes.fromhex(h) for h in ("7f800000", "ff800000", "7fc00000", "7f800001")]
    if itemsize == 8:
        patterns += [bytes.fromhex(h) for h in ("7ff0000000000000", "fff8000000000001")]
    records = src[: record_bytes(N_TRACES, N_SAMPLES, code)].reshape(N_TRACES, -1)
    for i, pattern in enumerate(patterns):
        trace, sample = i % N_TRACES, (7 * i) % N_SAMPLES
        at = TRACE_HEADER_SIZE + sample * itemsize
        ordered = pattern[::-1] if little else pattern
        records[trace, at : at + itemsize] = np.frombuffer(ordered, np.uint8)
    return src


def normal_ibm_words(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """IBM patterns (unnormalised and zero fractions too) that all decode to normal floats."""
    words = rng.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32)
    exponent = rng.integers(39, 97, shape, dtype=np.uint32)  # results in [2**-126, 2**128)
    words = (words & 0x80FFFFFF) | (exponent << 24)
    words[rng.random(shape) < 0.05] &= 0xFF000000  # zero fractions, either sign
    return words


def ibm_value(words: np.ndarray) -> np.ndarray:
    """The exact value of IBM patterns, in float64 (exact for every pattern)."""
    exponent = ((words >> 24) & 0x7F).astype(np.int32)
    value = np.ldexp((words & 0xFFFFFF).astype(np.float64), 4 * (exponent - 64) - 24)
    return np.where(words >> 31 != 0, -value, value)


def valid_samples(rng: np.random.Generator, code: int, shape: tuple[int, int]) -> np.ndarray:
    """Samples every one of which the format holds exactly (extremes included)."""
    fmt = sample_format(code)
    if code in INTEGER_RANGES and fmt.dtype == np.float32:
        lo, hi = INTEGER_RANGES[code]
        samples = rng.integers(lo, hi + 1, shape).astype(np.float32)
        samples.flat[:2] = lo, hi
        return samples
    raw = rng.integers(0, 256, (shape[0], shape[1] * fmt.dtype.itemsize), dtype=np.uint8)
    samples = raw.view(fmt.dtype)
    if code == 1:  # any finite float32, subnormals included
        samples[~np.isfinite(samples)] = 0.5
    return samples


def random_headers(rng: np.random.Generator, n_traces: int) -> np.ndarray:
    return rng.integers(0, 256, (n_traces, TRACE_HEADER_SIZE), dtype=np.uint8)


# ---------------------------------------------------------------- kernel vs reference


@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize("code", SUPPORTED_FORMATS)
def test_decode_matches_reference(code: int, little: bool) -> None:
    src = random_records(np.random.default_rng(code), code, little)
    headers, samples, headers_ref, samples_ref = decode_both(src, N_TRACES, N_SAMPLES, code, little)
    assert samples.dtype == sample_format(code).dtype
    np.testing.assert_array_equal(headers, headers_ref)
    np.testing.assert_array_equal(bits(samples), bits(samples_ref))


@pytest.mark.parametrize("little", ENDIANS)
def test_decode_ibm_normal_rows_match_reference(little: bool) -> None:
    """Rows with only normal results take the vectorised path; one odd row the exact one."""
    rng = np.random.default_rng(7)
    words = normal_ibm_words(rng, (N_TRACES, N_SAMPLES))
    words[4, 5] = 0x00100000  # underflows: row 4 goes the exact way
    records = np.zeros((N_TRACES, codec.record_size(N_SAMPLES, 1)), np.uint8)
    records[:, TRACE_HEADER_SIZE:] = words.astype("<u4" if little else ">u4").view(np.uint8)
    _, samples, _, samples_ref = decode_both(records, N_TRACES, N_SAMPLES, 1, little)
    np.testing.assert_array_equal(bits(samples), bits(samples_ref))
    np.testing.assert_array_equal(samples, ibm_value(words).astype(np.float32))


@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize("code", SUPPORTED_FORMATS)
def test_encode_matches_reference(code: int, little: bool) -> None:
    rng = np.random.default_rng(100 + code)
    samples = valid_samples(rng, code, (N_TRACES, N_SAMPLES))
    bad, dest, bad_ref, expected = encode_both(random_headers(rng, N_TRACES), samples, code, little)
    assert bad == bad_ref == -1
    np.testing.assert_array_equal(dest, expected)


@pytest.mark.parametrize("little", ENDIANS)
def test_encode_ibm_normal_rows_match_reference(little: bool) -> None:
    rng = np.random.default_rng(8)
    samples = (rng.standard_normal((N_TRACES, N_SAMPLES)) * 1e3).astype(np.float32)
    samples[2, :5] = 0.0, -0.0, FLT_MAX, -FLT_MIN, 2.0**-149
    bad, dest, bad_ref, expected = encode_both(random_headers(rng, N_TRACES), samples, 1, little)
    assert bad == bad_ref == -1
    np.testing.assert_array_equal(dest, expected)


def test_ibm_conversions_match_reference_on_random_patterns() -> None:
    rng = np.random.default_rng(1)
    words = rng.integers(0, 2**32, 1_000_000, dtype=np.uint64).astype(np.uint32)
    decoded = codec.ibm_to_float32(words)
    np.testing.assert_array_equal(bits(decoded), bits(ibm_to_float32_reference(words)))
    values = words.view(np.float32)[np.isfinite(words.view(np.float32))]
    expected, bad = float32_to_ibm_reference(values)
    assert not bad.any()
    np.testing.assert_array_equal(codec.float32_to_ibm(values), expected)


def boundary_ibm_words() -> np.ndarray:
    """Every sign and exponent byte with fractions at the edges of every rounding case."""
    fractions = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0FFFFF, 0x100000, 0x100001, 0x7FFFFF, 0x800000]
    fractions += [0x800001, 0xFFFFF7, 0xFFFFF8, 0xFFFFFC, 0xFFFFFE, 0xFFFFFF]
    top = np.arange(256, dtype=np.uint32) << 24
    return (top[:, None] | np.array(fractions, np.uint32)).ravel()


def test_ibm_decode_matches_reference_on_boundaries() -> None:
    words = boundary_ibm_words()
    np.testing.assert_array_equal(
        bits(codec.ibm_to_float32(words)), bits(ibm_to_float32_reference(words))
    )


# ---------------------------------------------------------------- IBM special cases


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        (0x00000000, 0.0),
        (0x80000000, -0.0),
        (0x41000000, 0.0),  # zero fraction, non-zero exponent
        (0xC1000000, -0.0),
        (0x41100000, 1.0),
        (0xC276A000, -118.625),
        (0x42640000, 100.0),
        (0x42001000, 0.0625),  # unnormalised
        (0x40000001, 2.0**-24),  # unnormalised, a single fraction bit
        (0x1E100000, 2.0**-140),  # exact float32 subnormal
        (0x20000004, 0.0),  # 0.5 * 2**-149: tie, to even (zero)
        (0x20000005, 2.0**-149),  # 0.625 * 2**-149: up
        (0x2000000C, 2.0**-148),  # 1.5 * 2**-149: tie, to even (2)
        (0x20000014, 2.0**-148),  # 2.5 * 2**-149: tie, to even (2)
        (0xA000000C, -(2.0**-148)),
        (0x00100000, 0.0),  # 16**-65: underflows
        (0x80100000, -0.0),
        (0x60FFFFFF, FLT_MAX),  # the largest IBM value in float32 range is FLT_MAX
        (0x61100000, FLT_MAX),  # 2**128: clamps
        (0x7FFFFFFF, FLT_MAX),
        (0xFFFFFFFF, -FLT_MAX),
    ],
)
def test_ibm_decode_special_cases(word: int, expected: float) -> None:
    words = np.array([word], np.uint32)
    want = bits(np.array([expected], np.float32))
    assert bits(codec.ibm_to_float32(words)) == want
    assert bits(ibm_to_float32_reference(words)) == want


@pytest.mark.parametrize(
    ("value_bits", "word"),
    [
        (0x00000000, 0x00000000),
        (0x80000000, 0x80000000),  # -0.0 keeps its sign
        (0x3F800000, 0x41100000),  # 1.0
        (0xC2ED4000, 0xC276A000),  # -118.625
        (0x3F800003, 0x41100000),  # 1 + 0.375 ulp(IBM): down
        (0x3F800004, 0x41100000),  # 1 + 0.5 ulp: tie, to even (down)
        (0x3F800005, 0x41100001),  # 1 + 0.625 ulp: up
        (0x3F80000C, 0x41100002),  # 1 + 1.5 ulp: tie, to even (up)
        (0x3FFFFFFF, 0x41200000),  # 2 - 2**-23 rounds up to 2.0 within the same exponent
        (0x417FFFFF, 0x41FFFFFF),  # 16 - 2**-20: exact
        (0x00000001, 0x1B800000),  # smallest subnormal, 2**-149
        (0x007FFFFF, 0x21400000),  # largest subnormal, 2**-126 - 2**-149: tie, to even (up)
        (0x7F7FFFFF, 0x60FFFFFF),  # FLT_MAX
    ],
)
def test_ibm_encode_special_cases(value_bits: int, word: int) -> None:
    values = np.array([value_bits], np.uint32).view(np.float32)
    assert codec.float32_to_ibm(values)[0] == word
    assert float32_to_ibm_reference(values)[0][0] == word


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_float32_to_ibm_refuses_nan_and_infinity(value: float) -> None:
    values = np.ones(10_000, np.float32)
    values[5000] = value
    with pytest.raises(ValueError, match="index 5000"):
        codec.float32_to_ibm(values)


def test_ibm_normalised_in_range_round_trips() -> None:
    """encode(decode(w)) == w for every normalised IBM pattern in float32's normal range."""
    rng = np.random.default_rng(2)
    words = rng.integers(0, 2**32, 2_000_000, dtype=np.uint64).astype(np.uint32)
    words = np.concatenate([words, boundary_ibm_words()]).astype(np.uint32)
    magnitude = np.abs(ibm_value(words))
    keep = ((words & 0xFFFFFF) >= 0x100000) & (magnitude >= FLT_MIN) & (magnitude <= FLT_MAX)
    keep |= (words & 0x7FFFFFFF) == 0  # both zeros
    words = words[keep]
    assert words.size > 900_000
    np.testing.assert_array_equal(codec.float32_to_ibm(codec.ibm_to_float32(words)), words)


# ---------------------------------------------------------------- byte-exact round trips


@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize("code", SUPPORTED_FORMATS)
def test_records_round_trip_byte_exact(code: int, little: bool) -> None:
    """decode then encode gives back every byte (IBM: normalised, in float32 range)."""
    rng = np.random.default_rng(200 + code)
    src = random_records(rng, code, little)[: record_bytes(N_TRACES, N_SAMPLES, code)]
    if code == 1:
        words = normal_ibm_words(rng, (N_TRACES, N_SAMPLES))
        words[(words & 0xFFFFFF) < 0x100000] &= 0x80000000  # normalised or a signed zero
        body = words.astype("<u4" if little else ">u4").view(np.uint8)
        src.reshape(N_TRACES, -1)[:, TRACE_HEADER_SIZE:] = body
    headers = np.empty((N_TRACES, TRACE_HEADER_SIZE), np.uint8)
    samples = np.empty((N_TRACES, N_SAMPLES), sample_format(code).dtype)
    codec.decode_records(src, N_TRACES, N_SAMPLES, code, little, headers, samples)
    dest = np.empty_like(src)
    assert codec.encode_records(headers, samples, code, little, dest) == -1
    np.testing.assert_array_equal(dest, src)


# ---------------------------------------------------------------- unrepresentable values


UNREPRESENTABLE = [(1, "nan"), (1, "inf")] + [
    (code, kind)
    for code in INTEGER_AS_FLOAT
    for kind in ("below", "above", "fraction", "nan", "inf")
]


@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize(("code", "kind"), UNREPRESENTABLE)
def test_encode_reports_first_unrepresentable(code: int, kind: str, little: bool) -> None:
    """IBM refuses only NaN and infinity; integer formats also fractions and overflow."""
    lo, hi = INTEGER_RANGES.get(code, (0, 0))
    bad_value = {
        "below": lo - 1.0,
        "above": hi + 1.0,
        "fraction": lo + 0.5,
        "nan": np.nan,
        "inf": -np.inf,
    }[kind]
    rng = np.random.default_rng(300 + code)
    samples = valid_samples(rng, code, (N_TRACES, N_SAMPLES))
    samples[5, 7] = bad_value
    samples[6, 0] = np.nan
    bad, dest, bad_ref, expected = encode_both(random_headers(rng, N_TRACES), samples, code, little)
    assert bad == bad_ref == 5 * N_SAMPLES + 7
    np.testing.assert_array_equal(dest, expected)  # bad samples are written as zero bytes


def test_encode_int16_refuses_fraction_and_overflow() -> None:
    samples = np.zeros((3, 4), np.float32)
    samples[1, 2], samples[2, 0] = 1.5, 40000.0
    dest = np.empty(record_bytes(3, 4, 3), np.uint8)
    headers = np.zeros((3, TRACE_HEADER_SIZE), np.uint8)
    assert codec.encode_records(headers, samples, 3, False, dest) == 6
    samples[1, 2] = 1.0
    assert codec.encode_records(headers, samples, 3, False, dest) == 8
    samples[2, 0] = -32768.0
    assert codec.encode_records(headers, samples, 3, False, dest) == -1


# ---------------------------------------------------------------- argument and bounds checks


def test_record_size() -> None:
    assert codec.record_size(75, 1) == 540
    assert codec.record_size(75, 7) == 240 + 225
    assert codec.record_size(0, 6) == 240
    with pytest.raises(ValueError, match="not supported"):
        codec.record_size(75, 4)
    with pytest.raises(ValueError, match="unknown sample format"):
        codec.record_size(75, 13)


DECODERS = [
    pytest.param(codec.decode_records, id="codec"),
    pytest.param(_convert.decode_records, id="kernel"),
]
ENCODERS = [
    pytest.param(codec.encode_records, id="codec"),
    pytest.param(_convert.encode_records, id="kernel"),
]


def _decode_args(**changes: object) -> dict[str, object]:
    """Valid decode arguments (IBM, 4 x 10) with some replaced.

    The source bytes are all 0x41 (IBM 0x41414141 = 0.2549...), so a decode writes
    values unlike the outputs' fill of 7 - and unlike zeros.
    """
    args: dict[str, object] = {
        "src": np.full(record_bytes(4, 10, 1), 0x41, np.uint8),
        "n_traces": 4,
        "n_samples": 10,
        "format_code": 1,
        "little_endian": False,
        "headers_out": np.full((4, TRACE_HEADER_SIZE), 7, np.uint8),
        "samples_out": np.full((4, 10), 7.0, np.float32),
    }
    args.update(changes)
    return args


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"src": np.zeros(record_bytes(4, 10, 1) - 1, np.uint8)}, "fewer than 4 records"),
        ({"n_traces": 5}, "fewer than 5 records"),
        ({"n_samples": 2**61}, "records of"),
        ({"n_traces": -1}, "non-negative"),
        ({"format_code": 4}, "not supported"),
        ({"format_code": 13}, "unknown"),
        ({"samples_out": np.zeros((4, 10), np.float64)}, "dtype float32"),
        ({"samples_out": np.zeros((4, 11), np.float32)}, "shape"),
        ({"samples_out": np.zeros((10, 4), np.float32).T}, "C-contiguous"),
        ({"samples_out": np.zeros((4, 10), np.float32).tolist()}, "numpy array"),
        ({"headers_out": np.zeros((4, 239), np.uint8)}, "shape"),
        ({"headers_out": np.zeros((4, 240), np.int8)}, "dtype uint8"),
    ],
)
def test_decode_refuses_bad_arguments_before_writing(
    decode: Callable[..., Any], changes: dict[str, object], message: str
) -> None:
    args = _decode_args(**changes)
    before = {
        name: np.array(args[name], copy=True)
        for name in ("headers_out", "samples_out")
        if isinstance(args[name], np.ndarray)
    }
    with pytest.raises(ValueError, match=message):
        decode(*args.values())
    for name, original in before.items():  # not one byte written before the refusal
        np.testing.assert_array_equal(args[name], original, err_msg=name)


@pytest.mark.parametrize("decode", DECODERS)
def test_decode_refuses_read_only_output(decode: Callable[..., Any]) -> None:
    samples = np.zeros((4, 10), np.float32)
    samples.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        decode(*_decode_args(samples_out=samples).values())


def test_codec_accepts_any_contiguous_buffer_and_checks_the_rest() -> None:
    args = _decode_args()
    src = np.asarray(args["src"])
    for buffer in (bytes(src), bytearray(src), memoryview(src), src.reshape(4, -1)):
        codec.decode_records(*_decode_args(src=buffer).values())
    with pytest.raises(ValueError, match="contiguous"):
        codec.decode_records(*_decode_args(src=np.zeros(2 * src.size, np.uint8)[::2]).values())
    with pytest.raises(ValueError, match="bytes-like"):
        codec.decode_records(*_decode_args(src="text").values())
    with pytest.raises(ValueError, match="True or False"):
        codec.decode_records(*_decode_args(little_endian="little").values())


def test_decode_without_headers_and_with_zero_traces() -> None:
    rng = np.random.default_rng(4)
    src = random_records(rng, 3, False)
    _, samples, _, _ = decode_both(src, N_TRACES, N_SAMPLES, 3, False)
    alone = np.empty_like(samples)
    codec.decode_records(src, N_TRACES, N_SAMPLES, 3, False, None, alone)
    np.testing.assert_array_equal(alone, samples)
    empty = np.empty((0, N_SAMPLES), np.float32)
    codec.decode_records(b"", 0, N_SAMPLES, 3, False, None, empty)
    dest = bytearray()
    assert codec.encode_records(np.empty((0, 240), np.uint8), empty, 3, False, dest) == -1


@pytest.mark.parametrize("encode", ENCODERS)
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dest": np.full(record_bytes(4, 10, 1) - 1, 7, np.uint8)}, "fewer than 4 records"),
        ({"samples": np.zeros((4, 10), np.float64)}, "dtype float32"),
        ({"samples": np.zeros(40, np.float32)}, "two-dimensional"),
        ({"samples": np.zeros((10, 4), np.float32).T}, "C-contiguous"),
        ({"headers": np.zeros((3, 240), np.uint8)}, "shape"),
        ({"headers": None}, "numpy array"),
        ({"format_code": 4}, "not supported"),
    ],
)
def test_encode_refuses_bad_arguments_before_writing(
    encode: Callable[..., Any], changes: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "headers": np.zeros((4, TRACE_HEADER_SIZE), np.uint8),
        "samples": np.ones((4, 10), np.float32),
        "format_code": 1,
        "little_endian": False,
        "dest": np.full(record_bytes(4, 10, 1), 7, np.uint8),
    }
    args.update(changes)
    with pytest.raises(ValueError, match=message):
        encode(*args.values())
    assert np.all(np.asarray(args["dest"]) == 7)


@pytest.mark.parametrize("encode", ENCODERS)
def test_encode_refuses_read_only_dest(encode: Callable[..., Any]) -> None:
    samples = np.ones((4, 10), np.float32)
    headers = np.zeros((4, TRACE_HEADER_SIZE), np.uint8)
    with pytest.raises(ValueError, match="read-only|writable"):
        encode(headers, samples, 1, False, bytes(record_bytes(4, 10, 1)))


def test_helpers_refuse_wrong_dtypes() -> None:
    with pytest.raises(ValueError, match="uint32"):
        codec.ibm_to_float32(np.zeros(3, np.int32))
    with pytest.raises(ValueError, match="float32"):
        codec.float32_to_ibm(np.zeros(3, np.float64))


# ---------------------------------------------------------------- real files against segyio

N_FILE_TRACES, N_FILE_SAMPLES = 414, 75
needs_files = pytest.mark.skipif(
    not MULTI.is_dir(), reason=f"multi-format SEG-Y test files not found in {MULTI}"
)


def read_file(code: int, little: bool) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The file's record bytes and what the codec decodes from them."""
    path = MULTI / f"Format{code}{'lsb' if little else 'msb'}.sgy"
    records = path.read_bytes()[3600:]
    assert len(records) == record_bytes(N_FILE_TRACES, N_FILE_SAMPLES, code)
    headers = np.empty((N_FILE_TRACES, TRACE_HEADER_SIZE), np.uint8)
    samples = np.empty((N_FILE_TRACES, N_FILE_SAMPLES), sample_format(code).dtype)
    codec.decode_records(records, N_FILE_TRACES, N_FILE_SAMPLES, code, little, headers, samples)
    return records, headers, samples


def segyio_samples(code: int, little: bool) -> np.ndarray:
    segyio = pytest.importorskip("segyio")
    path = MULTI / f"Format{code}{'lsb' if little else 'msb'}.sgy"
    endian = "little" if little else "big"
    with segyio.open(path, ignore_geometry=True, endian=endian) as f:
        return f.trace.raw[:]


@needs_files
@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize("code", [1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16])
def test_real_files_match_segyio(code: int, little: bool) -> None:
    _, _, samples = read_file(code, little)
    expected = segyio_samples(code, little)
    assert expected.shape == samples.shape
    np.testing.assert_array_equal(samples, expected)


@needs_files
@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize(("code", "modulus"), [(7, None), (15, 2**24)])
def test_real_24_bit_files_match_format_3(code: int, modulus: int | None, little: bool) -> None:
    """segyio cannot read 3-byte samples: the same data as 2-byte integers is the oracle."""
    _, _, samples = read_file(code, little)
    expected = segyio_samples(3, little).astype(np.int64)
    if modulus:
        expected %= modulus
    np.testing.assert_array_equal(samples, expected.astype(np.float32))


@needs_files
@pytest.mark.parametrize("little", ENDIANS)
@pytest.mark.parametrize("code", SUPPORTED_FORMATS)
def test_real_files_round_trip_byte_exact(code: int, little: bool) -> None:
    records, headers, samples = read_file(code, little)
    dest = bytearray(len(records))
    assert codec.encode_records(headers, samples, code, little, dest) == -1
    assert dest == records
