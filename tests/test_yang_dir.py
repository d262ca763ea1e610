"""yang/ietf and yang/iana hold verbatim copies of published modules that pyang accepts.

Each file must be byte-identical to the corpus file it was copied from: its sha256 is checked
against ../shared/corpus/yang/ietf-rfc/MANIFEST.tsv when that checkout sits beside this one,
else against the checked-in yang/SHA256SUMS. pyang must compile each file with only yang/ietf
and yang/iana on its search path (no home, install or working-directory modules).
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
YANG = REPO / "yang"
SEARCH_DIRS = (YANG / "ietf", YANG / "iana")
SUMS = YANG / "SHA256SUMS"
MANIFEST = REPO.parent / "shared" / "corpus" / "yang" / "ietf-rfc" / "MANIFEST.tsv"

FILES = sorted(p for d in SEARCH_DIRS for p in d.glob("*.yang"))


def _rel(path: Path) -> str:
    return path.relative_to(YANG).as_posix()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checked_in_sums() -> dict[str, str]:
    sums = {}
    for line in SUMS.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.lstrip("*")] = digest
    return sums


def _manifest_sums() -> dict[str, str]:
    with MANIFEST.open(newline="") as f:
        return {row["file"]: row["sha256"] for row in csv.DictReader(f, delimiter="\t")}


def test_yang_dirs_hold_exactly_the_listed_files() -> None:
    assert len(FILES) > 0
    assert {_rel(p) for p in FILES} == set(_checked_in_sums())


def test_checked_in_sums_match_corpus_manifest() -> None:
    assert MANIFEST.exists(), "../shared (the YANG corpus) must be beside the checkout"
    manifest = _manifest_sums()
    for name, digest in _checked_in_sums().items():
        assert manifest.get(Path(name).name) == digest, name


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_file_is_verbatim_copy(path: Path) -> None:
    if MANIFEST.exists():
        expected = _manifest_sums().get(path.name)
    else:
        expected = _checked_in_sums().get(_rel(path))
    assert expected is not None, f"{_rel(path)} is not a known corpus file"
    assert _sha256(path) == expected


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_pyang_accepts_file(path: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "YANG_MODPATH"}
    # Point pyang's implicit search dirs at an empty place so imports resolve from yang/ only.
    env["HOME"] = str(tmp_path)
    env["YANG_INSTALL"] = str(tmp_path)
    out = tmp_path / "out.tree"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyang",
            "--path",
            os.pathsep.join(str(d) for d in SEARCH_DIRS),
            "-f",
            "tree",
            "-o",
            str(out),
            str(path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr.lower(), proc.stderr
    assert out.exists()
