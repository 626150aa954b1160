"""The book as a whole: table of contents, page conventions, appendix, workflows, build."""

import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

from tfbook import exercises
from tfbook.pages import read_page

ROOT = Path(__file__).resolve().parents[1]

PAGES = sorted((ROOT / "chapters").rglob("*.md"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
CHANGE_NOTE = re.compile(r"^:{3,}\{admonition\} (TF 2\.21 变化|笔记勘误)[：:]", re.M)


NOTES_HEADINGS = {
    line.split(" ", 1)[0]: line
    for line in (ROOT / "tests" / "notes_headings.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
}


def squeeze(text: str) -> str:
    """Compare headings without case and spaces ("2.1 低阶 api 示例" == "2.1 低阶 API 示例")."""
    return re.sub(r"\s+", "", text).lower()


def toc_entries():
    """(part caption, file) for every page in _toc.yml, in order."""

    def walk(entries, caption):
        for entry in entries or []:
            yield caption, entry["file"]
            yield from walk(entry.get("sections"), caption)

    for part in TOC["parts"]:
        yield from walk(part["chapters"], part["caption"])


def front_matter(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"{page.name}: no front matter"
    return yaml.safe_load(text.split("---\n")[1])


def rel(page: Path) -> str:
    return page.relative_to(ROOT).with_suffix("").as_posix()


def test_toc_and_chapters_agree():
    listed = [file for _, file in toc_entries() if file.startswith("chapters/")]
    assert len(listed) == len(set(listed)), "a page is listed twice in _toc.yml"
    assert set(listed) == {rel(p) for p in PAGES}, "_toc.yml and the pages under chapters/ differ"
    for _, file in toc_entries():
        assert (ROOT / f"{file}.md").exists(), f"_toc.yml lists {file}, which does not exist"


def test_one_part_per_notes_chapter_in_order():
    captions = [part["caption"] for part in TOC["parts"]]
    numbered = [c for c in captions if c[0].isdigit()]
    assert [int(c.split()[0]) for c in numbered] == list(range(1, len(numbered) + 1)), captions
    assert captions[: len(numbered)] == numbered and captions[-1] == "附录", captions
    for caption, file in toc_entries():
        if file.startswith("chapters/"):  # chapters/ch<N>_*/<N>_<M>_*: in part N
            assert file.split("/")[1].startswith(f"ch{caption.split()[0]}_"), (caption, file)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_conventions(page):
    meta = front_matter(page)
    assert meta["jupytext"]["text_representation"]["format_name"] == "myst"
    assert meta["kernelspec"]["name"] == "python3" and meta["kernelspec"]["language"] == "python"
    text = page.read_text(encoding="utf-8")
    # title: the notes' heading of the section the file name gives (1_3_autodiff.md -> "# 1.3 自动微分机制 ...")
    chapter, section = page.name.split("_")[:2]
    title = re.search(r"^# (.+)$", text, re.M).group(1)
    heading = NOTES_HEADINGS.get(f"{chapter}.{section}")
    assert heading, f"{page.name}: the notes have no section {chapter}.{section}"
    assert squeeze(title.split(" (")[0]) == squeeze(heading), f"title {title!r} does not mirror the notes' {heading!r}"
    # the first code cell is the hidden quiet import of TensorFlow
    first = text.index("```{code-cell}")
    assert text[first:].startswith("```{code-cell} ipython3\n:tags: [remove-cell]\n"), "first cell: quiet import"
    assert "os.dup2(devnull, 2)" in text[first : text.index("```\n", first + 3)]
    # hidden checks assert what the page prints
    checks = re.findall(r"```\{code-cell\} ipython3\n:tags: \[remove-cell\]\n(.*?)```", text, re.S)[1:]
    assert any("assert" in check for check in checks), "no hidden cell asserts what the page prints"
    # every cell that fails on purpose is followed by a check that it still fails
    for match in re.finditer(r":tags: \[raises-exception\]\n", text):
        following = text[match.end() :].split("```{code-cell}", 2)[1]
        assert following.startswith(" ipython3\n:tags: [remove-cell]"), (
            f"no check after raises-exception at {match.start()}"
        )
    # admonitions use colon fences: a backtick fence whose title has `code` is not a fence at all
    assert not re.search(r"^```\{(admonition|note|warning|tip)\}", text, re.M), "use :::{admonition} fences"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_requires_tags_are_known(page):
    read_page(page, set())  # raises on a requires-<device> tag of an unknown device


def test_code_style():
    """ruff (ruff.toml) over the support code and over every page's code cells (via jupytext)."""
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    for page in PAGES:
        nb = exercises.add_helper(jupytext.read(page))  # as it runs: the exercises' checks defined
        nb.cells = [cell for cell in nb.cells if cell.cell_type == "code"]  # the code, not the prose
        script = jupytext.writes(nb, fmt="py:percent")  # magics become comments
        result = subprocess.run(
            # notebook idioms: a bare expression at the end of a cell displays it; zip() without strict=
            [ruff, "check", "--no-cache", "--extend-ignore", "B018,B905", "--stdin-filename", f"{page.stem}.py", "-"],
            cwd=ROOT,
            input=script,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{page.relative_to(ROOT)} (lines of its py:percent form):\n{result.stdout}"


def test_pre_commit_config_is_valid():
    pre_commit = Path(sys.executable).parent / "pre-commit"
    result = subprocess.run([pre_commit, "validate-config", ".pre-commit-config.yaml"], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_notebooks_or_outputs_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert not [f for f in tracked.splitlines() if f.endswith(".ipynb")], "pages are MyST .md; no .ipynb in git"


def test_appendix_lists_every_change_note():
    appendix = (ROOT / "appendix" / "api_changes.md").read_text(encoding="utf-8")
    rows = [line for line in appendix.splitlines() if line.startswith("| ") and "{doc}`" in line]
    for page in PAGES:
        notes = CHANGE_NOTE.findall(page.read_text(encoding="utf-8"))
        link = f"<../{rel(page)}>`"
        listed = [row for row in rows if link in row]
        # one row per old form: a note about two old forms has two rows, a row may name several pages
        assert len(listed) >= len(notes), f"{page.name}: {len(notes)} change notes, {len(listed)} appendix rows"
        assert not listed or notes, f"{page.name}: appendix rows but no change note on the page"
        for kind in notes:
            assert sum(f"| {kind} |" in row for row in listed) >= notes.count(kind), (page.name, kind)
    assert all(any(f"<../{rel(p)}>`" in row for p in PAGES) for row in rows), "an appendix row names no page"


def test_workflows_are_valid():
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"ci.yml", "book.yml", "gpu.yml"}
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", *workflows], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs = {
        w.name: [
            s.get("run", "") for job in yaml.safe_load(w.read_text())["jobs"].values() for s in job.get("steps", [])
        ]
        for w in workflows
    }
    # the README's command as it is: with PYTEST_ARGS, `make test` would leave out the built book
    assert "make test" in runs["ci.yml"] and "make test-colab" in runs["ci.yml"], runs["ci.yml"]
    assert "make book" in runs["book.yml"]
    book = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    assert "path: _build/.jupyter_cache" in book and "actions/deploy-pages" in book
    # the site carries the notebooks (make book), the PDF (make pdf), git dates and the last weekly run
    steps = "\n".join(runs["book.yml"])
    assert "make pdf" in steps and steps.index("make book") < steps.index("make pdf"), steps
    assert "fetch-depth: 0" in book and "weekly-run.json" in book
    # weekly link check: the built site's external links (tfbook.links), an issue when one is broken
    check = yaml.safe_load((ROOT / ".github" / "workflows" / "links.yml").read_text())
    assert check[True]["schedule"], "links.yml runs weekly"
    steps = " ".join(runs["links.yml"])
    assert "make book" in steps and "python -m tfbook.links _build/html" in steps and "gh issue create" in steps
    gpu = yaml.safe_load((ROOT / ".github" / "workflows" / "gpu.yml").read_text())
    job = next(iter(gpu["jobs"].values()))
    assert "self-hosted" in job["runs-on"] and job["env"]["TFBOOK_ACCELERATORS"] == "gpu"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make book   #" in readme and "make test   #" in readme
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert commands[-2:] == ["make test", "make test-colab"], "the README's test command, unchanged, then Colab's"
    assert "make test-colab" in readme
    assert "pytest" not in (ROOT / ".ci" / "run").read_text()


CODE_WIDTH = 79  # what the book's theme shows of a code line at 1280 px without scrolling sideways


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_visible_code_fits_the_code_block(page):
    wide = []
    for cell in jupytext.read(page).cells:
        if cell.cell_type == "code" and "remove-cell" not in cell.metadata.get("tags", []):
            wide += [line for line in cell.source.splitlines() if len(line) > CODE_WIDTH]
    assert not wide, f"{len(wide)} visible code lines wider than {CODE_WIDTH} columns, e.g. {wide[0]!r}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_plumbing_in_visible_cells(page):
    for cell in jupytext.read(page).cells:
        if cell.cell_type == "code" and "remove-cell" not in cell.metadata.get("tags", []):
            # log silencing, fd redirection, emptying output folders, private shutdowns: hidden cells only
            for plumbing in ('os.environ["TF_CPP_MIN_LOG_LEVEL"]', "os.dup2", "shutil.rmtree(", "._gateway"):
                assert plumbing not in cell.source, f"{page.name}: {plumbing} in a visible cell:\n{cell.source[:300]}"


def test_support_code_imports_in_one_direction():
    """tfbook's modules import only the modules listed above them in tfbook/__init__.py."""
    import ast

    order = [
        "devices",
        "exercises",
        "chinese",
        "pages",
        "colab",
        "downloads",
        "pdf",
        "links",
        "sphinx_ext",
        "pytest_plugin",
    ]
    for position, name in enumerate(order):
        tree = ast.parse((ROOT / "tfbook" / f"{name}.py").read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tfbook"):
                imported |= (
                    {node.module.removeprefix("tfbook.")} if node.module != "tfbook" else {a.name for a in node.names}
                )
            elif isinstance(node, ast.Import):
                imported |= {a.name.removeprefix("tfbook.") for a in node.names if a.name.startswith("tfbook.")}
        assert imported <= set(order[:position]), f"tfbook.{name} imports {sorted(imported - set(order[:position]))}"


def test_chinese_search_indexes_as_sphinx_does():
    """tfbook.sphinx_ext's SearchChinese (a set where Sphinx 7 keeps a list) gives the words Sphinx 7's
    own class gives, for text fed one piece after another as the build feeds it (two pages: Sphinx 7's
    own class takes minutes for the whole book)."""
    from sphinx.search import zh

    from tfbook.sphinx_ext import JIEBA_DICT, SearchChinese

    ours, sphinx = SearchChinese({"dict": str(JIEBA_DICT)}), zh.SearchChinese({"dict": str(JIEBA_DICT)})
    sphinx.latin_terms = []  # a class attribute in Sphinx 7: this instance's own
    short = sorted(PAGES, key=lambda page: page.stat().st_size)[:2]
    texts = [page.read_text(encoding="utf-8") for page in short] + ["API ops GPU tensors 自动微分 ops"]
    for text in texts:
        words, expected = ours.split(text), sphinx.split(text)
        assert words == expected
        assert [ours.stem(w) for w in words] == [sphinx.stem(w) for w in expected]
    assert ours.stem("ops") == "ops" and ours.stem("tensors") == "tensor"  # both ways through stem()


def test_wrapped_chinese_lines_are_joined_around_markup():
    """A line break between two Chinese characters is removed even where markup ends the line before:
    MyST leaves an empty text node after **strong**, between its text and the break (3.3 showed a space)."""
    from docutils import nodes

    from tfbook.sphinx_ext import join_chinese_lines

    paragraph = nodes.paragraph(
        "",
        "",
        nodes.Text("打印的是"),
        nodes.strong("", "符号张量"),
        nodes.Text(""),
        nodes.Text("\n"),
        nodes.Text("（只有形状）"),
        nodes.Text("\nand Latin"),
    )
    document = nodes.document(None, None)
    document += paragraph
    join_chinese_lines(None, document)
    assert paragraph.astext() == "打印的是符号张量（只有形状）\nand Latin"


def test_the_build_reads_no_environment():
    """The virtual environments the Makefile creates sit in the repository; Sphinx must not read the
    Markdown files of the packages in them (a build after `make test-colab` failed on pyparsing's)."""
    makefile = (ROOT / "Makefile").read_text()
    venvs = re.findall(r"^(?:VENV \?=|COLAB_ENV :=) (?:\$\(CURDIR\)/)?(\S+)$", makefile, re.M)
    assert sorted(venvs) == [".venv", ".venv-colab"], venvs
    excluded = yaml.safe_load((ROOT / "_config.yml").read_text())["exclude_patterns"]
    assert all(f"{venv}/*" in excluded for venv in venvs), excluded


def test_make_lets_python_write_bytecode(tmp_path):
    """The kernels import TensorFlow from .pyc files. Where PYTHONDONTWRITEBYTECODE is set, nothing
    writes them and every kernel compiles TensorFlow's Python again (import 12 s instead of 4 s on
    2 cores): the Makefile unexports it, for every command it runs."""
    probe = tmp_path / "probe.mk"
    probe.write_text('probe:\n\t@echo "[$$PYTHONDONTWRITEBYTECODE]"\n')
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = ["make", "-s", "-f", "Makefile", "-f", str(probe), "probe"]
    shown = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert shown.stdout.strip() == "[]", shown.stdout + shown.stderr


# The pages still without their 练习 section (issue 23): none now; a new page leaves this list with its exercises.
NO_EXERCISES_YET: set[str] = set()


def test_the_list_of_pages_without_exercises_is_current():
    for stem in NO_EXERCISES_YET:
        page = next(p for p in PAGES if p.stem == stem)
        assert "\n## 练习" not in page.read_text(encoding="utf-8"), f"{stem} has exercises: take it off the list"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_ends_with_exercises(page):
    """Every page ends with a 练习 section of 2-4 exercises, each with its check, a hint, a folded
    solution, and the three proofs (tfbook/exercises.py says how a page writes one)."""
    text = page.read_text(encoding="utf-8")
    if page.stem in NO_EXERCISES_YET and "\n## 练习" not in text:
        pytest.skip("issue 23: this page's exercises are not written yet")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings and headings[-1].strip() == "练习", f"{page.name}: the last section is not 练习"
    section = text[text.index("\n## 练习") :]
    labels = re.findall(r"^:::\{exercise\}\n:label: (ex-[\w-]+)$", section, re.M)
    assert 2 <= len(labels) <= 4, f"{page.name}: {len(labels)} exercises"
    assert len(set(labels)) == len(labels)
    parts = re.split(r"^:::\{exercise\}\n", section, flags=re.M)[1:]
    for label, part in zip(labels, parts, strict=True):
        checks = re.findall(r"^@exercise\ndef (check_\w+)\(", part, re.M)
        assert len(checks) == 1, f"{label}: {len(checks)} checks"
        check = checks[0]
        starter = re.search(r"```\{code-cell\} ipython3\n((?:(?!```).)*\.\.\.(?:(?!```).)*)```", part, re.S)
        assert starter and f"{check}(" in starter.group(1), f"{label}: no starter with ... that calls {check}"
        assert re.search(r"^:::\{hint\}\n:class: dropdown$", part, re.M), f"{label}: no dropdown hint"
        assert f"```{{solution-start}} {label}\n:class: dropdown\n```" in part, f"{label}: no folded solution"
        solution = part[part.index("{solution-start}") : part.index("{solution-end}")]
        assert f"{check}(" in solution, f"{label}: the solution does not call {check}"
        for kind in ("starter", "solution", "wrong"):
            assert f'expect({check}, "{kind}"' in part, f"{label}: no proof of {kind}"
        wrong = re.findall(rf'expect\({check}, "wrong", says="([^"]+)"\)', part)
        assert wrong, f"{label}: a wrong answer's proof must say what its message names (says=...)"
