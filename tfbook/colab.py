"""The Colab notebook of every page, generated from its MyST source.

    python -m tfbook.colab OUTDIR     # writes OUTDIR/chapters/<chapter>/<page>.ipynb for every page

The book workflow publishes OUTDIR to the branch `tfbook_colab_branch` (_config.yml), and every page of
the rendered book links its notebook there (`colab_url`). A notebook differs from its page so that it
reads well and runs top to bottom ("Run all") in Colab:
- a setup cell installs the TensorFlow, Keras and TensorBoard versions the book is tested with (the GPU
  build on a GPU runtime) when Colab's differ, then restarts the runtime once; it does nothing outside
  Colab. Readers may skip it: the pages also run on Colab's own TensorFlow (the tests run both ways);
- a page that imports a package Colab lacks gets a cell that installs it (no restart needed);
- admonitions become Markdown quotes with a bold title, {doc} references links to the rendered book;
- hidden cells of the book (checks and plumbing) become collapsed form cells: they still run;
- a cell that fails on purpose prints its error instead of stopping "Run all";
- a cell tagged `requires-<thing>` starts with `%%requires <thing>`: it runs where the thing is present;
- exercises read as tasks ("练习 N"), hints open on a click (<details>), reference solutions are folded
  form cells, and the exercises' checks come with the notebook (tfbook.exercises);
- a prose line wrapped between two Chinese characters is joined (tfbook.chinese).
Outputs are not included: readers run the notebooks; the executed pages are the book itself.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import posixpath
import re
import sys
import textwrap
from pathlib import Path

import jupytext
import nbformat

from tfbook import chinese, devices, exercises
from tfbook.pages import ROOT, config, pages

COLAB = "https://colab.research.google.com/github"
UPGRADED_IN_COLAB = ("tensorflow", "keras", "tensorboard")  # Colab has them, in other versions
COLAB_PACKAGES = ROOT / "colab" / "pip-freeze.txt"  # Colab's CPU runtime (colab/README.md)


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def requirement_pins(root: Path = ROOT) -> dict[str, str]:
    text = (root / "requirements.txt").read_text(encoding="utf-8")
    return {_name(name): pin for name, pin in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.M)}


def pins(root: Path = ROOT) -> dict[str, str]:
    """What the setup cell installs: the book's TensorFlow, Keras and TensorBoard."""
    found = requirement_pins(root)
    return {name: found[name] for name in UPGRADED_IN_COLAB}


@functools.cache
def colab_packages(path: Path = COLAB_PACKAGES) -> dict[str, str]:
    """Colab's packages and versions, from the list Google publishes."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)\s*(?:==|@)\s*(\S+)", line):
            found[_name(match.group(1))] = match.group(2)
    return found


def book_url(root: Path = ROOT) -> str:
    return config(root)["html"]["baseurl"].rstrip("/") + "/"


def notebook_path(page: str) -> str:
    """chapters/ch1_x/1_1_y.md -> chapters/ch1_x/1_1_y.ipynb (its path on the Colab branch)."""
    return str(Path(page).with_suffix(".ipynb"))


def colab_url(page: str, root: Path = ROOT) -> str:
    """The page's 'Open in Colab' URL, from the repository and branch named in _config.yml."""
    conf = config(root)
    repo = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)/?", conf["repository"]["url"]).group(1)
    branch = conf["sphinx"]["config"]["tfbook_colab_branch"]
    return f"{COLAB}/{repo}/blob/{branch}/{notebook_path(page)}"


# ---------------------------------------------------------------------------------------------- imports
def _imports(code: str) -> set[str]:
    """Top-level modules a cell imports, except those imported under `try: ... except ImportError`."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython syntax (magics): read line by line
        lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            return set()
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            optional.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def missing_in_colab(nb, root: Path = ROOT) -> dict[str, str]:
    """Packages the page imports that Colab's runtime lacks -> the book's pin."""
    modules = set().union(*(_imports(c.source) for c in nb.cells if c.cell_type == "code"))
    modules -= set(sys.stdlib_module_names)
    provided = _packages_distributions()
    colab, book = colab_packages(), requirement_pins(root)
    missing = {}
    for module in sorted(modules):
        for distribution in provided.get(module, []):
            name = _name(distribution)
            if name not in colab and name in book:
                missing[name] = book[name]
    return missing


# ------------------------------------------------------------------------------------------------ cells
SETUP = """\
#@title 设置：安装本书测试过的版本（只在 Colab 中起作用）
# Installs {PINS_TEXT} when Colab's differ (the GPU build
# on a GPU runtime), then restarts the runtime once: run all cells again afterwards.
# You may skip this cell: the page also runs on Colab's own TensorFlow.
import sys

if "google.colab" in sys.modules:
    import glob
    import os
    import shutil
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    def installed(package):
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    PINS = {PINS}
    gpu = {GPU}
    tpu = {TPU}
    if tpu and installed("tensorflow") is None:
        print(
            "TPU 运行时没有 TensorFlow（Colab 的 TPU 运行时只有 JAX）。"
            "本单元安装 CPU 版 TensorFlow：本页在 CPU 上运行，TPU 闲置；"
            "TPU 的用法见 5.5 节（Keras 3 经 JAX 使用 TPU）。"
        )
    wanted = [
        f"{'tensorflow[and-cuda]' if gpu and name == 'tensorflow' else name}"
        f"=={pin}"
        for name, pin in PINS.items()
        if installed(name) != pin
    ]
    if wanted:
        packages = " ".join(wanted)
        %pip install -q {packages}
        # Colab's TensorFlow declares a `tensorboard` command too; removing it
        # removed TensorBoard's: reinstall it so that %tensorboard works
        tensorboard = f"tensorboard=={PINS['tensorboard']}"
        %pip install -q --no-deps --force-reinstall {tensorboard}
        print("已安装", packages, "：运行时将重启一次，之后请重新运行全部单元。")
        os.kill(os.getpid(), 9)  # Colab restarts a runtime whose process ends
"""

EXTRAS = """\
#@title 安装本页用到、Colab 没有的软件包（只在 Colab 中起作用）
import sys

if "google.colab" in sys.modules:
    %pip install -q {PACKAGES}
"""

REQUIRES = """\
#@title 只在有 GPU / TPU / TF Serving（或在 Colab 里）时运行带 %%requires 的单元
import glob
import importlib.metadata
import os
import shutil
import subprocess

from IPython.core.magic import register_cell_magic

PRESENT = {
{PRESENT}
}
NEEDS = {NEEDS}


@register_cell_magic
def requires(line, cell):
    things = [thing.strip() for thing in line.split(",")]
    missing = [thing for thing in things if not PRESENT[thing]()]
    if missing:
        print("{SKIPPED}", "和".join(NEEDS[thing] for thing in missing))
    else:
        get_ipython().run_cell(cell)
"""

SKIPPED = "跳过：这个单元需要"  # what a %%requires cell prints where its thing is missing


def skipped(executed) -> set[str]:
    """The things whose %%requires cells an executed notebook skipped (each printed SKIPPED)."""
    things = set()
    for cell in executed.cells:
        if cell.cell_type == "code" and cell.source.startswith("%%requires "):
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            if printed.startswith(SKIPPED):
                things |= set(cell.source.split("\n", 1)[0].removeprefix("%%requires ").split(","))
    return things


FAILS_ON_PURPOSE = """\
try:
{code}
except Exception as error:  # fails on purpose (see the text): show the error, go on
    print(f"{{type(error).__name__}}: {{error}}")
"""

HIDDEN_TITLE = "#@title 本书的隐藏单元（检查或准备工作），可以展开查看"
FOLDED_TITLE = "#@title 点击展开代码"
SOLUTION_TITLE = "#@title 参考答案：先自己做，再点击展开"


def _setup_cell(root: Path):
    pinned = pins(root)
    source = (
        SETUP.replace("{PINS_TEXT}", ", ".join(f"{n} {v}" for n, v in pinned.items()))
        .replace("{PINS}", repr(pinned))
        .replace("{GPU}", devices.PRESENT["gpu"])
        .replace("{TPU}", devices.PRESENT["tpu"])
    )
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["colab-setup"], "cellView": "form"})


def _extras_cell(missing: dict[str, str]):
    packages = " ".join(f"{name}=={pin}" for name, pin in missing.items())
    return nbformat.v4.new_code_cell(
        EXTRAS.replace("{PACKAGES}", packages), metadata={"tags": ["colab-extras"], "cellView": "form"}
    )


def _requires_cell():
    present = "\n".join(f'    "{thing}": lambda: {expression},' for thing, expression in devices.PRESENT.items())
    source = (
        REQUIRES.replace("{PRESENT}", present).replace("{NEEDS}", repr(devices.DEVICES)).replace("{SKIPPED}", SKIPPED)
    )
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["colab-requires"], "cellView": "form"})


def _print_error_instead(cell) -> None:
    wrapped = FAILS_ON_PURPOSE.format(code=textwrap.indent(cell.source, "    "))
    try:
        ast.parse(wrapped)
    except SyntaxError as err:
        raise ValueError(f"cannot wrap this raises-exception cell for Colab:\n{cell.source}") from err
    cell.source = wrapped
    cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "raises-exception"]


def _fold(cell, title: str) -> None:
    if not cell.source.startswith("%%"):  # a cell magic must stay on the first line
        cell.source = f"{title}\n{cell.source}"
        cell.metadata["cellView"] = "form"


# ----------------------------------------------------------------------------------------------- markdown
# a colon fence whose body holds no other fence (nested ones are converted first, innermost out)
ADMONITION = re.compile(
    r"^(?P<fence>:{3,})\{(?P<kind>[a-z]+)\}[ \t]*(?P<title>[^\n]*)\n(?P<options>(?::\w+:[^\n]*\n)*)"
    r"(?P<body>(?:(?!^:{3,}\{).)*?)^(?P=fence)[ \t]*$",
    re.M | re.S,
)
KIND_TITLES = {"note": "注意", "warning": "警告", "tip": "提示", "important": "重要", "hint": "提示"}
# sphinx-exercise's gated solution: its fences around the solution's code cell
SOLUTION_START = re.compile(r"^```\{solution-start\}[ \t]*(?P<label>\S*)[^\n]*\n(?::\w+:[^\n]*\n)*```[ \t]*$", re.M)
SOLUTION_END = re.compile(r"^```\{solution-end\}[^\n]*\n```[ \t]*$", re.M)
DOC_ROLE = re.compile(r"\{doc\}`(?:(?P<text>[^<`]*?)\s*<(?P<target>[^>`]+)>|(?P<bare>[^`]+))`")


def _quote(match, numbers: dict[str, int]) -> str:
    title = match["title"].strip() or KIND_TITLES.get(match["kind"], match["kind"])
    body = match["body"].rstrip("\n")
    if match["kind"] == "exercise":
        label = re.search(r"^:label:\s*(\S+)", match["options"], re.M)
        numbers[label.group(1) if label else f"#{len(numbers)}"] = number = len(numbers) + 1
        title = f"练习 {number}" + (f"：{title}" if match["title"].strip() else "")
    if re.search(r"^:class:.*\bdropdown\b", match["options"], re.M):  # opens on a click, as on the site
        return f"<details><summary><b>{title}</b>（点击展开）</summary>\n\n{body}\n\n</details>"
    lines = [f"**{title}**", "", *body.splitlines()]
    return "\n".join(f"> {line}".rstrip() for line in lines)


def markdown_for_colab(text: str, page: str, root: Path = ROOT, numbers: dict | None = None) -> str:
    """MyST that Colab would show as raw text -> Markdown it renders. `numbers` (label -> number) numbers
    the exercises across the cells of one page."""
    numbers = {} if numbers is None else numbers
    while True:
        text, count = ADMONITION.subn(lambda match: _quote(match, numbers), text)
        if not count:
            break
    text = SOLUTION_START.sub(
        lambda m: f"**练习 {numbers.get(m['label'], '')} 的参考答案**：在下面折叠的单元里，先自己做再展开。", text
    )
    text = chinese.join_markdown(SOLUTION_END.sub("", text)).strip("\n")

    def link(match):
        target = match["target"] or match["bare"]
        label = match["text"] or target
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(posixpath.dirname(page), target)
        return f"[{label}]({book_url(root)}{posixpath.normpath(resolved)}.html)"

    return DOC_ROLE.sub(link, text)


# ---------------------------------------------------------------------------------------------- notebook
def make_notebook(page: str, root: Path = ROOT):
    """The Colab notebook of one page (path relative to the root)."""
    nb = exercises.add_helper(jupytext.read(root / page))
    tagged, numbers, solution = False, {}, False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            solution = bool(SOLUTION_START.search(cell.source))
            cell.source = markdown_for_colab(cell.source, page, root, numbers)
            continue
        if solution:
            _fold(cell, SOLUTION_TITLE)
            solution = False
            continue
        tags = cell.metadata.get("tags", [])
        if "raises-exception" in tags:
            _print_error_instead(cell)
        needs = [tag.removeprefix("requires-") for tag in tags if tag.startswith("requires-")]
        if needs:  # run it only where the GPU/TPU/server is present, as the book's tests do
            cell.source = f"%%requires {','.join(needs)}\n{cell.source}"
            tagged = True
        if "remove-cell" in tags:
            _fold(cell, HIDDEN_TITLE)
        elif "hide-input" in tags or "hide-cell" in tags:
            _fold(cell, FOLDED_TITLE)
    added = [_setup_cell(root)]
    if missing := missing_in_colab(nb, root):
        added.append(_extras_cell(missing))
    if tagged:
        added.append(_requires_cell())
    title = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown")
    nb.cells[title + 1 : title + 1] = added
    nb.cells = [c for c in nb.cells if c.cell_type != "markdown" or c.source.strip()]  # {solution-end} alone
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}
    nb.metadata["accelerator"] = "GPU" if "requires-gpu" in (root / page).read_text(encoding="utf-8") else "None"
    return nb


def write_all(outdir: Path, root: Path = ROOT) -> list[str]:
    written = []
    for page in pages(root):
        target = Path(outdir) / notebook_path(page)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(make_notebook(page, root), target)
        written.append(notebook_path(page))
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tfbook.colab OUTDIR")
    for path in write_all(Path(sys.argv[1])):
        print(path)
