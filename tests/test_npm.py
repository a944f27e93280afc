"""The npm helper (intpkg.npm): npm's own reason on failure, integrity strings as npm records them."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from intpkg import npm
from intpkg.errors import IntpkgError


def fake_tool(folder: Path, script: str) -> str:
    path = folder / "npm"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def test_a_failure_names_npms_json_summary_not_its_log_file(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path, """echo '{"error": {"code": "ETARGET", "summary": "No matching version"}}'
echo 'npm error A complete log of this run can be found in: /x.log' >&2
exit 1
""")
    with pytest.raises(IntpkgError, match=r"^`npm pack x@9` failed: ETARGET: No matching version$"):
        npm.pack(tool, "x@9", tmp_path)


def test_without_json_the_last_telling_line_of_stderr_is_the_reason(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path, "echo 'npm error network unreachable' >&2\n"
                               "echo 'npm error A complete log of this run can be found in: /x.log' >&2\nexit 1\n")
    with pytest.raises(IntpkgError, match=r"failed: npm error network unreachable$"):
        npm.run([tool, "view", "x"], tmp_path)


def test_pack_returns_the_tarball_and_the_reported_integrity(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path, """echo '[{"filename": "x-1.0.0.tgz", "integrity": "sha512-abc"}]'\n""")
    assert npm.pack(tool, "x@1.0.0", tmp_path) == (tmp_path / "x-1.0.0.tgz", "sha512-abc")


def test_integrity_is_npms_sha512_form_and_a_mismatch_is_refused(tmp_path: Path) -> None:
    tarball = tmp_path / "x.tgz"
    tarball.write_bytes(b"package bytes")
    expected = "sha512-" + base64.b64encode(hashlib.sha512(b"package bytes").digest()).decode()
    assert npm.integrity_of(tarball) == expected
    npm.check_integrity(tarball, expected, "x@1")
    with pytest.raises(IntpkgError, match=r"^x@1: the tarball's integrity is sha512-.*is pinned"):
        npm.check_integrity(tarball, "sha512-" + "A" * 86 + "==", "x@1")
