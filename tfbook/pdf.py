"""The whole book as one PDF, printed by Chromium from the built site (no page is executed again).

    python -m tfbook.pdf        # _build/html (make book) -> _build/html/tensorflow2-book.pdf

The article of every page of _build/html, in _toc.yml's order, goes into one HTML document under a heading
per part (its headings one level down, so a part, its pages and their sections become the PDF's
bookmarks), with the theme's style sheets and MathJax and none of its scripts (hints and solutions print
open). Chromium (Playwright, as the built-book tests drive it) prints it: A4, page numbers in the footer,
code wrapped at the text width, Chinese in the system's CJK font (Debian: fonts-noto-cjk), fonts embedded.
"""

from __future__ import annotations

import html
import os
import posixpath
import re
import shutil
import sys
from pathlib import Path

import yaml

from tfbook.pages import ROOT, config

SITE = ROOT / "_build" / "html"
NAME = "tensorflow2-book.pdf"
SOURCE = ROOT / "_build" / "pdf" / "book.html"  # the document Chromium prints, kept for a look

STYLE = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
body { font-size: 10.5pt; background: white; }
.bd-article-container, .bd-article { max-width: none !important; padding: 0 !important; }
pre, .output pre, div.highlight pre { white-space: pre-wrap !important; overflow-wrap: anywhere;
  overflow: visible !important; max-height: none !important; font-size: 8.5pt; }
.cell_output, .output { max-height: none !important; overflow: visible !important; }
img { max-width: 100% !important; height: auto; break-inside: avoid; }
table { font-size: 9pt; }
a.headerlink, .colab-badge, .toggle-button, button { display: none !important; }
h1.part { break-before: page; font-size: 26pt; margin-top: 30%; text-align: center; }
section.page { break-before: page; }
.cover { text-align: center; margin-top: 35%; }
.cover h1 { font-size: 30pt; }
nav.contents li { list-style: none; margin: 0.2em 0; }
div.cell, .admonition, figure { break-inside: avoid-page; }
"""


def parts(root: Path = ROOT) -> list[tuple[str, list[str]]]:
    """(caption, [page path without suffix]) for every part of _toc.yml."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))

    def files(entries):
        for entry in entries or []:
            yield entry["file"]
            yield from files(entry.get("sections"))

    return [(part["caption"], list(files(part["chapters"]))) for part in toc["parts"]]


def article(site: Path, page: str) -> str:
    """A built page's article, its URLs relative to the site's root, its headings one level down."""
    text = (site / f"{page}.html").read_text(encoding="utf-8")
    body = text[text.index('<article class="bd-article">') : text.index("</article>")]
    body = body[body.index(">") + 1 :]
    folder = posixpath.dirname(page)

    def rebase(match):
        attribute, url = match.groups()
        if re.match(r"[a-z]+:|#|/", url):
            return match.group()
        return f'{attribute}="{posixpath.normpath(posixpath.join(folder, url))}"'

    body = re.sub(r'\b(src|href)="([^"]*)"', rebase, body)
    body = re.sub(r'href="[^"#]*\.html#', 'href="#', body)  # links within the book: to the anchor
    body = re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", body)
    return f'<section class="page">{body}</section>'


def document(site: Path = SITE, root: Path = ROOT) -> str:
    """The whole book as one HTML document, to be opened from SOURCE."""
    index = (site / "index.html").read_text(encoding="utf-8")
    head = index[index.index("<head>") + 6 : index.index("</head>")]
    keep = re.findall(r'<link rel="stylesheet"[^>]*>', head)
    keep += re.findall(r'<script[^>]*src="[^"]*mathjax[^"]*"[^>]*></script>', head, re.I)
    keep += re.findall(r"<script>\s*window\.MathJax[\s\S]*?</script>", head)
    title = config(root)["title"]
    contents, chapters = [], []
    for caption, files in parts(root):
        pages = [f for f in files if (site / f"{f}.html").exists()]
        titles = []
        for page in pages:
            found = re.search(r"<title>(.*?)(?: &#8212;.*)?</title>", (site / f"{page}.html").read_text("utf-8"))
            titles.append(html.unescape(found.group(1)) if found else page)
        entries = "".join(f"<li>{html.escape(t)}</li>" for t in titles)
        contents.append(f"<li><b>{html.escape(caption)}</b><ul>{entries}</ul></li>")
        chapters.append(f'<h1 class="part">{html.escape(caption)}</h1>' + "".join(article(site, p) for p in pages))
    base = os.path.relpath(site, SOURCE.parent).replace(os.sep, "/") + "/"
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><base href="{base}">'
        f"<title>{html.escape(title)}</title>{''.join(keep)}<style>{STYLE}</style></head>"
        f'<body><div class="bd-article"><div class="cover"><h1>{html.escape(title)}</h1>'
        f"<p>TensorFlow 2.21 · Keras 3</p></div>"
        f'<h1 class="part">目录</h1><nav class="contents"><ul>{"".join(contents)}</ul></nav>'
        f"{''.join(chapters)}</div></body></html>"
    )


FOOTER = '<div style="font-size:8pt;width:100%;text-align:center;color:#555"><span class="pageNumber"></span></div>'


def build(site: Path = SITE, root: Path = ROOT) -> Path:
    """Print the book into site/NAME; return its path."""
    from playwright.sync_api import sync_playwright

    if not (site / "index.html").exists():
        raise SystemExit(f"{site} has no built book: run `make book` first (it renders from the execution cache)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")  # else Playwright's own, if installed
    SOURCE.parent.mkdir(parents=True, exist_ok=True)
    SOURCE.write_text(document(site, root), encoding="utf-8")
    target = site / NAME
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        except Exception as err:
            raise SystemExit(
                f"no Chromium to print with ({err.__class__.__name__}): install Debian's chromium and fonts-noto-cjk,"
                " or run `.venv/bin/playwright install chromium`"
            ) from None
        page = browser.new_page()
        page.goto(SOURCE.as_uri(), wait_until="load", timeout=120_000)
        # MathJax typesets after load; printing before it finishes would print the TeX source
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
        page.evaluate("() => MathJax.startup.promise")
        page.pdf(
            path=str(target),
            format="A4",
            print_background=True,
            outline=True,
            tagged=True,
            display_header_footer=True,
            header_template="<span></span>",
            footer_template=FOOTER,
            margin={"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
        )
        browser.close()
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else SITE))
