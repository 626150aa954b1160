"""pytest plugin of the book: every MyST page under chapters/ runs through nbmake.

nbmake collects only .ipynb files, so each page is read here as MyST-NB reads it for
the book (_ext/tfbook.py), with the accelerator flag applied, written to a temporary
notebook beside the page (so the kernel's working directory is the page's folder) and
executed by nbmake. After a page passes, its executed notebook goes into the book's
execution cache, so the book-build test renders it without executing it again.

Each page run also checks that the page left no files in its folder and no process
behind it (a TensorBoard server, a worker), and a failure names the page, the cell and
the line of the .md source.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest
import yaml
from nbmake.nb_result import NotebookError
from nbmake.nb_run import NotebookRun
from nbmake.pytest_items import NotebookFailedException, NotebookItem

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "_ext"))
import tfbook  # noqa: E402

pytest_plugins = ["pytester"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CACHE_DIR = ROOT / "_build" / ".jupyter_cache"
DONE_DIR = ROOT / "_build" / ".pytest-pages"


def pytest_addoption(parser):
    parser.addoption(
        "--accelerators",
        default=os.environ.get(tfbook.ENV_VAR, "auto"),
        help=f"which requires-<device> cells run: {tfbook.ALLOWED} (default auto: the devices present)",
    )


def pytest_configure(config):
    value = config.getoption("accelerators")
    try:
        config.tfbook_enabled = tfbook.resolve(value)
    except ValueError as err:
        raise pytest.UsageError(f"--accelerators: {err}") from None
    config.tfbook_value = value
    # What the kernels of the pages (and the book build run by a test) inherit.
    os.environ[tfbook.ENV_VAR] = value
    os.environ.setdefault("TFBOOK_DATA", str(ROOT / "data"))
    # The venv's bin first, so `%tensorboard` finds the tensorboard command.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def pytest_collect_file(file_path: Path, parent):
    chapters = parent.config.rootpath / "chapters"
    if file_path.suffix == ".md" and file_path.is_relative_to(chapters):
        from myst_nb.core.read import is_myst_markdown_notebook

        if is_myst_markdown_notebook(file_path.read_text(encoding="utf-8")):
            return PageFile.from_parent(parent, path=file_path)
    return None


def cell_timeout() -> int:
    """The per-cell timeout of the book (_config.yml execute.timeout), used by the tests too."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["execute"]["timeout"]


def expected_figures(page: Path) -> int:
    """How many figures the book shows for a page: plt.show() calls in the cells that run (with the
    accelerator flag of this run) and whose outputs are shown."""
    enabled = tfbook.resolve(os.environ.get(tfbook.ENV_VAR, "auto"))
    count = 0
    for cell in tfbook.read_page(page, enabled, "auto").cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and not {"skip-execution", "remove-cell", "remove-output"} & set(tags):
            count += cell.source.count("plt.show()")
    return count


class PageFile(pytest.File):
    def collect(self):
        yield PageItem.from_parent(self, filename=str(self.path))


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if not p.name.startswith(".nbmake-")}


def _processes_of(run_id: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("TFBOOK_PAGE_RUN") == run_id:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


class PageRun(NotebookRun):
    def _get_error(self, nb):
        """nbmake finds the failed cell by its error output; a cell can fail without one
        (an IPython UsageError such as an unknown %magic prints to stderr), and then nbmake
        reported success while the cells after it never ran. Name the last cell that ran."""
        error = super()._get_error(nb)
        if error is None:
            ran = [
                (c.execution_count, i) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count
            ]
            index = max(ran)[1] if ran else 0
            cell = nb.cells[index]
            stream = "".join(o.get("text", "") for o in cell.get("outputs", [])).strip()
            error = NotebookError(
                summary=f"cell did not complete: {stream or 'no output'}",
                trace=f"{'-' * 75}\n{cell.source}\n{stream}",
                failing_cell_index=index,
            )
        return error


class PageItem(NotebookItem):
    """One MyST page executed by nbmake."""

    def runtest(self):
        page = Path(self.filename)
        config = self.config
        nb = tfbook.read_page(page, config.tfbook_enabled, config.tfbook_value)
        before = _files(page.parent)
        run_id = uuid.uuid4().hex
        temp = page.with_name(f".nbmake-{page.stem}-{run_id[:8]}.ipynb")
        nbformat.write(nb, temp)
        os.environ["TFBOOK_PAGE_RUN"] = run_id  # inherited by the kernel and all it starts
        started = time.monotonic()
        try:
            option = config.option
            result = PageRun(temp, cell_timeout(), verbose=bool(option.verbose), kernel=option.nbmake_kernel).execute()
        finally:
            del os.environ["TFBOOK_PAGE_RUN"]
            temp.unlink(missing_ok=True)
            leaked = self._stop_leftover_processes(run_id)
            self._mark_done()
        seconds = time.monotonic() - started

        if result.error is not None:
            self._locate(result.error, nb)
            raise NotebookFailedException(result)
        leftover = sorted(str(p.relative_to(ROOT)) for p in _files(page.parent) - before)
        assert not leftover, f"{page.name} left files in its folder (write under TFBOOK_DATA instead): {leftover}"
        assert not leaked, f"{page.name} left processes running (now killed): {leaked}"
        self._cache(nb, result.nb, seconds)

    def _locate(self, error, nb):
        """Name page, cell and .md line in nbmake's failure report."""
        index = error.failing_cell_index
        source_map = nb.metadata.get("source_map", [])  # the 1-based line of each cell's ```{code-cell} fence
        line = source_map[index] if 0 <= index < len(source_map) else "?"
        where = f"{Path(self.filename).relative_to(ROOT)}:{line} (cell {index})"
        error.summary = f"{where}: {ANSI.sub('', error.summary)}"
        error.trace = f"Page {where} failed:\n{error.trace}"

    @staticmethod
    def _stop_leftover_processes(run_id) -> list[str]:
        """Kill what the page started and left running; say what it was."""
        deadline = time.monotonic() + 10  # the kernel itself takes a moment to exit
        while (alive := _processes_of(run_id)) and time.monotonic() < deadline:
            time.sleep(0.5)
        described = []
        for proc in alive:
            try:
                described.append(f"{proc.pid} {' '.join(proc.cmdline()[:3])}")
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        return described

    def _cache(self, nb, executed, seconds):
        """Store the outputs in the book's execution cache under the hash MyST-NB computes."""
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        bundle = copy.deepcopy(nb)
        for cell, ran in zip(bundle.cells, executed.cells, strict=True):
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
        get_cache(str(CACHE_DIR)).cache_notebook_bundle(
            CacheBundleIn(bundle, str(self.filename), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )

    def _mark_done(self):
        folder = DONE_DIR / run_uid(self.config)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / self.nodeid.replace("/", "__")).touch()


def run_uid(config) -> str:
    """One id per test run, the same in every xdist worker."""
    if not hasattr(config, "tfbook_uid"):
        config.tfbook_uid = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    return config.tfbook_uid


def pytest_sessionstart(session):
    """Forget the page markers of runs that ended more than an hour ago."""
    if not hasattr(session.config, "workerinput") and DONE_DIR.exists():  # the controller, before the workers
        for folder in DONE_DIR.iterdir():
            if time.time() - folder.stat().st_mtime > 3600:
                shutil.rmtree(folder, ignore_errors=True)


BOOK_TESTS = "tests/test_built_book.py"  # build the book, then check it in a browser


def pytest_collection_modifyitems(config, items):
    """Without xdist: the tests of the built book run last, after the pages they take from the cache."""
    items.sort(key=lambda item: item.nodeid.startswith(BOOK_TESTS))


@pytest.hookimpl(tryfirst=True)  # instead of xdist's own choice
def pytest_xdist_make_scheduler(config, log):
    """xdist hands out one test at a time, as with --dist load, except the tests of the built book: one
    unit for one worker, handed out only after every other test, so that worker builds the book once and
    waits (pages_done) only for pages that other workers run. (xdist's own xdist_group markers have no
    effect with pytest 9: xdist 3.8 renames item._nodeid, which pytest 9 no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class BookLast(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return "book" if nodeid.startswith(BOOK_TESTS) else nodeid

        def _assign_work_unit(self, node):
            if "book" in self.workqueue:
                self.workqueue.move_to_end("book")
            super()._assign_work_unit(node)

    return BookLast(config, log) if config.getvalue("dist") == "loadgroup" else None


@pytest.fixture(scope="session")
def pages_done(request):
    """Wait until every page selected in this run has finished (in any xdist worker)."""
    session = request.session
    pages = [item.nodeid.replace("/", "__") for item in session.items if isinstance(item, PageItem)]
    folder = DONE_DIR / run_uid(request.config)
    deadline = time.monotonic() + 3600
    while any(not (folder / name).exists() for name in pages):
        assert time.monotonic() < deadline, "pages did not finish"
        time.sleep(2)
    return pages


@pytest.fixture(scope="session")
def built_book(pages_done):
    """The README's build command, run once, after the pages of this run are in the execution cache."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run(
        [jupyter_book, "build", ".", "-W", "-n", "--keep-going"], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
