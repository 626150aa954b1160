"""The page runner (conftest.py) and the accelerator flag, on a small fixture page.

Each test lays out a tiny book (conftest.py, _ext/, _config.yml, chapters/page.md) in a
temporary folder and runs pytest on it in a subprocess, as a maintainer would.
"""

import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import tfbook  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "page.md"
HAS_GPU = "gpu" in tfbook.detect()


@pytest.fixture
def book(pytester):
    for name in ("conftest.py", "_config.yml"):
        shutil.copy(ROOT / name, pytester.path / name)
    shutil.copytree(ROOT / "_ext", pytester.path / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    (pytester.path / "chapters").mkdir()
    page = pytester.path / "chapters" / "page.md"
    shutil.copy(FIXTURE, page)
    return page


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "chapters", *args, timeout=300)


def fence_line(page: Path, text: str) -> int:
    """The 1-based line of the ```{code-cell} fence of the cell that contains text."""
    lines = page.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if text in line)
    return next(i for i in range(at, -1, -1) if lines[i].startswith("```{code-cell}")) + 1


def cached_notebook(root: Path):
    from jupyter_cache import get_cache

    records = get_cache(str(root / "_build" / ".jupyter_cache")).list_cache_records()
    assert len(records) == 1
    return get_cache(str(root / "_build" / ".jupyter_cache")).get_cache_bundle(records[0].pk).nb


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU: the tagged cell runs (see the next test)")
def test_gpu_cell_is_skipped_on_a_machine_without_gpu(pytester, book):
    result = run(pytester)
    result.assert_outcomes(passed=1)
    executed = cached_notebook(pytester.path).cells
    gpu_cell = next(c for c in executed if "requires-gpu" in c.metadata.get("tags", []))
    assert "skip-execution" in gpu_cell.metadata.tags and not gpu_cell.outputs
    assert executed[-1].outputs[0].text == "last cell ran\n"
    # the page as the book shows it: a visible note right before the skipped cell
    cells = tfbook.read_page(book, set(), "auto").cells
    note = next(i for i, c in enumerate(cells) if "requires-gpu" in c.metadata.get("tags", [])) - 1
    assert cells[note].cell_type == "markdown" and "需要 GPU" in cells[note].source


@pytest.mark.skipif(not HAS_GPU, reason="needs a GPU")
def test_gpu_cell_runs_where_a_gpu_is_present(pytester, book):
    run(pytester).assert_outcomes(passed=1)
    gpu_cell = next(c for c in cached_notebook(pytester.path).cells if "requires-gpu" in c.metadata.get("tags", []))
    assert gpu_cell.outputs[0].text.startswith("GPU 0:")


@pytest.mark.skipif(HAS_GPU, reason="forcing gpu can only fail where there is no GPU")
def test_forcing_gpu_runs_the_tagged_cell_and_fails_without_gpu(pytester, book):
    result = run(pytester, "--accelerators=gpu")
    result.assert_outcomes(failed=1)
    # the failure names the page, the line of the cell in the .md source and the error
    line = fence_line(book, ":tags: [requires-gpu]")
    result.stdout.fnmatch_lines(
        [f"Page chapters/page.md:{line} (cell *) failed:", "*no GPU here: nvidia-smi not found*"]
    )


def test_none_skips_the_tagged_cell_even_with_a_gpu(pytester, book):
    run(pytester, "--accelerators=none").assert_outcomes(passed=1)
    gpu_cell = next(c for c in cached_notebook(pytester.path).cells if "requires-gpu" in c.metadata.get("tags", []))
    assert not gpu_cell.outputs


def test_bad_flag_value_is_rejected_with_the_allowed_values(pytester, book):
    result = run(pytester, "--accelerators=cuda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown value 'cuda'; allowed: none, auto, gpu, tpu, tfserving*"])


def test_a_false_claim_fails_and_names_the_hidden_cell(pytester, book):
    book.write_text(book.read_text().replace("assert answer == 42", "assert answer == 43"))
    result = run(pytester, "--accelerators=none")
    result.assert_outcomes(failed=1)
    line = fence_line(book, "assert answer == 43")
    result.stdout.fnmatch_lines(
        [f"Page chapters/page.md:{line} (cell *) failed:", "assert answer == 43", "*AssertionError*"]
    )


@pytest.mark.parametrize(
    "cell, message",
    [
        ("open('stray.txt', 'w').close()", "*page.md left files in its folder*chapters/stray.txt*"),
        # the kernel's own process group is killed with the kernel; a new session escapes that
        (
            "import subprocess; subprocess.Popen(['sleep', '120'], start_new_session=True)",
            "*page.md left processes running (now killed)*sleep 120*",
        ),
        ("%no_such_magic", "UsageError: Line magic function `%no_such_magic` not found."),
    ],
    ids=["stray-file", "leftover-process", "failed-magic"],
)
def test_page_hygiene_failures(pytester, book, cell, message):
    book.write_text(book.read_text() + f"\n```{{code-cell}} ipython3\n{cell}\n```\n")
    result = run(pytester, "--accelerators=none")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])


def test_skip_note_and_tag(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["requires-tpu"]})])
    tfbook.mark_skipped_cells(nb, {"gpu"}, "gpu")
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]
    assert "需要 TPU" in nb.cells[0].source and "skip-execution" in nb.cells[1].metadata.tags
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["requires-tpu"]})])
    tfbook.mark_skipped_cells(nb, {"tpu"}, "tpu")
    assert len(nb.cells) == 1 and nb.cells[0].metadata.tags == ["requires-tpu"]


def test_unknown_requires_tag_is_an_error():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", metadata={"tags": ["requires-gpus"]})])
    known = "requires-gpu, requires-tpu, requires-tfserving"
    with pytest.raises(ValueError, match=f"unknown tag requires-gpus; known: {known}"):
        tfbook.mark_skipped_cells(nb, set(), "none")


@pytest.mark.parametrize(
    "value, expected",
    [("none", set()), ("auto", "auto"), ("gpu", {"gpu"}), ("GPU, tpu", {"gpu", "tpu"})],
)
def test_parse(value, expected):
    assert tfbook.parse(value) == expected


@pytest.mark.parametrize("value", ["", "cuda", "gpu,", "auto,gpu", "gpu;tpu"])
def test_parse_rejects(value):
    with pytest.raises(ValueError, match="allowed: none, auto, gpu, tpu, tfserving or a comma list"):
        tfbook.parse(value)
