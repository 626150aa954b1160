"""The book's configuration, its pages, and a page read as MyST-NB reads it for the build.

The tests execute exactly the notebook the build would execute (same cells, same tags, same hash), so
they can hand their outputs to the build through its execution cache. These differ from a plain
MyST read, the same for tests and build:
- a cell tagged `requires-<thing>` whose thing is not enabled gets `skip-execution`, and each run of
  adjacent skipped cells gets one short note before it saying what they need;
- a cell that fails on purpose (`raises-exception`) runs in IPython's minimal exception mode, so the page
  shows the error the lesson is about, not a traceback through TensorFlow's sources on our machine;
- the page's exercises get their helper and the proof that every check was proved (tfbook.exercises).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

from tfbook import devices, exercises

ROOT = Path(__file__).resolve().parents[1]


def config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def pages(root: Path = ROOT) -> list[str]:
    """The pages under chapters/, in the order of _toc.yml, read by the parser Jupyter Book itself uses."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    site_map = parse_toc_yaml(root / "_toc.yml")
    order = []

    def walk(docname):
        order.append(docname)
        for subtree in site_map[docname].subtrees:
            for item in subtree.items:
                if isinstance(item, str):
                    walk(item)

    walk(site_map.root.docname)
    return [f"{doc}.md" for doc in order if doc.startswith("chapters/")]


def _hidden(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["remove-cell"], "tfbook": "added"})


def _skip_note(needs: set[str], count: int) -> nbformat.NotebookNode:
    names = " 和 ".join(devices.DEVICES[d] for d in sorted(needs))
    which = "下面这个单元" if count == 1 else f"下面 {count} 个单元"
    where = "；在 Colab 中换成 GPU 运行时即可运行" if needs == {"gpu"} else ""
    text = (
        f":::{{admonition}} 需要 {names}\n:class: warning skipped-cell\n"
        f"{which}需要 {names}，生成本页时没有执行，所以没有输出{where}。\n:::"
    )
    return nbformat.v4.new_markdown_cell(text, metadata={"tfbook": "skip-note"})


def prepare(nb, enabled: set[str]):
    """The changes described above, applied to a notebook MyST-NB has read (its source map kept aligned)."""
    source_map = nb.metadata.get("source_map") or [None] * len(nb.cells)  # MyST-NB: the .md line of each cell
    missing = [devices.required(c) - enabled if c.cell_type == "code" else set() for c in nb.cells]
    cells, lines = [], []

    def add(cell, line):
        cells.append(cell)
        lines.append(line)

    for index, cell in enumerate(nb.cells):
        line = source_map[index]
        if missing[index]:
            if index == 0 or not missing[index - 1]:  # one note for a run of adjacent skipped cells
                run = 1
                while index + run < len(nb.cells) and missing[index + run]:
                    run += 1
                needs = set().union(*missing[index : index + run])
                add(_skip_note(needs, run), line)
            cell.metadata.setdefault("tags", []).append("skip-execution")
        fails = "raises-exception" in cell.metadata.get("tags", []) and not missing[index]
        if fails:
            add(_hidden("%xmode Minimal"), line)
        add(cell, line)
        if fails:
            add(_hidden("%xmode Context"), line)
    nb.cells = cells
    exercises.add_helper(nb, lines)
    if "source_map" in nb.metadata:
        nb.metadata["source_map"] = lines
    return nb


def read_page(path: Path, enabled: set[str]):
    """Read a MyST page as MyST-NB does for the book, then `prepare` it."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    nb = read_myst_markdown_notebook(
        Path(path).read_text(encoding="utf-8"), config=MdParserConfig(), add_source_map=True, path=str(path)
    )
    return prepare(nb, enabled)
