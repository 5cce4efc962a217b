"""Configs are validated completely when built, and travel as plain data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segycore import ExportConfig, ImportConfig, SegyError
from segycore.pipeline.options import MAX_WORKERS, config_from_data, config_to_data


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, "workers must be at least 1, got 0"),
        ({"workers": MAX_WORKERS + 1}, f"workers must be at most {MAX_WORKERS}"),
        ({"workers": 2.5}, "workers must be a whole number"),
        ({"workers": True}, "workers must be a whole number"),
        ({"endian": "middle"}, "byte order must be 'big' or 'little'"),
        ({"chunk_bytes": 0}, "chunk size must be a positive number of bytes"),
        ({"rate_limit": -1}, "rate limit must be positive"),
        ({"rate_limit": "fast"}, "rate limit must be a number"),
    ],
)
def test_shared_options_are_refused_in_both_configs(options: dict, message: str) -> None:
    with pytest.raises(SegyError, match=message):
        ImportConfig("s.sgy", "d", **options)
    with pytest.raises(SegyError, match=message):
        ExportConfig("d", "o.sgy", **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ensemble_keys": ("foo",)}, "unknown trace header field 'foo'"),
        ({"ensemble_keys": ("cdp", 2)}, "unknown trace header field 2"),
        ({"ensemble_keys": None}, "ensemble keys must be a list"),
        ({"salvage": "yes"}, "salvage must be True or False"),
        ({"ibm_exact": 1}, "ibm_exact must be True or False"),
        ({"format_code": 13}, "unknown sample format code 13"),
        ({"format_code": 4}, r"sample format 4 \(.*\) is not supported"),
        ({"samples": 0}, "samples override must be a whole number from 1"),
        ({"samples": 2.5}, "samples override must be a whole number from 1"),
        ({"textual_encoding": "utf-8"}, "textual encoding must be 'ebcdic' or 'ascii'"),
        ({"source": None}, "source must be a path, got None"),
        ({"destination": ""}, "destination must be a path, got an empty one"),
        ({"overwrite": "yes"}, "overwrite must be True or False"),
    ],
)
def test_import_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(SegyError, match=message):
        ImportConfig(**{"source": "s.sgy", "destination": "d", **options})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format_code": 13}, "unknown sample format code 13"),
        ({"format_code": 4}, r"sample format 4 \(.*\) is not supported"),
        ({"format_code": "5"}, "a sample format code is a whole number"),
        ({"merge_method": "teleport"}, "unknown merge method 'teleport'"),
        ({"dataset": 5}, "dataset must be a path, got 5"),
        ({"textual_header": b"C 1"}, "textual header must be text"),
        ({"segments": 1}, "segments must be True or False"),
    ],
)
def test_export_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(SegyError, match=message):
        ExportConfig(**{"dataset": "d", "destination": "o.sgy", **options})


def test_valid_options_pass_and_accept_every_field_spelling() -> None:
    config = ImportConfig("s.sgy", "d", workers=MAX_WORKERS, ensemble_keys=("FieldRecord", 21))
    assert config.workers == MAX_WORKERS
    ExportConfig("d", "o.sgy", workers=1, format_code=5, merge_method="auto")


def test_configs_travel_as_plain_json_data() -> None:
    config = ImportConfig(Path("/a/s.sgy"), Path("/b/d"), workers=3, ensemble_keys=("cdp", 9))
    data = json.loads(json.dumps(config_to_data(config)))
    assert data["source"] == "/a/s.sgy" and data["ensemble_keys"] == ["cdp", 9]
    again = config_from_data(ImportConfig, data)
    assert again.workers == 3 and tuple(again.ensemble_keys) == ("cdp", 9)
    assert Path(again.source) == Path("/a/s.sgy")
    export = ExportConfig("d", "o.sgy", textual_header="C 1 hello", format_code=5)
    assert config_from_data(ExportConfig, config_to_data(export)) == export


def test_plain_data_is_validated_again() -> None:
    data = config_to_data(ImportConfig("s.sgy", "d"))
    with pytest.raises(SegyError, match="unknown ImportConfig option"):
        config_from_data(ImportConfig, {**data, "wokers": 2})
    with pytest.raises(SegyError, match="workers must be at least 1"):
        config_from_data(ImportConfig, {**data, "workers": 0})


def test_reading_options_travel_as_plain_json_data() -> None:
    config = ImportConfig(
        "s.sgy", "d", salvage=True, format_code=5, samples=7, textual_encoding="ascii"
    )
    data = json.loads(json.dumps(config_to_data(config)))
    assert config_from_data(ImportConfig, data) == config
