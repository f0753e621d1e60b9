"""The architecture holds: blueprints match their packages and template folders, the import contracts are
kept, no module imports itself in a circle, and migrations sort by file name in the order they apply."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

import config
from tests.support.paths import ROOT
from training import BLUEPRINT_PACKAGES, create_app

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
SHARED_TEMPLATES = {"base.html", "errors.html", "_macros.html"}


def test_each_blueprint_is_named_like_its_package_and_template_folder():
    app = create_app(config.TestConfig)
    for name, blueprint in app.blueprints.items():
        assert blueprint.import_name == f"training.{name}.views", name
        assert (ROOT / "templates" / name).is_dir(), f"templates/{name}/ is missing"
    assert set(app.blueprints) == set(BLUEPRINT_PACKAGES)
    folders = {p.name for p in (ROOT / "templates").iterdir() if p.is_dir()}
    assert folders == set(app.blueprints), "a template folder belongs to no blueprint"
    assert {p.name for p in (ROOT / "templates").iterdir() if p.is_file()} == SHARED_TEMPLATES


def test_a_package_renders_only_from_its_own_template_folder():
    for module in (ROOT / "training").rglob("*.py"):
        package = module.relative_to(ROOT / "training").parts[0]
        for call in ast.walk(ast.parse(module.read_text())):
            if isinstance(call, ast.Call) and getattr(call.func, "attr", getattr(call.func, "id", None)) in (
                    "render_template", "get_template") and call.args:
                first = call.args[0]
                if isinstance(first, ast.JoinedStr):   # f"reminders/mail/{name}.txt": its fixed start
                    first = first.values[0]
                if not isinstance(first, ast.Constant):
                    continue
                name = first.value
                assert name in SHARED_TEMPLATES or name.startswith(f"{package}/"), f"{module}: {name}"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_the_import_contracts_are_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_import_contracts_catch_a_lower_layer_importing_a_higher_one(tmp_path):
    """The contracts are not empty words: one wrong import in a copy of the code breaks both."""
    shutil.copytree(ROOT / "training", tmp_path / "training", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    models = tmp_path / "training" / "people" / "models.py"
    models.write_text(models.read_text() + "\n\ndef _reach_up():\n    from training.reports import progress\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    assert "layered: a lower one never imports a higher one BROKEN" in " ".join(result.stdout.split())
    assert "No cycles between the modules" in result.stdout and "2 broken" in result.stdout


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("training", include_external_packages=False)
    cycles = [module for module in sorted(graph.modules)
              if any(graph.find_shortest_chain(imported, module)
                     for imported in graph.find_modules_directly_imported_by(module))]
    assert cycles == []


def test_migrations_sort_by_file_name_in_the_order_they_apply():
    files = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    revisions = []
    for path in files:
        text = path.read_text()
        revision = re.search(r"^revision = '(\w+)'", text, re.M).group(1)
        down = re.search(r"^down_revision = (?:'(\w+)'|None)", text, re.M).group(1)
        assert re.fullmatch(rf"\d{{4}}_\d\d_\d\d_\d{{4}}_{revision}_\w+\.py", path.name), path.name
        revisions.append((revision, down))
    assert [down for _, down in revisions] == [None] + [revision for revision, _ in revisions[:-1]]
