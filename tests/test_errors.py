"""One function turns any exception into the user's message (CLI, GUI, supervisor)."""

from __future__ import annotations

import errno
import os

from segycore.errors import JobCancelled, SegyFormatError, is_internal, user_message


def test_segycore_errors_are_their_own_message() -> None:
    assert user_message(SegyFormatError("x.sgy is truncated")) == "x.sgy is truncated"
    assert user_message(JobCancelled("import cancelled by the user")).startswith("import cancelled")
    assert not is_internal(SegyFormatError("x"))


def test_os_errors_name_their_files_or_the_context() -> None:
    missing = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), "/data/a.sgy")
    assert user_message(missing) == "No such file or directory: /data/a.sgy"
    rename = PermissionError(errno.EPERM, "Operation not permitted", "/d/.x", None, "/d/x")
    assert user_message(rename) == "Operation not permitted: /d/.x -> /d/x"
    full = OSError(errno.ENOSPC, "No space left on device")
    assert user_message(full, "import to /d/x") == "No space left on device (import to /d/x)"
    assert not is_internal(full)


def test_anything_else_is_an_internal_error() -> None:
    assert user_message(KeyError("k")) == "internal error: KeyError: 'k'"
    assert user_message(ValueError("bad")) == "internal error: ValueError: bad"
    assert is_internal(ValueError("bad"))
