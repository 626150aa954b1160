"""The page runner of the tests: every MyST page under chapters/ runs through nbmake, once.

Each page is read as MyST-NB reads it for the book (tfbook.pages), with the accelerator flag applied,
and executed by nbmake as a notebook in an empty temporary folder, as in Colab: a fresh kernel whose
working folder holds only the notebook and `data/` with the datasets (copied from the repository's
data/ when present, else the page downloads them). The page passes when every cell runs, it wrote
nothing outside `data/`, and it left no process running. Its executed notebook then goes into the
book's execution cache, so the book build renders it without executing it again. A failure names
the page, the cell and the line of the .md source.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from datetime import datetime
from pathlib import Path

import nbformat
import psutil
import pytest
from nbmake.nb_result import NotebookError
from nbmake.nb_run import NotebookRun
from nbmake.pytest_items import NotebookFailedException, NotebookItem

from tfbook import devices, exercises
from tfbook.pages import config, read_page

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# what nbclient raises when the kernel dies or hangs before it answers its first request
KERNEL_NOT_STARTED = re.compile(r"Kernel died before replying to kernel_info|Kernel didn't respond in \d+ seconds")


def cache_dir(root: Path) -> Path:
    """The book's execution cache (_config.yml: execute_notebooks: cache)."""
    return root / "_build" / ".jupyter_cache"


def pytest_addoption(parser):
    parser.addoption(
        "--accelerators",
        default=os.environ.get(devices.ENV_VAR, "auto"),
        help=f"which requires-<device> cells run: {devices.ALLOWED} (default auto: the devices present)",
    )


def pytest_configure(config):
    value = config.getoption("accelerators")
    try:
        config.tfbook_enabled = devices.resolve(value)
    except ValueError as err:
        raise pytest.UsageError(f"--accelerators: {err}") from None
    os.environ[devices.ENV_VAR] = value  # what a book build run by a test inherits
    # the venv's bin first, so the pages' `%tensorboard` and `saved_model_cli` are found
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pytest.ini): one worker more than the CPUs this process may use. A page waits for a
    good part of its run (4.1's pipeline benchmarks sleep, servers and worker processes start up, Spark
    starts a JVM) and another page uses the CPU meanwhile: on 2 CPUs, 3 workers ran the pages in about
    12 % less wall time than 2 for the same CPU time (4 workers: no better)."""
    return (os.process_cpu_count() or 1) + 1


def pytest_collect_file(file_path: Path, parent):
    chapters = parent.config.rootpath / "chapters"
    if file_path.suffix == ".md" and file_path.is_relative_to(chapters):
        from myst_nb.core.read import is_myst_markdown_notebook

        if is_myst_markdown_notebook(file_path.read_text(encoding="utf-8")):
            return PageFile.from_parent(parent, path=file_path)
    return None


def cell_timeout(root: Path) -> int:
    """The per-cell timeout of the book (_config.yml execute.timeout), used by the tests too."""
    return config(root)["execute"]["timeout"]


class PageFile(pytest.File):
    def collect(self):
        yield PageItem.from_parent(self, filename=str(self.path))


def _processes_of(run_id: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("TFBOOK_PAGE_RUN") == run_id:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def _stop_leftover_processes(run_id) -> list[str]:
    """Kill what the page started and left running; say what it was."""
    deadline = time.monotonic() + 10  # the kernel itself takes a moment to exit
    while (alive := _processes_of(run_id)) and time.monotonic() < deadline:
        time.sleep(0.5)
    described = []
    for proc in alive:
        try:
            described.append(" ".join(proc.cmdline()[:3]))
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    return described


def execute_once_more_if_no_kernel(execute, name: str):
    """execute(), and once more if its kernel never started, so that no cell ran. What happens, rarely,
    when pages start together: a TCP port jupyter_client picked for the kernel is taken before the
    kernel binds it (ZMQError: Address already in use), and the kernel dies or hangs."""
    try:
        return execute()
    except RuntimeError as err:
        if not KERNEL_NOT_STARTED.search(str(err)):
            raise
        warnings.warn(f"{name}: the kernel did not start ({err}); starting a new one", stacklevel=1)
        return execute()


def empty_folder_with_data(folder: Path, datasets: Path) -> None:
    """A working folder as in Colab: nothing but the datasets the pages download, under ./data
    (copied from the repository's data/ where they are: the dataset mirror in CI, earlier downloads)."""
    for dataset in sorted(datasets.glob("*/")) if datasets.is_dir() else []:
        if any(dataset.glob("*.csv")):
            shutil.copytree(dataset, folder / "data" / dataset.name)


def exercise_seconds(executed) -> float:
    """Seconds the page spent in its 练习 section: from nbclient's record of each cell's start and end."""
    seconds, in_section = 0.0, False
    for cell in executed.cells:
        if cell.cell_type == "markdown":
            in_section = in_section or bool(exercises.SECTION.search(cell.source))
        elif in_section and (timing := cell.metadata.get("execution", {})).get("iopub.status.idle"):
            start, end = (datetime.fromisoformat(timing[k]) for k in ("iopub.status.busy", "iopub.status.idle"))
            seconds += (end - start).total_seconds()
    return seconds


def pytest_terminal_summary(terminalreporter):
    """After the durations: how much of the pages' execution time their exercises take (issue 23's budget)."""
    runs = [dict(report.user_properties) for report in terminalreporter.stats.get("passed", [])]
    runs = [run for run in runs if "exercise_seconds" in run]
    if runs:
        total = sum(run["page_seconds"] for run in runs)
        spent = sum(run["exercise_seconds"] for run in runs)
        terminalreporter.write_line(
            f"exercises: {spent:.1f} s of the {total:.1f} s the {len(runs)} pages ran ({100 * spent / total:.1f} %)"
        )


class PageRun(NotebookRun):
    def _get_error(self, nb):
        """nbmake finds the failed cell by its error output; a cell can fail without one (an IPython
        UsageError such as an unknown %magic prints to stderr), and then nbmake reported success while
        the cells after it never ran. Name the last cell that ran."""
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
        nb = read_page(page, self.config.tfbook_enabled)
        run_id = uuid.uuid4().hex
        root = self.config.rootpath
        folder = Path(tempfile.mkdtemp(prefix=f"tfbook-{page.stem}-"))
        empty_folder_with_data(folder, root / "data")
        notebook = folder / f"{page.stem}.ipynb"
        nbformat.write(nb, notebook)
        saved = os.environ.pop("TFBOOK_DATA", None)  # as in Colab: the page writes to ./data
        os.environ["TFBOOK_PAGE_RUN"] = run_id  # inherited by the kernel and all it starts
        started = time.monotonic()
        try:
            result = self._execute(notebook, page)
        finally:
            del os.environ["TFBOOK_PAGE_RUN"]
            if saved is not None:
                os.environ["TFBOOK_DATA"] = saved
            leaked = _stop_leftover_processes(run_id)
        seconds = time.monotonic() - started

        if result.error is not None:
            shutil.rmtree(folder, ignore_errors=True)
            self._locate(result.error, nb)
            raise NotebookFailedException(result)
        leftover = sorted(p.name for p in folder.iterdir() if p.name not in (notebook.name, "data"))
        shutil.rmtree(folder, ignore_errors=True)
        assert not leftover, f"{page.name} wrote outside ./data (write under TFBOOK_DATA instead): {leftover}"
        assert not leaked, f"{page.name} left processes running (now killed): {leaked}"
        self._cache(nb, result.nb, seconds)
        self.user_properties += [("page_seconds", seconds), ("exercise_seconds", exercise_seconds(result.nb))]

    def _execute(self, notebook: Path, page: Path):
        option = self.config.option
        timeout = cell_timeout(self.config.rootpath)
        run = PageRun(notebook, timeout, verbose=bool(option.verbose), kernel=option.nbmake_kernel)
        return execute_once_more_if_no_kernel(run.execute, page.name)

    def _locate(self, error, nb):
        """Name page, cell and .md line in nbmake's failure report."""
        index = error.failing_cell_index
        source_map = nb.metadata.get("source_map", [])  # the 1-based line of each cell's ```{code-cell} fence
        line = source_map[index] if 0 <= index < len(source_map) else "?"
        where = f"{Path(self.filename).relative_to(self.config.rootpath)}:{line} (cell {index})"
        error.summary = f"{where}: {ANSI.sub('', error.summary)}"
        error.trace = f"Page {where} failed:\n{error.trace}"

    def _cache(self, nb, executed, seconds):
        """Store the outputs in the book's execution cache under the hash MyST-NB computes."""
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        bundle = copy.deepcopy(nb)
        for cell, ran in zip(bundle.cells, executed.cells, strict=True):
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
        get_cache(str(cache_dir(self.config.rootpath))).cache_notebook_bundle(
            CacheBundleIn(bundle, str(self.filename), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )


def uncached_pages(root: Path, enabled: set[str]) -> list[str]:
    """The pages whose executed notebook (as the build would execute it) is not in the cache."""
    from jupyter_cache import get_cache

    from tfbook.pages import pages

    cache = get_cache(str(cache_dir(root)))
    missing = []
    for page in pages(root):
        try:
            cache.match_cache_notebook(read_page(root / page, enabled))
        except KeyError:
            missing.append(page)
    return missing


if __name__ == "__main__":  # `make book`: which pages to execute before the build renders them all
    print(" ".join(uncached_pages(Path.cwd(), devices.resolve(os.environ.get(devices.ENV_VAR, "auto")))))
