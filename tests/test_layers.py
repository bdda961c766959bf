"""The one-way import chain of DESIGN.md: deploy -> search -> cluster -> hwsim -> synth.

Fails when a package imports one above it, when a module imports a private name (one
starting with ``_``) of another package, or when files import each other in a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["synth", "hwsim", "cluster", "search", "deploy"]
RANK = {p: i for i, p in enumerate(ORDER)}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in ORDER:
        for f in (ROOT / pkg).rglob("*.py"):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def _imports(path: Path, module: str):
    """(line, imported module, imported names) for every absolute or relative import."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[:len(up) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            yield node.lineno, base, [a.name for a in node.names]


def _violations() -> tuple[list[str], dict[str, set[str]]]:
    mods = _modules()
    bad, graph = [], {m: set() for m in mods}
    for mod, path in mods.items():
        pkg = mod.split(".")[0]
        for line, target, names in _imports(path, mod):
            top = target.split(".")[0]
            if top not in RANK:
                continue
            where = f"{path.relative_to(ROOT)}:{line}"
            if RANK[top] > RANK[pkg]:
                bad.append(f"{where}: {pkg} imports {target} (upward)")
            if top != pkg:
                private = [n for n in names if n.startswith("_")]
                private += [p for p in target.split(".") if p.startswith("_")
                            and p != "__init__"]
                if private:
                    bad.append(f"{where}: private name {private} from {target}")
            for name in names or [None]:
                full = f"{target}.{name}" if name else target
                dep = full if full in mods else target
                if dep in mods and dep != mod:
                    graph[mod].add(dep)
    return bad, graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _attribute_privates() -> list[str]:
    """``othpkg.module._name`` used as an attribute (not caught by import checks)."""
    bad = []
    for mod, path in _modules().items():
        pkg = mod.split(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                root = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in RANK and root.id != pkg:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {root.id}...{node.attr}")
    return bad


def test_imports_point_down_and_no_private_names():
    bad, _ = _violations()
    assert not bad + _attribute_privates(), "\n".join(bad + _attribute_privates())


def test_no_import_cycles_among_files():
    _, graph = _violations()
    cycles = _cycles(graph)
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_violations(tmp_path):
    """The checker itself: an upward import, a private name and a cycle are each found."""
    f = tmp_path / "m.py"
    f.write_text("from deploy.cli import _x\nimport search.space\n")
    found = list(_imports(f, "synth.m"))
    assert ("deploy.cli", ["_x"]) in [(t, n) for _, t, n in found]
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_the_cli_starts_without_scikit_learn():
    """Importing the CLI (every `nnsynth` process, and the Ray workers that import synth)
    does not import scikit-learn (about 2 s): the data sets that need it import it when
    they load."""
    import subprocess
    import sys
    code = "import sys, deploy.cli.main; print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "[]"
