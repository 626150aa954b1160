"""The Sphinx extension of the book (_config.yml: sphinx.local_extensions).

- Applies the accelerator flag (TFBOOK_ACCELERATORS, default auto) and the other changes of
  `tfbook.pages.prepare` to every page MyST-NB reads, so the build executes what the tests execute.
- Puts an "Open in Colab" badge and a "下载 notebook" link under the title of every page under chapters/,
  and writes those notebooks and their zip into the built site (tfbook.downloads).
- The versions the pages ran on, for the status page (MyST substitutions {{ tensorflow }} and the like).
- Chinese search: jieba, taught the book's terms, and Sphinx 8's set of Latin terms in Sphinx 7.
- Chinese prose: a wrapped source line is joined where the reader would see a space (tfbook.chinese).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from docutils import nodes
from sphinx import search
from sphinx.search import zh

from tfbook import chinese, colab, devices, downloads, pages

JIEBA_DICT = Path(__file__).with_name("jieba_dict.txt")


def setup(app):
    import myst_nb.sphinx_ as nb_sphinx

    value = os.environ.get(devices.ENV_VAR, "auto")
    try:
        enabled = devices.resolve(value)
    except ValueError as err:  # the Makefile checks first; this is for a direct jupyter-book call
        from sphinx.errors import ConfigError

        raise ConfigError(f"{devices.ENV_VAR}: {err}") from None
    create_reader = nb_sphinx.create_nb_reader

    def create_nb_reader(*args, **kwargs):
        reader = create_reader(*args, **kwargs)
        if reader is None:
            return None
        read = reader.read
        return dataclasses.replace(reader, read=lambda text: pages.prepare(read(text), enabled))

    # MyST-NB has no hook between reading and executing a notebook; this wraps its reader.
    nb_sphinx.create_nb_reader = create_nb_reader

    app.add_config_value("tfbook_colab_branch", "colab", "html")
    app.connect("config-inited", lambda app, config: config.html_search_options.setdefault("dict", str(JIEBA_DICT)))
    search.languages["zh"] = SearchChinese
    app.connect("html-page-context", add_colab_badge)
    app.connect("doctree-read", join_chinese_lines)
    app.connect("env-get-updated", write_every_page)
    app.connect("config-inited", add_versions)
    app.connect("build-finished", write_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


class SearchChinese(zh.SearchChinese):
    """Sphinx 7's Chinese search with the Latin terms in a set, as Sphinx 8 keeps them. Sphinx 7 (which
    Jupyter Book 1 requires) looks each word of the book up in a list of every Latin word seen so far:
    8 of the build's 20 s. The index is the same (tests/test_book.py compares it with Sphinx 7's own)."""

    def init(self, options):
        super().init(options)
        self.latin_terms = set()

    def split(self, input):
        chinese = list(zh.jieba.cut_for_search(input)) if zh.JIEBA else []
        latin1 = [term.strip() for term in self.latin1_letters.findall(input)]
        self.latin_terms.update(latin1)
        return chinese + latin1


CODE = (nodes.literal, nodes.literal_block, nodes.raw, nodes.math, nodes.math_block, nodes.comment)


def write_every_page(app, env):
    """sphinx-sitemap lists the pages written by this build: have an incremental build write every page
    again (from its saved doctree, nothing is read or executed again), so sitemap.xml lists them all."""
    return env.found_docs


def join_chinese_lines(app, doctree):
    """No newline between two Chinese characters in the text a reader reads (code and outputs untouched).
    A soft line break is a text node of its own, between the text before it and the text after it."""
    texts = [t for t in doctree.findall(nodes.Text) if not any(isinstance(a, CODE) for a in _ancestors(t))]
    values = [str(t) for t in texts]
    for i, text in enumerate(texts):
        # the characters either side, skipping empty text nodes (MyST leaves one after **strong**)
        before = next((value[-1] for value in reversed(values[:i]) if value), "")
        after = next((value[0] for value in values[i + 1 :] if value), "")
        joined = chinese.join_lines(before + values[i] + after)
        joined = joined[len(before) : len(joined) - len(after)]
        if joined != values[i]:  # by identity: Element.replace would take the first equal "\n"
            parent = text.parent
            parent[next(k for k, child in enumerate(parent.children) if child is text)] = nodes.Text(joined)


def _ancestors(node):
    while (node := node.parent) is not None:
        yield node


def add_colab_badge(app, pagename, templatename, context, doctree):
    """Put an "Open in Colab" badge under the title of every page under chapters/."""
    if not pagename.startswith("chapters/") or "body" not in context:
        return
    page = app.env.doc2path(pagename, base=False)
    icon = context["pathto"]("_static/images/logo_colab.png", 1)
    url = colab.colab_url(str(page), Path(app.srcdir))
    notebook = context["pathto"](downloads.notebook_href(str(page)), 1)
    badge = (
        f'<p class="colab-badge"><a class="reference external" href="{url}">'
        f'<img src="{icon}" alt="" style="height:1.2em;vertical-align:text-bottom">'
        " 在 Colab 中打开 (Open in Colab)</a>"
        f' · <a class="reference download-notebook" href="{notebook}" download>下载 notebook</a></p>'
    )
    context["body"] = context["body"].replace("</h1>", "</h1>\n" + badge, 1)


VERSIONS = {"python": None, "tensorflow": "tensorflow", "keras": "keras", "tensorboard": "tensorboard"}


def add_versions(app, config):
    """The versions of this build's environment, the one the pages ran in, as MyST substitutions."""
    import importlib.metadata
    import platform

    found = {
        key: importlib.metadata.version(dist) if dist else platform.python_version() for key, dist in VERSIONS.items()
    }
    config.myst_substitutions = {**found, "weekly_runs": weekly_runs(Path(app.srcdir)), **config.myst_substitutions}
    config.ogp_site_url = config.ogp_site_url or config.html_baseurl  # html.baseurl, named once


WEEKLY = "tf-latest.yml"  # its two jobs: every page on the newest TensorFlow, every notebook in Colab's image
JOBS = {
    "newest-tensorflow": "每一页，在最新的 TensorFlow 上",
    "colab-runtime": "每个 notebook，在 Colab 的运行时镜像里",
}
RUNS = "_build/weekly-run.json"  # the book workflow writes it: `gh run view <last run> --json createdAt,url,jobs`


def weekly_runs(root: Path) -> str:
    """A Markdown table of the weekly workflow's last run, job by job, from RUNS where the build has it."""
    import json

    run = json.loads((root / RUNS).read_text() or "{}") if (root / RUNS).exists() else {}
    results = {job.get("name"): job.get("conclusion") for job in run.get("jobs", [])}
    url = run.get("url") or f"{pages.config(root)['repository']['url']}/actions/workflows/{WEEKLY}"
    when = run.get("createdAt", "")[:10] or "—"
    rows = ["| 每周运行 | 最近一次 | 结果 |", "|---|---|---|"]
    for job, title in JOBS.items():
        result = {"success": "✅ 通过", "failure": "❌ 失败"}.get(results.get(job), results.get(job) or "—")
        rows.append(f"| [{title}]({url}) | {when} | {result} |")
    return "\n".join(rows)


def write_downloads(app, exception):
    if exception is None and app.builder.name == "html":
        downloads.write(Path(app.outdir), Path(app.srcdir))
