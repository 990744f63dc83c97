"""Packaging: what `pip install` puts into site-packages, and that building it raises no setuptools warning."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("pyproject.toml", "README.md", "auditor", "connectors", "models", "cassettes")  # as the Dockerfile copies
# What setuptools says when it warns: its warning classes (SetuptoolsDeprecationWarning, BuildBackendWarning,
# InformationOnly, ...) and distutils' `warning: ...` lines. pip's own notes about this machine's index
# configuration ("WARNING: Location ... is ignored") are not the package's.
SETUPTOOLS_WARNING = re.compile(r"\w+Warning\b|InformationOnly|^\s*warning: ", re.MULTILINE)

pytestmark = pytest.mark.slow


def _source_copy(tmp_path: Path) -> Path:
    """The files an install sees, without this checkout's build leftovers (egg-info, build/, caches)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in SHIPPED:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, source / name)
    return source


def _pip(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def test_the_wheel_builds_without_warnings_and_installs_only_the_documented_names(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    output = _pip("wheel", str(source), "--no-deps", "-w", str(tmp_path / "dist"), cwd=tmp_path)
    assert not SETUPTOOLS_WARNING.findall(output), output
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"auditor", "connectors", "models", "cassettes"}
    # `auditor demo` needs both nights' recordings installed; the connectors' test recordings are not shipped.
    assert "cassettes/demo/night-2/hhs-news-x.yaml" in names
    assert "cassettes/demo/hhs-news-x.yaml" in names
    assert not [name for name in names if name.startswith(("cassettes/twitter/", "cassettes/facebook/"))]
    # each generic top-level name, and why it is kept, is documented where a packager looks
    built = (REPO / "README.md").read_text().split("## How it is built", 1)[1]
    assert "top-level" in built and all(f"`{name}`" in built for name in top_level)


def test_the_editable_install_raises_no_setuptools_warning(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    target = str(tmp_path / "site-packages")
    output = _pip("install", "--no-deps", "--no-compile", "-e", str(source), "--target", target, cwd=tmp_path)
    assert not SETUPTOOLS_WARNING.findall(output), output
