"""What the book build and the page tests share.

- The accelerator flag: which ``requires-<device>`` cells run. The tests take it from
  ``pytest --accelerators=...``, the book build from the ``TFBOOK_ACCELERATORS``
  environment variable; both go through :func:`resolve` and :func:`mark_skipped_cells`.
- :func:`read_page`: a MyST page read into a notebook exactly as MyST-NB reads it for
  the book, so the page tests can store their executed notebooks in the book's
  execution cache.
- :func:`setup`: the Sphinx extension (``_config.yml`` -> ``sphinx.local_extensions``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import nbformat

ENV_VAR = "TFBOOK_ACCELERATORS"
JIEBA_DICT = Path(__file__).with_name("jieba_dict.txt")
# tag `requires-<key>` -> what the cell needs, as shown to readers
DEVICES = {"gpu": "GPU", "tpu": "TPU", "tfserving": "TensorFlow Serving (tensorflow_model_server)"}
ALLOWED = "none, auto, " + ", ".join(DEVICES) + " or a comma list such as gpu,tpu"


def parse(value: str) -> str | set[str]:
    """'none' -> set(), 'auto' -> 'auto', 'gpu,tpu' -> {'gpu', 'tpu'}; anything else is rejected."""
    value = (value or "").strip().lower()
    if value in ("none", "auto"):
        return set() if value == "none" else "auto"
    names = {name.strip() for name in value.split(",")}
    unknown = sorted(name for name in names if name not in DEVICES)
    if unknown or not names:
        raise ValueError(f"accelerators: unknown value {value!r}; allowed: {ALLOWED}")
    return names


# How each requires-<thing> is detected: Python expressions (over os, shutil, subprocess), used here and
# inlined into the generated Colab notebooks (_ext/colab.py), so both follow one rule.
PRESENT = {
    "gpu": 'shutil.which("nvidia-smi") is not None'
    ' and "GPU" in subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout',
    "tpu": 'os.path.exists("/dev/accel0") or bool(os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"))',
    "tfserving": 'shutil.which("tensorflow_model_server") is not None',
}


def detect() -> set[str]:
    """The accelerators (and services) present on this machine."""
    scope = {"os": os, "shutil": shutil, "subprocess": subprocess}
    return {thing for thing, expression in PRESENT.items() if eval(expression, scope)}


def resolve(value: str) -> set[str]:
    """The set of devices whose cells run for a flag value ('auto' = those detected)."""
    parsed = parse(value)
    return detect() if parsed == "auto" else parsed


def required_devices(cell) -> set[str]:
    """Devices a cell asks for through `requires-*` tags; an unknown device is an error."""
    tags = cell.get("metadata", {}).get("tags", [])
    wanted = {tag.removeprefix("requires-") for tag in tags if tag.startswith("requires-")}
    unknown = sorted(wanted - set(DEVICES))
    if unknown:
        raise ValueError(f"unknown tag requires-{unknown[0]}; known: " + ", ".join(f"requires-{d}" for d in DEVICES))
    return wanted


def _skip_note(missing: set[str], value: str) -> nbformat.NotebookNode:
    names = " 和 ".join(DEVICES[d] for d in sorted(missing))
    tags = ", ".join(f"`requires-{d}`" for d in sorted(missing))
    text = (
        f":::{{admonition}} 需要 {names}：下一个单元在本次运行中没有执行\n"
        ":class: warning skipped-cell\n"
        f"下一个单元带有 {tags} 标签，只在有 {names} 时执行。本次运行的加速器设置是 `{value}`，"
        f"没有启用 {names}，所以它没有输出。在有 {names} 的机器上用 "
        f"`{ENV_VAR}=auto` 构建本书（或 `pytest --accelerators=auto`）即可执行它。\n"
        ":::"
    )
    return nbformat.v4.new_markdown_cell(text, metadata={"tfbook": "skip-note"})


def mark_skipped_cells(nb, enabled: set[str], value: str):
    """Tag cells whose device is not enabled with `skip-execution` and put a visible note before each."""
    cells, lines = [], []
    source_map = nb.metadata.get("source_map")  # MyST-NB: the .md line of each cell
    for index, cell in enumerate(nb.cells):
        missing = required_devices(cell) - enabled if cell.cell_type == "code" else set()
        if missing:
            cells.append(_skip_note(missing, value))
            cell.metadata.setdefault("tags", []).append("skip-execution")
            lines.append(source_map[index] if source_map else None)  # the note sits at its cell's line
        cells.append(cell)
        lines.append(source_map[index] if source_map else None)
    nb.cells = cells
    if source_map:
        nb.metadata["source_map"] = lines
    return nb


def read_page(path: Path, enabled: set[str], value: str):
    """Read a MyST page as MyST-NB does for the book, with the accelerator flag applied."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    nb = read_myst_markdown_notebook(
        path.read_text(encoding="utf-8"), config=MdParserConfig(), add_source_map=True, path=str(path)
    )
    return mark_skipped_cells(nb, enabled, value)


def setup(app):
    """Apply the accelerator flag (TFBOOK_ACCELERATORS, default auto) to every page MyST-NB reads."""
    import myst_nb.sphinx_ as nb_sphinx

    value = os.environ.get(ENV_VAR, "auto")
    enabled = resolve(value)  # a bad value stops the build with the allowed values
    create_reader = nb_sphinx.create_nb_reader

    def create_nb_reader(*args, **kwargs):
        reader = create_reader(*args, **kwargs)
        if reader is None:
            return None
        read = reader.read
        return dataclasses.replace(reader, read=lambda text: mark_skipped_cells(read(text), enabled, value))

    # MyST-NB has no hook between reading and executing a notebook; this wraps its reader.
    nb_sphinx.create_nb_reader = create_nb_reader

    app.add_config_value("tfbook_colab_branch", "colab", "html")
    # Chinese search: jieba splits the text into words; teach it the book's terms ("自动微分", "计算图", ...)
    app.connect("config-inited", lambda app, config: config.html_search_options.setdefault("dict", str(JIEBA_DICT)))
    app.connect("html-page-context", add_colab_badge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def add_colab_badge(app, pagename, templatename, context, doctree):
    """Put an "Open in Colab" badge under the title of every page under chapters/."""
    import colab

    if not pagename.startswith("chapters/") or "body" not in context:
        return
    page = app.env.doc2path(pagename, base=False)
    icon = context["pathto"]("_static/images/logo_colab.png", 1)
    url = colab.colab_url(str(page), Path(app.srcdir))
    badge = (
        f'<p class="colab-badge"><a class="reference external" href="{url}">'
        f'<img src="{icon}" alt="" style="height:1.2em;vertical-align:text-bottom">'
        " 在 Colab 中打开 (Open in Colab)</a></p>"
    )
    context["body"] = context["body"].replace("</h1>", "</h1>\n" + badge, 1)
