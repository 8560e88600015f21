"""S5: shape of the code — demo data apart from the domain, no import circle through views."""

import ast
from pathlib import Path

OFELI = Path(__file__).resolve().parent.parent / "ofeli"


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_s5_domain_apps_never_import_the_demo_package():
    offenders = [
        f"{path.relative_to(OFELI)} imports {module}"
        for path in OFELI.rglob("*.py")
        if "demo" not in path.relative_to(OFELI).parts[:1]
        for module in _imports(path)
        if module == "ofeli.demo" or module.startswith("ofeli.demo.")
    ]
    assert offenders == []


def test_s5_no_app_imports_another_apps_views():
    """Apps talk through query and service functions, never through another app's views."""
    offenders = []
    for path in OFELI.rglob("*.py"):
        app = path.relative_to(OFELI).parts[0]
        for module in _imports(path):
            parts = module.split(".")
            if len(parts) >= 3 and parts[0] == "ofeli" and parts[1] != app and parts[2] == "views":
                offenders.append(f"{path.relative_to(OFELI)} imports {module}")
    assert offenders == []
