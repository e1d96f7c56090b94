"""
The apps' layering (README "Architecture", DESIGN §9): each app may import only the apps
below it, counting imports inside functions (they are how import circles hide). core imports
no app of ours; config, at the top, may import them all.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Bottom to top.
LAYERS = ["core", "audit", "accounts", "videos", "privacy", "governance", "teaching", "library", "config"]


def imported_apps(path: Path) -> set[tuple[str, int]]:
    """(app, line) for every import of one of our apps in ``path``, wherever it stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            app = name.split(".", 1)[0]
            if app in LAYERS:
                found.add((app, node.lineno))
    return found


def upward_imports(app: str, root: Path = ROOT) -> list[str]:
    rank = LAYERS.index(app)
    problems = []
    for path in sorted((root / app).rglob("*.py")):
        for other, line in sorted(imported_apps(path)):
            if LAYERS.index(other) > rank:
                problems.append(f"{path.relative_to(root)}:{line} imports {other}")
    return problems


@pytest.mark.parametrize("app", LAYERS)
def test_no_app_imports_an_app_above_it(app):
    assert upward_imports(app) == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    """Prove the test can fail: an import hidden in a function body is found."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "hidden.py").write_text(
        "def later():\n    from library.models import Playlist\n    return Playlist\n"
    )
    assert upward_imports("core", root=tmp_path) == ["core/hidden.py:2 imports library"]
