"""The page runner (tfbook/pytest_plugin.py) and the accelerator flag, on a small fixture page.

Each test lays out a tiny book (conftest.py, tfbook/, _config.yml, chapters/page.md) in a
temporary folder and runs pytest on it in a subprocess, as a maintainer would.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from tfbook import devices
from tfbook.pages import prepare, read_page

ROOT = Path(__file__).resolve().parents[1]

FIXTURE = Path(__file__).parent / "fixtures" / "page.md"
HAS_GPU = "gpu" in devices.detect()


@pytest.fixture
def book(pytester):
    for name in ("conftest.py", "_config.yml"):
        shutil.copy(ROOT / name, pytester.path / name)
    shutil.copytree(ROOT / "tfbook", pytester.path / "tfbook", ignore=shutil.ignore_patterns("__pycache__"))
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
    cells = read_page(book, set()).cells
    note = next(i for i, c in enumerate(cells) if "requires-gpu" in c.metadata.get("tags", [])) - 1
    assert cells[note].cell_type == "markdown" and "需要 GPU" in cells[note].source
    assert "Colab" in cells[note].source and "TFBOOK" not in cells[note].source  # for readers, not maintainers


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
        ("open('stray.txt', 'w').close()", "*page.md wrote outside ./data*stray.txt*"),
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


EXERCISE = """
## 练习

:::{exercise}
:label: ex-double
`answer` 应为 `2 * 21`。
:::

```{code-cell} ipython3
:tags: [remove-cell]

@exercise
def check_double(answer):
    if JUDGE:
        raise Wrong(f"应为 42，你的是 {answer}。")
    return "对：2 * 21 = 42。"
```

```{code-cell} ipython3
answer = ...
check_double(answer)
```

```{code-cell} ipython3
:tags: [remove-cell]

expect(check_double, "starter")
check_double(41, quiet=True)
expect(check_double, "wrong", says="应为 42")
```

```{code-cell} ipython3
check_double(2 * 21)
```

```{code-cell} ipython3
:tags: [remove-cell]

expect(check_double, "solution")
```
"""


@pytest.mark.parametrize(
    "judge, message",
    [
        ("answer != 42", None),
        ("False", "*check_double (wrong): 对：2 * 21 = 42。*"),  # a check no wrong answer fails
        ("answer == answer", "*check_double (solution): 应为 42*"),  # one no answer passes
    ],
    ids=["proved", "accepts-a-wrong-answer", "rejects-the-solution"],
)
def test_exercise_checks_are_proved_by_the_page_run(pytester, book, judge, message):
    """The page runner proves each exercise's check (tfbook/exercises.py): a check that a wrong answer
    passes, or that rejects the reference solution, fails the page."""
    text = EXERCISE.replace("if JUDGE:", f"if {judge}:")
    book.write_text(book.read_text().replace("Ellipsis", "") + text)
    result = run(pytester, "--accelerators=none")
    if message is None:
        result.assert_outcomes(passed=1)
        executed = cached_notebook(pytester.path).cells
        shown = [o.get("text", "") for c in executed if c.cell_type == "code" for o in c.outputs]
        assert any("✘ 还没有作答" in text for text in shown) and any("✔ 对：2 * 21 = 42。" in t for t in shown)
        # the run reports the exercises' share of the page's time (make test's budget for them)
        result.stdout.re_match_lines([r"exercises: \d+\.\d s of the \d+\.\d s the 1 pages ran \(\d+\.\d %\)"])
    else:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines([message])


def code(source, *tags):
    return nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)})


def test_skip_note_and_tag():
    nb = prepare(nbformat.v4.new_notebook(cells=[code("x = 1", "requires-tpu")]), {"gpu"})
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]
    assert "需要 TPU" in nb.cells[0].source and "skip-execution" in nb.cells[1].metadata.tags
    nb = prepare(nbformat.v4.new_notebook(cells=[code("x = 1", "requires-tpu")]), {"tpu"})
    assert len(nb.cells) == 1 and nb.cells[0].metadata.tags == ["requires-tpu"]


def test_one_note_per_run_of_adjacent_skipped_cells():
    cells = [code("a", "requires-gpu"), code("b", "requires-gpu"), code("c"), code("d", "requires-gpu")]
    nb = prepare(nbformat.v4.new_notebook(cells=cells), set())
    notes = [c.source for c in nb.cells if c.metadata.get("tfbook") == "skip-note"]
    assert len(notes) == 2 and "下面 2 个单元" in notes[0] and "下面这个单元" in notes[1]


def test_cells_that_fail_on_purpose_show_the_minimal_error():
    nb = prepare(nbformat.v4.new_notebook(cells=[code("1 / 0", "raises-exception")]), set())
    assert [c.source for c in nb.cells] == ["%xmode Minimal", "1 / 0", "%xmode Context"]
    assert nb.cells[0].metadata.tags == nb.cells[2].metadata.tags == ["remove-cell"]


def test_unknown_requires_tag_is_an_error():
    nb = nbformat.v4.new_notebook(cells=[code("", "requires-gpus")])
    known = "requires-gpu, requires-tpu, requires-tfserving"
    with pytest.raises(ValueError, match=f"unknown tag requires-gpus; known: {known}"):
        prepare(nb, set())


@pytest.mark.parametrize(
    "value, expected",
    [("none", set()), ("auto", "auto"), ("gpu", {"gpu"}), ("GPU, tpu", {"gpu", "tpu"})],
)
def test_parse(value, expected):
    assert devices.parse(value) == expected


@pytest.mark.parametrize("value", ["", "cuda", "gpu,", "auto,gpu", "gpu;tpu"])
def test_parse_rejects(value):
    with pytest.raises(ValueError, match="allowed: none, auto, gpu, tpu, tfserving, tf-tpu, colab or a comma list"):
        devices.parse(value)


@pytest.mark.parametrize(
    "files, env, expected",
    [
        ([], {}, False),
        (["dev/accel0"], {}, True),  # TPU v2-v4 VMs
        (["dev/vfio/0"], {}, True),  # TPU v5e and later
        (["dev/vfio/vfio"], {}, False),  # the VFIO control device alone is no TPU
        ([], {"TPU_ACCELERATOR_TYPE": "v5litepod-8"}, True),
        ([], {"COLAB_TPU_ADDR": "10.0.0.2:8470"}, True),
    ],
)
def test_tpu_detection(monkeypatch, tmp_path, files, env, expected):
    for name in ("TPU_ACCELERATOR_TYPE", "COLAB_TPU_ADDR", "TPU_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for file in files:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).touch()
    real_glob = devices.glob.glob
    monkeypatch.setattr(devices.glob, "glob", lambda pattern: real_glob(str(tmp_path) + pattern))
    assert devices.present("tpu") is expected
    # TensorFlow reaches a TPU only as tensorflow-tpu (Cloud TPU VMs); Colab's TPU runtime has none
    assert devices.present("tf-tpu") is False


def test_colab_detection(monkeypatch):
    """`requires-colab` cells (5.6 installs TensorFlow Serving with apt) run only in a Colab runtime,
    which has the google-colab distribution."""
    assert devices.present("colab") is False

    class Colab:
        metadata = {"Name": "google-colab"}

    real = devices.importlib.metadata.distributions
    monkeypatch.setattr(devices.importlib.metadata, "distributions", lambda: [*real(), Colab()])
    assert devices.present("colab") is True


def test_bad_value_for_the_book_build_is_one_clear_line():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "tfbook.devices", "cuda"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "unknown value 'cuda'; allowed: none, auto, gpu, tpu, tfserving" in result.stderr


def test_auto_runs_one_worker_more_than_cpus(pytester, book):
    """-n auto (pytest.ini) starts one worker more than the CPUs: the pages wait for part of their run."""
    (pytester.path / "test_one.py").write_text("def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "auto", "test_one.py", timeout=300)
    result.assert_outcomes(passed=1)
    workers = os.process_cpu_count() + 1
    result.stdout.fnmatch_lines([f"*created: {workers}/{workers} workers*"])


def test_a_kernel_that_does_not_start_is_started_once_more(pytester, book, tmp_path, monkeypatch):
    """A kernel that dies before it answers (as when its TCP port was taken meanwhile) gets one more try;
    the page then passes, with a warning that says so. A second failure fails the page."""
    marker = tmp_path / "failed-once"
    launcher = tmp_path / "launcher.py"
    launcher.write_text(
        "import os, pathlib, sys\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists() or os.environ.get('ALWAYS_FAIL'):\n"
        "    marker.touch()\n"
        "    sys.exit(1)\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', *sys.argv[1:]])\n"
    )
    spec = {"argv": [sys.executable, str(launcher), "-f", "{connection_file}"], "language": "python"}
    (tmp_path / "kernels" / "flaky").mkdir(parents=True)
    (tmp_path / "kernels" / "flaky" / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))

    result = run(pytester, "--accelerators=none", "--nbmake-kernel=flaky")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*page.md: the kernel did not start (Kernel died before replying*); starting a new one"]
    )

    monkeypatch.setenv("ALWAYS_FAIL", "1")
    run(pytester, "--accelerators=none", "--nbmake-kernel=flaky").assert_outcomes(failed=1)


def test_an_answer_left_blank_is_not_judged():
    """A `...` left in the answer, also inside a list or dict of predictions, gets "还没有作答" and the
    judge never runs (it would print the true values in its feedback)."""
    from tfbook.exercises import HELPER

    scope = {}
    exec(HELPER, scope)
    judged = []
    check = scope["exercise"](lambda answer: judged.append(answer) or "ok")
    for blank in (..., [1, ...], {"growth": ..., "split": "RuntimeError"}):
        check(blank, quiet=True)
        assert check.last[0] is False and check.last[1].startswith("还没有作答"), check.last
    assert judged == []
    check({"growth": "ValueError"}, quiet=True)
    assert check.last == (True, "ok") and judged == [{"growth": "ValueError"}]
