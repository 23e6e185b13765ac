"""requirements.lock (what `make install` and the Docker image install) pins every requirement
of pyproject.toml within its range: a requirement added or changed without `make lock` fails."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from flows.config.settings import REPO_ROOT


def _locked() -> dict[str, list[Version]]:
    """Pinned versions by package name (a name may have one pin per Python version)."""
    pins: dict[str, list[Version]] = {}
    for line in (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        pins.setdefault(canonicalize_name(requirement.name), []).append(Version(specifier.version))
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_every_declared_requirement_is_locked_within_its_range() -> None:
    locked = _locked()
    declared = _declared()
    assert len(declared) > 10 and len(locked) > len(declared)
    for requirement in declared:
        versions = locked.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in requirements.lock: run `make lock`"
        for version in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements.lock pins {requirement.name}=={version} outside"
                f" {requirement.specifier}: run `make lock`"
            )
