"""The Colab notebooks of the book: one .ipynb per page, generated from the MyST source.

    python _ext/colab.py OUTDIR      # writes OUTDIR/chapters/<chapter>/<page>.ipynb for every page

The book workflow publishes OUTDIR to the branch `tfbook_colab_branch` (in _config.yml), and every
page of the rendered book links its notebook there (see `colab_url`). A generated notebook differs
from its page in these ways, all so that it runs top to bottom in Colab ("Run all"):
- a first code cell installs the TensorFlow/Keras/TensorBoard versions the book is tested with
  when Colab's differ (then restarts the runtime once); outside Colab it does nothing;
- a cell that fails on purpose (tag `raises-exception`) prints its error instead of stopping;
- a cell tagged `requires-<thing>` starts with `%%requires <thing>` (a cell magic defined in a second
  cell): it runs where that GPU/TPU/server is present and says it was skipped elsewhere.
Outputs are not included: readers run the notebooks; the executed pages are the book itself.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
COLAB = "https://colab.research.google.com/github"
PINNED_IN_COLAB = ("tensorflow", "keras", "tensorboard")  # what Colab has, maybe in another version

SETUP = """\
# Colab only: install the versions this book is tested with; this cell does nothing elsewhere.
import sys

if "google.colab" in sys.modules:
    from importlib.metadata import PackageNotFoundError, version

    def installed(package):
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    wanted = {WANTED}
    missing = " ".join(f"{name}=={pin}" for name, pin in wanted.items() if installed(name) != pin)
    if missing:
        %pip install -q {missing}
        print("Installed", missing, "- the runtime restarts once; then run all cells again.")
        import os

        os.kill(os.getpid(), 9)  # Colab restarts a runtime whose process ends
"""

FAILS_ON_PURPOSE = """\
try:
{code}
except Exception:  # this cell fails on purpose (see the text): show the error and go on
    import traceback

    traceback.print_exc()
"""


def config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def pages(root: Path = ROOT) -> list[str]:
    """The pages of the book under chapters/, in _toc.yml order, as paths relative to the root."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = []

    def walk(entries):
        for entry in entries or []:
            files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc["parts"]:
        walk(part["chapters"])
    return [f"{file}.md" for file in files if file.startswith("chapters/")]


def notebook_path(page: str) -> str:
    """chapters/ch1_x/1_1_y.md -> chapters/ch1_x/1_1_y.ipynb (its path on the Colab branch)."""
    return str(Path(page).with_suffix(".ipynb"))


def colab_url(page: str, root: Path = ROOT) -> str:
    """The page's 'Open in Colab' URL, from the repository and branch named in _config.yml."""
    conf = config(root)
    repo = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)/?", conf["repository"]["url"]).group(1)
    branch = conf["sphinx"]["config"]["tfbook_colab_branch"]
    return f"{COLAB}/{repo}/blob/{branch}/{notebook_path(page)}"


def pins(root: Path = ROOT) -> dict[str, str]:
    found = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (root / "requirements.txt").read_text(), re.M))
    return {name: found[name] for name in PINNED_IN_COLAB}


REQUIRES = """\
# Cells that start with %%requires run only where what they need is present (the book's tests use the same rule).
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
    missing = [thing for thing in line.split(",") if not PRESENT[thing.strip()]()]
    if missing:
        print("Skipped: this cell needs", " and ".join(NEEDS[thing.strip()] for thing in missing))
    else:
        get_ipython().run_cell(cell)
"""


def _requires_cell():
    import tfbook

    present = "\n".join(f'    "{thing}": lambda: {expression},' for thing, expression in tfbook.PRESENT.items())
    source = REQUIRES.replace("{PRESENT}", present).replace("{NEEDS}", repr(tfbook.DEVICES))
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["colab-requires"]})


def _print_error_instead(cell) -> None:
    code = cell.source
    wrapped = FAILS_ON_PURPOSE.format(code=textwrap.indent(code, "    "))
    try:
        ast.parse(wrapped)
    except SyntaxError as err:
        raise ValueError(f"cannot wrap this raises-exception cell for Colab:\n{code}") from err
    cell.source = wrapped
    cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "raises-exception"]


def make_notebook(page: str, root: Path = ROOT):
    """The Colab notebook of one page (path relative to the root)."""
    nb = jupytext.read(root / page)
    tagged = False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "raises-exception" in tags:
            _print_error_instead(cell)
        needs = [tag.removeprefix("requires-") for tag in tags if tag.startswith("requires-")]
        if needs:  # run it only where the GPU/TPU/server is present, as the book's tests do
            cell.source = f"%%requires {','.join(needs)}\n{cell.source}"
            tagged = True
    setup = nbformat.v4.new_code_cell(SETUP.replace("{WANTED}", repr(pins(root))), metadata={"tags": ["colab-setup"]})
    title = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown")
    nb.cells[title + 1 : title + 1] = [setup, _requires_cell()] if tagged else [setup]
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}
    nb.metadata["accelerator"] = "GPU" if "requires-gpu" in (root / page).read_text(encoding="utf-8") else "None"
    return nb


def write_all(outdir: Path, root: Path = ROOT) -> list[str]:
    written = []
    for page in pages(root):
        target = outdir / notebook_path(page)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(make_notebook(page, root), target)
        written.append(notebook_path(page))
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python _ext/colab.py OUTDIR")
    for path in write_all(Path(sys.argv[1])):
        print(path)
