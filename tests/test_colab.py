"""Every page as a Colab notebook (_ext/colab.py): generated as the book workflow does, and run
from an empty folder outside the repository, as in Colab's /content."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbmake.nb_run import NotebookRun

from conftest import cell_timeout

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import colab  # noqa: E402

PAGES = colab.pages()
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
CATALOGUE = (ROOT / "data" / "README.md").read_text()
DATASETS = sorted({row.split("/")[0] for row in re.findall(r"^\| `([\w/.]+)` \|", CATALOGUE, re.M)})


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).name)
def test_page_runs_as_a_colab_notebook_from_an_empty_folder(page, tmp_path, monkeypatch):
    nb = colab.make_notebook(page)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.metadata["tags"] == ["colab-setup"] and "google.colab" in first_code.source
    assert not any("raises-exception" in c.metadata.get("tags", []) for c in nb.cells), "Run all would stop there"
    for cell in nb.cells:  # cells that need a GPU/TPU/server run only where it is present
        if any(tag.startswith("requires-") for tag in cell.metadata.get("tags", [])):
            assert cell.source.startswith("%%requires "), cell.source[:80]

    # Colab: an empty working folder; the loader downloads datasets into ./data/<dataset>/ (here: the mirror)
    data = Path(os.environ["TFBOOK_DATA"])
    for dataset in DATASETS:
        if (data / dataset).is_dir():
            shutil.copytree(data / dataset, tmp_path / "data" / dataset)
    monkeypatch.delenv("TFBOOK_DATA")  # a page on its own writes to ./data
    notebook = tmp_path / Path(page).with_suffix(".ipynb").name
    nbformat.write(nb, notebook)
    result = NotebookRun(notebook, cell_timeout()).execute()
    assert result.error is None, result.error.trace
    ran = [c for c in result.nb.cells if c.cell_type == "code" and "skip-execution" not in c.metadata.get("tags", [])]
    assert all(c.execution_count for c in ran), "a cell did not run"
    leftover = {p.relative_to(tmp_path).parts[0] for p in tmp_path.iterdir()} - {notebook.name, "data"}
    assert not leftover, f"the notebook wrote outside ./data: {leftover}"


def test_setup_cell_pins_what_requirements_pin():
    pins = colab.pins()
    requirements = (ROOT / "requirements.txt").read_text()
    assert set(pins) == {"tensorflow", "keras", "tensorboard"}
    for name, version in pins.items():
        assert f"\n{name}=={version}\n" in requirements


def test_urls_name_the_generated_notebooks():
    conf = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = conf["repository"]["url"].removeprefix("https://github.com/")
    branch = conf["sphinx"]["config"]["tfbook_colab_branch"]
    for page in PAGES:
        assert colab.colab_url(page) == (
            f"https://colab.research.google.com/github/{repo}/blob/{branch}/{page.removesuffix('.md')}.ipynb"
        )


def test_workflow_publishes_exactly_the_linked_notebooks(tmp_path):
    steps = WORKFLOW["jobs"]["notebooks"]["steps"]
    generate = next(s for s in steps if s.get("id") == "generate")
    publish = next(s for s in steps if s.get("uses", "").startswith("peaceiris/actions-gh-pages"))
    command = next(line for line in generate["run"].splitlines() if "_ext/colab.py" in line)
    args = shlex.split(command)
    outdir = args[-1]
    assert publish["with"]["publish_dir"] == outdir
    assert publish["with"]["publish_branch"] == "${{ steps.generate.outputs.branch }}"
    # run the workflow's own command (into a temporary folder) and compare with the URLs of the pages
    subprocess.run([sys.executable, *args[1:-1], str(tmp_path / "out")], cwd=ROOT, check=True, capture_output=True)
    published = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.ipynb"))
    linked = sorted(colab.colab_url(page).split("/blob/")[1].split("/", 1)[1] for page in PAGES)
    assert published == linked
    # and the branch the workflow publishes to is the one in _config.yml
    branch_line = next(line for line in generate["run"].splitlines() if "branch=" in line)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "_ext"))
    command = ["bash", "-c", branch_line.replace('>> "$GITHUB_OUTPUT"', "")]
    shown = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True).stdout.strip()
    assert shown == "branch=" + colab.config()["sphinx"]["config"]["tfbook_colab_branch"]
