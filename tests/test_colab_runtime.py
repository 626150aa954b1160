"""Every page's Colab notebook, run as a reader runs it in Colab, in Colab's environment rebuilt from the
package list Google publishes (colab/; `make colab-env` builds .venv-colab).

The kernel runs in that environment with `google.colab` imported (tests/colab_runtime/), from an empty
folder holding only ./data with the datasets, as Colab's /content. Two ways, as the front page promises,
in the order of a runtime's life (`make test-colab` runs them so, one pytest run each):
1. test_environment_is_colabs: the environment is Colab's, before any notebook installs into it;
2. without the setup cell ([<page>-skip]): every notebook runs on Colab's own TensorFlow;
3. the setup cell (test_setup_cell_...): it really installs the book's versions into the environment and
   really restarts the kernel, then the notebook runs from the top again;
4. after it ([<page>-setup], `make test-colab COLAB_WAYS="skip setup"`): every notebook on those versions.

TFBOOK_COLAB_PYTHON=/path/to/python uses that interpreter instead (the weekly workflow: Colab's own
runtime image), in the same order. TFBOOK_COLAB_MUST_RUN=colab,tfserving (that workflow: root, apt and the
internet, as in Colab) fails a notebook that skips a %%requires cell for one of them: there 5.6 installs
TensorFlow Serving and serves its model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from tfbook import colab, devices
from tfbook.pages import pages
from tfbook.pytest_plugin import (
    _stop_leftover_processes,
    cell_timeout,
    empty_folder_with_data,
    execute_once_more_if_no_kernel,
)

ROOT = Path(__file__).resolve().parents[1]
PAGES = pages()
STUB = Path(__file__).with_name("colab_runtime")
pytestmark = pytest.mark.colab


def must_run() -> set[str]:
    """The things (TFBOOK_COLAB_MUST_RUN) whose %%requires cells must not be skipped; none by default."""
    value = os.environ.get("TFBOOK_COLAB_MUST_RUN", "none")
    things = devices.parse(value)
    if things == "auto":
        raise ValueError(f"TFBOOK_COLAB_MUST_RUN: name the things; allowed: {devices.ALLOWED.replace('auto, ', '')}")
    return things


def colab_python() -> Path:
    python = Path(os.environ.get("TFBOOK_COLAB_PYTHON") or ROOT / ".venv-colab" / "bin" / "python")
    if not python.exists():
        pytest.fail(f"{python} is missing: `make test-colab` builds Colab's environment first")
    return python


def installed(python: Path, *names: str) -> dict[str, str | None]:
    code = (
        "import json, sys\nfrom importlib.metadata import version, PackageNotFoundError\n"
        "def v(n):\n    try:\n        return version(n)\n    except PackageNotFoundError:\n        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )
    return json.loads(subprocess.run([python, "-c", code, *names], capture_output=True, text=True, check=True).stdout)


@pytest.fixture(scope="session")
def kernels(tmp_path_factory):
    """Kernel spec `colab`: Colab's Python with google.colab imported at start-up."""
    home = tmp_path_factory.mktemp("jupyter")
    startup = home / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # noqa: F401  (as in Colab)\n")
    book_bin = str(Path(sys.executable).parent)
    python = colab_python()
    # Colab's PATH: its Python's bin first (Java is the machine's, as Colab's OpenJDK 21 is its own),
    # nothing of the book's venv
    path = [str(python.parent), *(p for p in os.environ["PATH"].split(os.pathsep) if p != book_bin)]
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab",
        "language": "python",
        "env": {
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "PYTHONPATH": str(STUB),
            "IPYTHONDIR": str(home / "ipython"),
            "PATH": os.pathsep.join(path),
        },
    }
    (home / "kernels" / "colab").mkdir(parents=True)
    (home / "kernels" / "colab" / "kernel.json").write_text(json.dumps(spec))
    os.environ["JUPYTER_PATH"] = str(home)
    for name in ("TFBOOK_DATA", "TFBOOK_ACCELERATORS"):  # nothing of the book's set-up reaches Colab
        os.environ.pop(name, None)
    return home


def timeout(cell) -> int:
    """The book's per-cell timeout; installing TensorFlow may take longer (Colab sets no limit)."""
    return 1200 if cell.metadata.get("tags") in (["colab-setup"], ["colab-extras"]) else cell_timeout(ROOT)


def run(nb, folder: Path, page: str):
    """Execute a notebook as "Run all" does; the executed notebook, or DeadKernelError."""
    run_id = uuid.uuid4().hex
    os.environ["TFBOOK_PAGE_RUN"] = run_id

    def execute():
        client = NotebookClient(nb, kernel_name="colab", allow_errors=False, timeout_func=timeout)
        return client.execute(cwd=str(folder))

    try:
        return execute_once_more_if_no_kernel(execute, Path(page).name)
    finally:
        del os.environ["TFBOOK_PAGE_RUN"]
        _stop_leftover_processes(run_id)


def colab_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    empty_folder_with_data(folder, ROOT / "data")
    return folder


def check_ran_to_the_end(executed, folder: Path):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a cell did not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    leftover = {p.name for p in folder.iterdir()} - {"data"}
    assert not leftover, f"the notebook wrote outside ./data: {leftover}"


def test_setup_cell_installs_the_book_versions_and_restarts(kernels, tmp_path):
    """On Colab's runtime the setup cell installs the book's versions and restarts; run again, all runs."""
    python = colab_python()
    pins = colab.pins()
    before = installed(python, *pins)
    assert before != pins, f"the environment already has the book's versions: {before}"
    page = "chapters/ch1_core_concepts/1_2_graphs.md"  # it runs %tensorboard: the command must survive
    folder = colab_folder(tmp_path)
    with pytest.raises(DeadKernelError):
        run(colab.make_notebook(page), folder, page)
    assert installed(python, *pins) == pins
    assert (python.parent / "tensorboard").exists(), "the tensorboard command is gone: %tensorboard starts nothing"
    started = time.monotonic()
    executed = run(colab.make_notebook(page), folder, page)  # "run all cells again"
    check_ran_to_the_end(executed, folder)
    setup = next(c for c in executed.cells if c.metadata.get("tags") == ["colab-setup"])
    assert not setup.outputs, "the setup cell installed again after the restart"
    print(f"{page}: {time.monotonic() - started:.0f} s after the restart")


@pytest.mark.parametrize("way", ["setup", "skip"])
@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).stem)
def test_notebook_runs_in_colab(kernels, tmp_path, page, way):
    nb = colab.make_notebook(page)
    if way == "skip":  # the reader skips the setup cell: Colab's own TensorFlow
        nb.cells = [c for c in nb.cells if c.metadata.get("tags") != ["colab-setup"]]
        tensorflow = installed(colab_python(), "tensorflow")["tensorflow"]
        assert tensorflow == colab.colab_packages()["tensorflow"], f"TensorFlow {tensorflow}: not Colab's any more"
    else:
        assert installed(colab_python(), *colab.pins()) == colab.pins(), "run the setup cell test first"
    folder = colab_folder(tmp_path)
    executed = run(nb, folder, page)
    check_ran_to_the_end(executed, folder)
    missed = colab.skipped(executed) & must_run()
    assert not missed, f"{page}: cells that need {sorted(missed)} were skipped (TFBOOK_COLAB_MUST_RUN)"
    shutil.rmtree(folder, ignore_errors=True)


def test_environment_is_colabs():
    """Every package of the environment that Colab lists has Colab's version (before any notebook ran)."""
    python = colab_python()
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True)
    colab_versions = colab.colab_packages()
    differ = {
        p["name"]: (p["version"], colab_versions[colab._name(p["name"])])
        for p in json.loads(listed.stdout)
        if colab._name(p["name"]) in colab_versions and colab_versions[colab._name(p["name"])] != p["version"]
    }
    assert not differ, differ
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    assert version.stdout.strip() == "(3, 13)"  # colab/os-info.txt: Python 3.13
