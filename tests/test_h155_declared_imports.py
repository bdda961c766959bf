"""Every third-party module the packages import (at module or function level) comes from a
distribution pyproject.toml declares in [project].dependencies, so that `pip install .` on a
fresh machine gives every import its package (a helper's audit found none missing; this keeps
it so)."""
from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("synth", "hwsim", "cluster", "search", "deploy")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    tomllib = pytest.importorskip("tomllib")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {_norm(re.match(r"[A-Za-z0-9_.-]+", d).group()) for d in deps}


def _third_party_imports(files) -> dict[str, str]:
    """top-level module -> one place importing it."""
    found = {}
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and not node.level
                     and node.module else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in PACKAGES or top == "__future__":
                    continue
                found.setdefault(top, f"{f.name}:{node.lineno}")
    return found


def _missing(found: dict[str, str], declared: set[str], dists: dict) -> list[str]:
    out = []
    for module, where in sorted(found.items()):
        owners = {_norm(d) for d in dists.get(module, [])}
        if not owners & declared:
            out.append(f"{where}: imports {module} (distribution {sorted(owners) or '?'}), "
                       f"not in pyproject.toml's dependencies")
    return out


def test_every_third_party_import_is_a_declared_dependency():
    files = sorted(f for pkg in PACKAGES for f in (ROOT / pkg).rglob("*.py"))
    missing = _missing(_third_party_imports(files), _declared(), packages_distributions())
    assert not missing, "\n".join(missing)


def test_the_scan_sees_function_level_imports_and_missing_ones(tmp_path):
    """The scanner itself: imports inside a function are found, and a module no declared
    distribution provides (optuna: the bench extra only) is reported."""
    f = tmp_path / "m.py"
    f.write_text("import os\ndef f():\n    import numpy\n    from optuna.samplers import X\n")
    found = _third_party_imports([f])
    assert set(found) == {"numpy", "optuna"}
    missing = _missing(found, _declared(), {"numpy": ["numpy"], "optuna": ["optuna"]})
    assert len(missing) == 1 and "optuna" in missing[0]
