"""The import rule of README's layout: a stage imports ``common/`` and earlier stages, never a later one, and
``common/`` imports no stage. Checked on the source (an AST walk over every import, top-level or inside a function),
so a new import that breaks the order fails here, naming the file and line."""

from __future__ import annotations

import ast

from testing import ROOT

# the pipeline's order; a module may import its own package, common, and anything earlier
ORDER = ["common", "download", "prepare", "training", "train", "evaluation", "eval", "predict", "demo", "bench"]
PACKAGES = {"common", "download", "prepare", "training", "evaluation", "predict", "demo", "bench"}


def _sources():
    for package in sorted(PACKAGES):
        yield from sorted((ROOT / package).rglob("*.py"))
    yield ROOT / "train.py"
    yield ROOT / "eval.py"


def _stage_of(path, root) -> str:
    relative = path.relative_to(root)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module.split(".")[0]


def violations(sources=None, root=ROOT) -> list[str]:
    found = []
    for path in sources or _sources():
        stage = _stage_of(path, root)
        for line, target in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            if target in ORDER and ORDER.index(target) > ORDER.index(stage):
                found.append(f"{path.relative_to(root)}:{line}: {stage} imports the later stage {target}")
    return found


def test_no_stage_imports_a_later_one():
    assert violations() == []


def test_the_check_fails_when_a_stage_imports_a_later_one(tmp_path):
    """The rule is not vacuous: common/ importing a stage, or prepare importing training, is reported."""
    (tmp_path / "common").mkdir()
    (tmp_path / "prepare").mkdir()
    bad = tmp_path / "common" / "probe.py"
    bad.write_text("import os\n\ndef f():\n    from prepare.build import prepare_dataset\n")
    later = tmp_path / "prepare" / "probe.py"
    later.write_text("from training.data import RandomCrops\nfrom common.audio import probe\n")
    assert violations([bad, later], root=tmp_path) == [
        "common/probe.py:4: common imports the later stage prepare",
        "prepare/probe.py:1: prepare imports the later stage training"]
