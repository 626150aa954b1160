"""The Colab notebooks (tfbook/colab.py) as generated: what the reader sees in Colab, the setup cell's
decisions, the links and what the book workflow publishes. Running them in Colab's environment is
tests/test_colab_runtime.py (make test-colab)."""

import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

from tfbook import chinese, colab
from tfbook.pages import config, pages

ROOT = Path(__file__).resolve().parents[1]
PAGES = pages()
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).name)
def test_notebook_reads_well_in_colab(page):
    nb = colab.make_notebook(page)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata["tags"] == ["colab-setup"] and code[0].metadata["cellView"] == "form"
    assert not any("raises-exception" in c.metadata.get("tags", []) for c in code), "Run all would stop there"
    for cell in code:
        tags = cell.metadata.get("tags", [])
        if any(tag.startswith("requires-") for tag in tags):  # runs only where the GPU/TPU/server is
            assert cell.source.startswith("%%requires "), cell.source[:80]
        if "remove-cell" in tags and not cell.source.startswith("%%"):  # the book's hidden cells: collapsed
            assert cell.source.startswith("#@title ") and cell.metadata["cellView"] == "form"
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # MyST that Colab would show as raw text
            assert ":::" not in cell.source and "{doc}`" not in cell.source, cell.source[:200]


def test_admonitions_and_references_become_markdown():
    text = ":::{admonition} TF 2.21 变化：`x`\n:class: note\n第一行\n\n第二行\n:::\n见 {doc}`5.1 <5_1_build_models>`。"
    converted = colab.markdown_for_colab(text, "chapters/ch5_high_level_api/5_2_train_models.md")
    base = config()["html"]["baseurl"]
    assert converted == (
        "> **TF 2.21 变化：`x`**\n>\n> 第一行\n>\n> 第二行\n"
        f"见 [5.1]({base}chapters/ch5_high_level_api/5_1_build_models.html)。"
    )
    nested = "::::{note}\n外\n:::{admonition} 内\n里\n:::\n::::"
    assert colab.markdown_for_colab(nested, "chapters/a/b.md") == "> **注意**\n>\n> 外\n> > **内**\n> >\n> > 里"


def test_pages_get_what_colab_lacks():
    needs = {page: colab.missing_in_colab(colab.make_notebook(page)) for page in PAGES}
    assert {page: extra for page, extra in needs.items() if extra} == {
        "chapters/ch5_high_level_api/5_6_tf_serving.md": {"ai-edge-litert": colab.requirement_pins()["ai-edge-litert"]}
    }
    nb = colab.make_notebook("chapters/ch5_high_level_api/5_6_tf_serving.md")
    extras = next(c for c in nb.cells if c.metadata.get("tags") == ["colab-extras"])
    assert "%pip install -q ai-edge-litert==" in extras.source


def run_setup_cell(tmp_path, monkeypatch, gpu=False, tpu=False, installed=None):
    """Execute the setup cell's code as IPython would in Colab, recording %pip instead of installing."""
    source = colab.make_notebook(PAGES[0]).cells[1].source
    python = TransformerManager().transform_cell(source)  # %pip -> get_ipython().run_line_magic(...)
    calls = []

    def run_line_magic(magic, line):  # IPython expands {name} from the caller's variables
        frame = sys._getframe(1)
        calls.append(f"%{magic} " + line.format(**{**frame.f_globals, **frame.f_locals}))

    shell = types.SimpleNamespace(run_line_magic=run_line_magic)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if gpu:
        (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho 'GPU 0: NVIDIA T4'\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    for name in ("TPU_ACCELERATOR_TYPE", "COLAB_TPU_ADDR", "TPU_NAME"):
        monkeypatch.delenv(name, raising=False)
    if tpu:
        monkeypatch.setenv("TPU_ACCELERATOR_TYPE", "v5e-1")
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, signal: killed.append(signal))
    versions = installed or {"tensorflow": "2.20.0", "keras": "3.13.2", "tensorboard": "2.20.0"}
    import importlib.metadata

    def version(name):
        if versions.get(name) is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(importlib.metadata, "version", version)
    printed = []
    exec(python, {"get_ipython": lambda: shell, "print": lambda *a: printed.append(" ".join(map(str, a)))})
    return calls, killed, " ".join(printed)


def test_setup_cell_on_a_cpu_runtime(tmp_path, monkeypatch):
    calls, killed, _ = run_setup_cell(tmp_path, monkeypatch)
    pins = colab.pins()
    assert calls[0] == "%pip install -q " + " ".join(f"{n}=={v}" for n, v in pins.items())
    # TF 2.20's own `tensorboard` command is removed with it: TensorBoard is reinstalled to restore it
    assert calls[1] == f"%pip install -q --no-deps --force-reinstall tensorboard=={pins['tensorboard']}"
    assert killed == [9]  # Colab restarts the runtime


def test_setup_cell_installs_the_gpu_build_on_a_gpu_runtime(tmp_path, monkeypatch):
    calls, killed, _ = run_setup_cell(tmp_path, monkeypatch, gpu=True)
    assert calls[0].startswith(f"%pip install -q tensorflow[and-cuda]=={colab.pins()['tensorflow']} ")
    assert killed == [9]


def test_setup_cell_on_a_tpu_runtime_says_what_runs(tmp_path, monkeypatch):
    calls, _, printed = run_setup_cell(tmp_path, monkeypatch, tpu=True, installed={"keras": "3.13.2"})
    assert "TPU 运行时没有 TensorFlow" in printed and "CPU" in printed and "5.5" in printed
    assert calls[0].startswith(f"%pip install -q tensorflow=={colab.pins()['tensorflow']} ")


def test_setup_cell_does_nothing_when_the_versions_are_there(tmp_path, monkeypatch):
    calls, killed, printed = run_setup_cell(tmp_path, monkeypatch, installed=colab.pins())
    assert calls == [] and killed == [] and printed == ""


def test_setup_cell_pins_what_requirements_pin():
    requirements = (ROOT / "requirements.txt").read_text()
    for name, version in colab.pins().items():
        assert f"\n{name}=={version}\n" in requirements


def test_urls_name_the_generated_notebooks():
    conf = config()
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
    command = next(line for line in generate["run"].splitlines() if "tfbook.colab" in line)
    args = shlex.split(command)
    outdir = args[-1]
    assert publish["with"]["publish_dir"] == outdir
    assert publish["with"]["publish_branch"] == "${{ steps.generate.outputs.branch }}"
    # run the workflow's own command (into a temporary folder) and compare with the URLs of the pages
    subprocess.run([sys.executable, *args[1:-1], str(tmp_path / "out")], cwd=ROOT, check=True, capture_output=True)
    published = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.ipynb"))
    linked = sorted(colab.colab_url(page).split("/blob/")[1].split("/", 1)[1] for page in PAGES)
    assert published == linked
    branch_line = next(line for line in generate["run"].splitlines() if "branch=" in line)
    command = ["bash", "-c", branch_line.replace('>> "$GITHUB_OUTPUT"', "")]
    shown = subprocess.run(command, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert shown == "branch=" + config()["sphinx"]["config"]["tfbook_colab_branch"]


def test_front_page_names_colabs_tensorflow():
    index = (ROOT / "index.md").read_text(encoding="utf-8")
    colab_tf = ".".join(colab.colab_packages()["tensorflow"].split(".")[:2])
    assert f"Colab 自带的 TensorFlow（目前是 {colab_tf}）" in index, "the front page names another Colab TensorFlow"
    assert "可以跳过设置单元" in index


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).name)
def test_exercises_read_as_tasks_with_folded_solutions(page):
    """In Colab an exercise is a numbered task; the starter is an ordinary editable cell, the hint opens
    on a click, the solution is a folded form cell; the checks come with the notebook."""
    nb = colab.make_notebook(page)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = [c for c in nb.cells if c.cell_type == "code"]
    count = len(re.findall(r"^:::\{exercise\}", (ROOT / page).read_text(encoding="utf-8"), re.M))
    if not count:  # only the pages of tests/test_book.py's NO_EXERCISES_YET may have none
        pytest.skip("issue 23: this page's exercises are not written yet")
    assert [int(n) for n in re.findall(r"^> \*\*练习 (\d+)\*\*", markdown, re.M)] == list(range(1, count + 1))
    assert markdown.count("<details><summary><b>提示</b>") >= count
    assert not re.search(r"\{(exercise|solution-start|solution-end|hint)\}|:label:|:class: dropdown", markdown)
    solutions = [c for c in code if c.source.startswith(colab.SOLUTION_TITLE)]
    assert len(solutions) == count and all(c.metadata.get("cellView") == "form" for c in solutions)
    starters = [c for c in code if "..." in c.source and "cellView" not in c.metadata and "check_" in c.source]
    assert len(starters) >= count, "each exercise's starter is a plain cell with the blank"
    assert sum(c.metadata.get("tfbook") == "exercise-helper" for c in code) == 1


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).name)
def test_colab_markdown_has_chinese_quotes_and_no_wrapped_lines(page):
    """Colab's Markdown draws a newline between two Chinese characters as a space; the notebook's prose
    has none outside code, and Chinese quotation marks."""
    for cell in colab.make_notebook(page).cells:
        if cell.cell_type != "markdown":
            continue
        prose = re.sub(r"```.*?```", "", cell.source, flags=re.S)
        assert not re.search(rf"[{chinese.CJK}]\n(?:> ?)*[{chinese.CJK}]", prose), prose[:300]
        assert not chinese.ascii_quotes(prose), chinese.ascii_quotes(prose)


def test_chinese_line_joins():
    join = chinese.join_markdown
    assert join("甲乙\n丙丁\nabc\n中文") == "甲乙丙丁\nabc\n中文"  # a newline beside a Latin letter is a space
    assert join("# 标题\n正文") == "# 标题\n正文" and join("| 甲 |\n| 乙 |") == "| 甲 |\n| 乙 |"
    assert join("> 第一\n> 第二\n见") == "> 第一第二\n见"
    assert join("```\n代码\n代码\n```") == "```\n代码\n代码\n```"
    assert chinese.ascii_quotes('用"TF 2.21 变化"提示') and not chinese.ascii_quotes('用“变化”提示，`"x"` 中')


def test_skipped_requires_cells_are_found():
    """colab.skipped: what the weekly Colab-image job holds to TFBOOK_COLAB_MUST_RUN (5.6's TF Serving)."""

    def stream(text):
        return nbformat.v4.new_output("stream", name="stdout", text=text)

    ran = nbformat.v4.new_code_cell("%%requires colab\nx = 1", outputs=[])
    skipped = nbformat.v4.new_code_cell("%%requires tfserving,gpu\ny = 2")
    skipped.outputs = [stream(f"{colab.SKIPPED} TensorFlow Serving\n")]
    printed = nbformat.v4.new_code_cell("%%requires tpu\nprint(3)", outputs=[stream("3\n")])
    nb = nbformat.v4.new_notebook(cells=[ran, skipped, printed, nbformat.v4.new_code_cell("print(4)")])
    assert colab.skipped(nb) == {"tfserving", "gpu"}
    assert colab.skipped(nbformat.v4.new_notebook(cells=[ran, printed])) == set()
    weekly = yaml.safe_load((ROOT / ".github" / "workflows" / "tf-latest.yml").read_text())
    step = next(s for s in weekly["jobs"]["colab-runtime"]["steps"] if s.get("id") == "colab")
    assert "tfserving" in step["env"]["TFBOOK_COLAB_MUST_RUN"].split(",")
