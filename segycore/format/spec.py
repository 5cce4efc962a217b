"""The SEG-Y vocabulary in one place: sizes, sample formats, header fields and their names.

Byte positions are 1-based, as the SEG-Y standard and segyio write them. Trace-header
field names are segycore's documented snake_case names; segyio's names (``FieldRecord``,
``CDP``, ``offset``, ``INLINE_3D`` ...) and byte positions are accepted wherever a user
names a field (see :func:`resolve_trace_field`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # numpy is imported on first use of a dtype: the CLI front end needs none
    import numpy as np

__all__ = [
    "BINARY_FIELDS",
    "BINARY_HEADER_SIZE",
    "BYTE_ORDER_CONSTANT",
    "KNOWN_REVISIONS",
    "SAMPLE_FORMATS",
    "STANZA_SIZE",
    "SUPPORTED_FORMATS",
    "TEXTUAL_HEADER_SIZE",
    "TRACE_EXTENSION1_FIELDS",
    "TRACE_EXTENSION1_NAME",
    "TRACE_FIELDS",
    "TRACE_HEADER_SIZE",
    "BinaryField",
    "ExtensionField",
    "SampleFormat",
    "TraceField",
    "resolve_trace_field",
    "sample_format",
]

TEXTUAL_HEADER_SIZE = 3200
BINARY_HEADER_SIZE = 400
TRACE_HEADER_SIZE = 240
#: Rev 2 binary header bytes 3297-3300 hold this constant in the file's byte order.
BYTE_ORDER_CONSTANT = 0x01020304
#: Rev 2 extended textual headers and data trailer stanzas come in records of this size.
STANZA_SIZE = 3200
#: Revisions whose binary-header fields segycore knows (major, minor); rev 0 and 1 files
#: write any minor number, so only the major number counts for them.
KNOWN_REVISIONS: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (2, 0), (2, 1))


@dataclass(frozen=True)
class SampleFormat:
    """A SEG-Y data sample format code and how segycore stores its samples.

    ``dtype`` is the dataset's dtype for the format: the narrowest numpy type that holds
    every sample exactly (float32 wherever float32 is exact).
    """

    code: int
    name: str
    itemsize: int
    dtype_name: str
    supported: bool = True

    @property
    def dtype(self) -> np.dtype:
        """The dataset's numpy dtype for the format."""
        return _dtype(self.dtype_name)


SAMPLE_FORMATS: dict[int, SampleFormat] = {
    f.code: f
    for f in (
        SampleFormat(1, "4-byte IBM floating point", 4, "float32"),
        SampleFormat(2, "4-byte two's complement integer", 4, "int32"),
        SampleFormat(3, "2-byte two's complement integer", 2, "float32"),
        # Obsolete since rev 1; the test data's "format 4" files do not follow the rev 0
        # layout either, so segycore refuses the format rather than guess.
        SampleFormat(4, "4-byte fixed point with gain (obsolete)", 4, "float32", False),
        SampleFormat(5, "4-byte IEEE floating point", 4, "float32"),
        SampleFormat(6, "8-byte IEEE floating point", 8, "float64"),
        SampleFormat(7, "3-byte two's complement integer", 3, "float32"),
        SampleFormat(8, "1-byte two's complement integer", 1, "float32"),
        SampleFormat(9, "8-byte two's complement integer", 8, "int64"),
        SampleFormat(10, "4-byte unsigned integer", 4, "uint32"),
        SampleFormat(11, "2-byte unsigned integer", 2, "float32"),
        SampleFormat(12, "8-byte unsigned integer", 8, "uint64"),
        SampleFormat(15, "3-byte unsigned integer", 3, "float32"),
        SampleFormat(16, "1-byte unsigned integer", 1, "float32"),
    )
}
SUPPORTED_FORMATS: tuple[int, ...] = tuple(c for c, f in SAMPLE_FORMATS.items() if f.supported)

#: The integer range each integer format can hold, for checks on export.
INTEGER_RANGES: dict[int, tuple[int, int]] = {
    2: (-(2**31), 2**31 - 1),
    3: (-(2**15), 2**15 - 1),
    7: (-(2**23), 2**23 - 1),
    8: (-(2**7), 2**7 - 1),
    9: (-(2**63), 2**63 - 1),
    10: (0, 2**32 - 1),
    11: (0, 2**16 - 1),
    12: (0, 2**64 - 1),
    15: (0, 2**24 - 1),
    16: (0, 2**8 - 1),
}


@cache
def _dtype(name: str) -> np.dtype:
    import numpy as np

    return np.dtype(name)


def sample_format(code: int) -> SampleFormat:
    """Return the :class:`SampleFormat` for ``code``; raise ``ValueError`` if unknown."""
    try:
        return SAMPLE_FORMATS[int(code)]
    except KeyError:
        known = ", ".join(str(c) for c in SAMPLE_FORMATS)
        raise ValueError(f"unknown sample format code {code} (SEG-Y defines {known})") from None


@dataclass(frozen=True)
class TraceField:
    """One standard 240-byte trace-header field."""

    name: str
    byte: int
    width: int
    segyio_name: str

    @property
    def dtype(self) -> np.dtype:
        """The field's column dtype: a signed integer of the field's width."""
        return _dtype(f"i{self.width}")

    @property
    def offset(self) -> int:
        """0-based offset of the field inside the trace header."""
        return self.byte - 1


# (name, first byte, segyio name); each field runs to the next field's first byte.
_TRACE_LAYOUT = (
    ("trace_sequence_line", 1, "TRACE_SEQUENCE_LINE"),
    ("trace_sequence_file", 5, "TRACE_SEQUENCE_FILE"),
    ("field_record", 9, "FieldRecord"),
    ("trace_number", 13, "TraceNumber"),
    ("energy_source_point", 17, "EnergySourcePoint"),
    ("cdp", 21, "CDP"),
    ("cdp_trace", 25, "CDP_TRACE"),
    ("trace_identification_code", 29, "TraceIdentificationCode"),
    ("n_summed_traces", 31, "NSummedTraces"),
    ("n_stacked_traces", 33, "NStackedTraces"),
    ("data_use", 35, "DataUse"),
    ("offset", 37, "offset"),
    ("receiver_group_elevation", 41, "ReceiverGroupElevation"),
    ("source_surface_elevation", 45, "SourceSurfaceElevation"),
    ("source_depth", 49, "SourceDepth"),
    ("receiver_datum_elevation", 53, "ReceiverDatumElevation"),
    ("source_datum_elevation", 57, "SourceDatumElevation"),
    ("source_water_depth", 61, "SourceWaterDepth"),
    ("group_water_depth", 65, "GroupWaterDepth"),
    ("elevation_scalar", 69, "ElevationScalar"),
    ("coordinate_scalar", 71, "SourceGroupScalar"),
    ("source_x", 73, "SourceX"),
    ("source_y", 77, "SourceY"),
    ("group_x", 81, "GroupX"),
    ("group_y", 85, "GroupY"),
    ("coordinate_units", 89, "CoordinateUnits"),
    ("weathering_velocity", 91, "WeatheringVelocity"),
    ("subweathering_velocity", 93, "SubWeatheringVelocity"),
    ("source_uphole_time", 95, "SourceUpholeTime"),
    ("group_uphole_time", 97, "GroupUpholeTime"),
    ("source_static_correction", 99, "SourceStaticCorrection"),
    ("group_static_correction", 101, "GroupStaticCorrection"),
    ("total_static_applied", 103, "TotalStaticApplied"),
    ("lag_time_a", 105, "LagTimeA"),
    ("lag_time_b", 107, "LagTimeB"),
    ("delay_recording_time", 109, "DelayRecordingTime"),
    ("mute_time_start", 111, "MuteTimeStart"),
    ("mute_time_end", 113, "MuteTimeEND"),
    ("n_samples", 115, "TRACE_SAMPLE_COUNT"),
    ("sample_interval", 117, "TRACE_SAMPLE_INTERVAL"),
    ("gain_type", 119, "GainType"),
    ("instrument_gain_constant", 121, "InstrumentGainConstant"),
    ("instrument_initial_gain", 123, "InstrumentInitialGain"),
    ("correlated", 125, "Correlated"),
    ("sweep_frequency_start", 127, "SweepFrequencyStart"),
    ("sweep_frequency_end", 129, "SweepFrequencyEnd"),
    ("sweep_length", 131, "SweepLength"),
    ("sweep_type", 133, "SweepType"),
    ("sweep_taper_length_start", 135, "SweepTraceTaperLengthStart"),
    ("sweep_taper_length_end", 137, "SweepTraceTaperLengthEnd"),
    ("taper_type", 139, "TaperType"),
    ("alias_filter_frequency", 141, "AliasFilterFrequency"),
    ("alias_filter_slope", 143, "AliasFilterSlope"),
    ("notch_filter_frequency", 145, "NotchFilterFrequency"),
    ("notch_filter_slope", 147, "NotchFilterSlope"),
    ("low_cut_frequency", 149, "LowCutFrequency"),
    ("high_cut_frequency", 151, "HighCutFrequency"),
    ("low_cut_slope", 153, "LowCutSlope"),
    ("high_cut_slope", 155, "HighCutSlope"),
    ("year", 157, "YearDataRecorded"),
    ("day_of_year", 159, "DayOfYear"),
    ("hour", 161, "HourOfDay"),
    ("minute", 163, "MinuteOfHour"),
    ("second", 165, "SecondOfMinute"),
    ("time_basis_code", 167, "TimeBaseCode"),
    ("trace_weighting_factor", 169, "TraceWeightingFactor"),
    ("geophone_group_number_roll1", 171, "GeophoneGroupNumberRoll1"),
    ("geophone_group_number_first", 173, "GeophoneGroupNumberFirstTraceOrigField"),
    ("geophone_group_number_last", 175, "GeophoneGroupNumberLastTraceOrigField"),
    ("gap_size", 177, "GapSize"),
    ("over_travel", 179, "OverTravel"),
    ("cdp_x", 181, "CDP_X"),
    ("cdp_y", 185, "CDP_Y"),
    ("inline", 189, "INLINE_3D"),
    ("crossline", 193, "CROSSLINE_3D"),
    ("shot_point", 197, "ShotPoint"),
    ("shot_point_scalar", 201, "ShotPointScalar"),
    ("trace_value_unit", 203, "TraceValueMeasurementUnit"),
    ("transduction_constant_mantissa", 205, "TransductionConstantMantissa"),
    ("transduction_constant_power", 209, "TransductionConstantPower"),
    ("transduction_unit", 211, "TransductionUnit"),
    ("trace_identifier", 213, "TraceIdentifier"),
    ("time_scalar", 215, "ScalarTraceHeader"),
    ("source_type", 217, "SourceType"),
    ("source_energy_direction_mantissa", 219, "SourceEnergyDirectionMantissa"),
    ("source_energy_direction_exponent", 223, "SourceEnergyDirectionExponent"),
    ("source_measurement_mantissa", 225, "SourceMeasurementMantissa"),
    ("source_measurement_exponent", 229, "SourceMeasurementExponent"),
    ("source_measurement_unit", 231, "SourceMeasurementUnit"),
    ("unassigned_1", 233, "UnassignedInt1"),
    ("unassigned_2", 237, "UnassignedInt2"),
)

TRACE_FIELDS: tuple[TraceField, ...] = tuple(
    TraceField(name, byte, nxt - byte, segyio_name)
    for (name, byte, segyio_name), (_, nxt, _) in zip(
        _TRACE_LAYOUT, (*_TRACE_LAYOUT[1:], ("", TRACE_HEADER_SIZE + 1, "")), strict=True
    )
)

_TRACE_FIELD_LOOKUP: dict[str, TraceField] = {}
for _f in TRACE_FIELDS:
    _TRACE_FIELD_LOOKUP[_f.name.lower()] = _f
    _TRACE_FIELD_LOOKUP[_f.segyio_name.lower()] = _f
    _TRACE_FIELD_LOOKUP[str(_f.byte)] = _f


def resolve_trace_field(key: str | int | TraceField) -> TraceField:
    """Return the trace-header field a user names.

    Accepts segycore's names (``field_record``), segyio's names (``FieldRecord``,
    case-insensitive) and 1-based byte positions (``9`` or ``"9"``).
    """
    if isinstance(key, TraceField):
        return key
    token = str(int(key)) if isinstance(key, int) else str(key).strip().lower()
    try:
        return _TRACE_FIELD_LOOKUP[token]
    except KeyError:
        raise ValueError(
            f"unknown trace header field {key!r}: give a name such as 'field_record' or "
            f"'FieldRecord', or the first byte of a standard field such as 9"
        ) from None


@dataclass(frozen=True)
class _PackedField:
    """A fixed-width field at a 1-based byte position (``kind`` is a numpy kind code)."""

    name: str
    byte: int
    width: int
    kind: str = "i"
    #: How many bytes precede the header in the numbering of ``byte``.
    _origin: ClassVar[int] = 0

    @property
    def offset(self) -> int:
        """0-based offset of the field inside its header."""
        return self.byte - 1 - self._origin

    @property
    def dtype(self) -> np.dtype:
        return _dtype(f"{self.kind}{self.width}")


class BinaryField(_PackedField):
    """One field of the 400-byte binary file header; ``byte`` counts from the file's start."""

    _origin = TEXTUAL_HEADER_SIZE


BINARY_FIELDS: tuple[BinaryField, ...] = (
    BinaryField("job_id", 3201, 4),
    BinaryField("line_number", 3205, 4),
    BinaryField("reel_number", 3209, 4),
    BinaryField("traces_per_ensemble", 3213, 2),
    BinaryField("aux_traces_per_ensemble", 3215, 2),
    BinaryField("sample_interval", 3217, 2, "u"),
    BinaryField("sample_interval_original", 3219, 2, "u"),
    BinaryField("samples_per_trace", 3221, 2, "u"),
    BinaryField("samples_per_trace_original", 3223, 2, "u"),
    BinaryField("format_code", 3225, 2),
    BinaryField("ensemble_fold", 3227, 2),
    BinaryField("sorting_code", 3229, 2),
    BinaryField("vertical_sum", 3231, 2),
    BinaryField("sweep_frequency_start", 3233, 2),
    BinaryField("sweep_frequency_end", 3235, 2),
    BinaryField("sweep_length", 3237, 2),
    BinaryField("sweep_type", 3239, 2),
    BinaryField("sweep_channel", 3241, 2),
    BinaryField("sweep_taper_start", 3243, 2),
    BinaryField("sweep_taper_end", 3245, 2),
    BinaryField("taper_type", 3247, 2),
    BinaryField("correlated", 3249, 2),
    BinaryField("binary_gain_recovery", 3251, 2),
    BinaryField("amplitude_recovery", 3253, 2),
    BinaryField("measurement_system", 3255, 2),
    BinaryField("impulse_polarity", 3257, 2),
    BinaryField("vibratory_polarity", 3259, 2),
    # Revision 2 additions.
    BinaryField("ext_traces_per_ensemble", 3261, 4),
    BinaryField("ext_aux_traces_per_ensemble", 3265, 4),
    BinaryField("ext_samples_per_trace", 3269, 4),
    BinaryField("ext_sample_interval", 3273, 8, "f"),
    BinaryField("ext_sample_interval_original", 3281, 8, "f"),
    BinaryField("ext_samples_per_trace_original", 3289, 4),
    BinaryField("ext_ensemble_fold", 3293, 4),
    BinaryField("byte_order_constant", 3297, 4, "u"),
    BinaryField("revision_major", 3501, 1, "u"),
    BinaryField("revision_minor", 3502, 1, "u"),
    BinaryField("fixed_length_traces", 3503, 2),
    BinaryField("extended_textual_headers", 3505, 2),
    # Rev 2.0 gives 3507-3510 to this count; rev 2.1 narrows it to 3507-3508 and puts the
    # survey type in 3509-3510. segycore's layout reader takes the width the revision says.
    BinaryField("max_additional_trace_headers", 3507, 4),
    BinaryField("time_basis_code", 3511, 2),
    BinaryField("n_traces_in_file", 3513, 8, "u"),
    BinaryField("first_trace_offset", 3521, 8, "u"),
    BinaryField("trailer_stanzas", 3529, 4),
)
BINARY_FIELD_BY_NAME: dict[str, BinaryField] = {f.name: f for f in BINARY_FIELDS}


class ExtensionField(_PackedField):
    """One field of the rev 2 SEG trace header extension 1 (an additional 240-byte header).

    ``kind`` is a numpy kind code (``i``, ``u`` or ``f``); byte positions are 1-based
    inside the 240-byte extension, as the rev 2.0 standard's table 4 gives them.
    """


#: Bytes 233-240 of a SEG trace header extension 1 hold this name (ASCII or EBCDIC).
TRACE_EXTENSION1_NAME = "SEG00001"

#: SEG-Y rev 2.0 / 2.1 trace header extension 1: the first additional trace header.
#: Column names carry the ``ext1_`` prefix so they never clash with standard fields.
TRACE_EXTENSION1_FIELDS: tuple[ExtensionField, ...] = (
    ExtensionField("ext1_trace_sequence_line", 1, 8, "u"),
    ExtensionField("ext1_trace_sequence_file", 9, 8, "u"),
    ExtensionField("ext1_field_record", 17, 8, "i"),
    ExtensionField("ext1_cdp", 25, 8, "i"),
    ExtensionField("ext1_receiver_group_elevation", 33, 8, "f"),
    ExtensionField("ext1_receiver_group_depth", 41, 8, "f"),
    ExtensionField("ext1_source_surface_elevation", 49, 8, "f"),
    ExtensionField("ext1_source_depth", 57, 8, "f"),
    ExtensionField("ext1_receiver_datum_elevation", 65, 8, "f"),
    ExtensionField("ext1_source_datum_elevation", 73, 8, "f"),
    ExtensionField("ext1_source_water_depth", 81, 8, "f"),
    ExtensionField("ext1_group_water_depth", 89, 8, "f"),
    ExtensionField("ext1_source_x", 97, 8, "f"),
    ExtensionField("ext1_source_y", 105, 8, "f"),
    ExtensionField("ext1_group_x", 113, 8, "f"),
    ExtensionField("ext1_group_y", 121, 8, "f"),
    ExtensionField("ext1_offset", 129, 8, "f"),
    ExtensionField("ext1_n_samples", 137, 4, "u"),
    ExtensionField("ext1_nanoseconds", 141, 4, "i"),
    ExtensionField("ext1_sample_interval", 145, 8, "f"),
    ExtensionField("ext1_cable_number", 153, 4, "i"),
    ExtensionField("ext1_additional_trace_headers", 157, 2, "u"),
    ExtensionField("ext1_last_trace_flag", 159, 2, "i"),
    ExtensionField("ext1_cdp_x", 161, 8, "f"),
    ExtensionField("ext1_cdp_y", 169, 8, "f"),
)
