"""The hub's dependencies: constraints.txt, the releases `make` installs and the image is built
with, pins every dependency pyproject.toml names within the range it allows, and the tests run
on exactly those releases; and the hub imports nothing that only its tests have (the image
installs skp without them; tests/unit/test_compose.py checks the image's Python)."""

import re
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!-]+)")


def lines() -> list[str]:
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    return {canonicalize_name(m["name"]): m["version"]
            for m in map(PIN.fullmatch, lines()) if m}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def runtime() -> list[Requirement]:
    return [Requirement(each) for each in project()["dependencies"]]


def development() -> list[Requirement]:
    return [Requirement(each) for each in project()["optional-dependencies"]["dev"]]


def requirements() -> list[Requirement]:
    return runtime() + development()


def test_every_line_pins_one_release():
    assert lines()
    for line in lines():
        assert PIN.fullmatch(line), f"not one pinned release: {line!r}"


@pytest.mark.parametrize("requirement", requirements(), ids=str)
def test_every_dependency_is_pinned_within_its_range(requirement, pins):
    pinned = pins.get(canonicalize_name(requirement.name))
    assert pinned is not None, f"{requirement.name} is not in constraints.txt: run make lock"
    assert requirement.specifier.contains(pinned, prereleases=True), (
        f"constraints.txt pins {requirement.name} {pinned}, outside {requirement.specifier}")


def test_the_tests_run_on_the_pinned_releases(pins):
    differ = {}
    for name, pinned in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:  # a dependency of another Python's only
            continue
        if installed != pinned:
            differ[name] = (pinned, installed)
    assert not differ, f"the venv differs from constraints.txt (pinned, installed): {differ}"


#: Imports every module of skp and runs `skp --help`, with the packages of the distributions
#: given in argv[1] (those only the tests need) refused as if not installed.
WITHOUT = textwrap.dedent("""
    import importlib, pkgutil, sys
    refused = set(sys.argv[1].split(","))
    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in refused:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, Refuse())
    import skp
    for module in pkgutil.walk_packages(skp.__path__, "skp."):
        if module.name != "skp.__main__" and not module.name.startswith("skp.store.migrations"):
            importlib.import_module(module.name)
    from skp.cli import main
    sys.argv = ["skp", "--help"]
    main()
""")


def test_the_hub_imports_nothing_only_its_tests_have():
    needed = {canonicalize_name(each.name) for each in runtime()}
    only_tests = {canonicalize_name(each.name) for each in development()} - needed
    refused = sorted(module for module, dists in packages_distributions().items()
                     if {canonicalize_name(each) for each in dists} <= only_tests)
    assert "zeep" not in refused and "pytest" in refused
    shown = subprocess.run([sys.executable, "-c", WITHOUT, ",".join(refused)],  # noqa: S603
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "Usage: skp" in shown.stdout
