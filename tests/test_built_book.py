"""The built book: the README's build command, then the rendered pages in a real browser (Debian's
Chromium, driven by Playwright, on localhost). `make test` runs this module in a second pytest run
(-m built_book), after the first has executed every page into the execution cache: the build renders
from that cache and executes nothing.

Checks every page of _build/html (built by the `built_book` fixture, from the execution cache):
title, no error output, images loaded, figures present, Colab and source links, internal links,
the skipped-cell notes, formulas; the search (Chinese and API names); screenshots for maintainers in
_build/screenshots/; what readers take away (notebooks, their zip, the PDF, the status page, sitemap
and Open Graph tags); Chinese typography. No test depends on pixels.
"""

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from html import unescape
from pathlib import Path

import pytest

from tfbook import chinese, colab, devices, downloads, links, pdf
from tfbook.pages import config, pages, read_page

ROOT = Path(__file__).resolve().parents[1]

HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# no network but localhost: no background services, no QUIC, no component updates
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]
PAGES = [str(Path(page).with_suffix("")) for page in pages()]
ALL = ["index", *PAGES, "appendix/api_changes", "appendix/status"]
REPOSITORY = config()["repository"]["url"]
ENABLED = devices.resolve(os.environ.get(devices.ENV_VAR, "auto"))

pytestmark = pytest.mark.built_book  # make test: a second pytest run, after the pages
# CI (CI=true) never skips: there a missing Chromium fails the tests
needs_chromium = pytest.mark.skipif(
    not CHROMIUM and not os.environ.get("CI"), reason="Chromium not found (Debian: apt-get install chromium)"
)


def expected_figures(page: Path) -> int:
    """How many figures the book shows for a page: plt.show() calls in the cells that run and whose
    outputs are shown."""
    count = 0
    for cell in read_page(page, ENABLED).cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and not {"skip-execution", "remove-cell", "remove-output"} & set(tags):
            count += cell.source.count("plt.show()")
    return count


@pytest.fixture(scope="module")
def built_book():
    """The build command of the README, run once, after the pages are in the execution cache."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [jupyter_book, "build", ".", "-W", "-n", "--keep-going"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if result.returncode == 0 and CHROMIUM:  # make pdf: the PDF the front page links
        printed = subprocess.run([sys.executable, "-m", "tfbook.pdf"], cwd=ROOT, capture_output=True, text=True)
        result.pdf = printed
    return result


@pytest.fixture(scope="module")
def site(built_book):
    """Serve _build/html on a free localhost port."""
    assert built_book.returncode == 0, "the book did not build (see test_book_builds_without_warnings)"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a browser that stopped reading
                super().handle_error(request, client_address)

    handler = functools.partial(Quiet, directory=str(HTML))
    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Chromium not found: .ci/run installs Debian's chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def context(browser):
    """One browser context for all visits: its cache keeps the theme's scripts, as a reader's browser does."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def open_page(context, site):
    """Open a page; requests leave localhost never (aborted), and what failed on localhost is recorded."""
    failed = []
    opened_pages = []

    def route(route):
        if route.request.url.startswith(site):
            route.continue_()
        else:
            route.abort()

    def opened(path):
        page = context.new_page()
        page.route("**/*", route)
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("requestfailed", lambda r: failed.append(f"failed {r.url}") if r.url.startswith(site) else None)
        page.goto(f"{site}/{path}.html", wait_until="load")
        page.failed = failed
        opened_pages.append(page)
        return page

    yield opened
    for page in opened_pages:
        page.close()


def source_of(path: str) -> str:
    return (ROOT / f"{path}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ALL)
@needs_chromium
def test_page_in_the_browser(open_page, site, path):
    page = open_page(path)
    title = re.search(r"^# (.+)$", source_of(path), re.M).group(1)
    assert page.title().startswith(title.replace("`", "")), page.title()
    assert page.locator("h1").first.inner_text().startswith(title.replace("`", "")[:4])

    # no error output, except in cells that fail on purpose
    cells = page.locator("div.cell:not(.tag_raises-exception)")
    assert cells.locator(".output.traceback").count() == 0, "a traceback on the page"
    for stderr in cells.locator(".output.stderr").all_inner_texts():
        assert not re.search(r"Error|Traceback", stderr), stderr[:300]

    # every image loaded; every figure the page's code shows is there
    images = page.evaluate("Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0])")
    assert all(ok for _, ok in images), [src for src, ok in images if not ok]
    figures = expected_figures(ROOT / f"{path}.md") if path in PAGES else 0
    assert page.locator(".cell_output img").count() >= figures

    # links: Colab and source; every internal link resolves
    if path in PAGES:
        colab_link = page.locator("p.colab-badge a:not(.download-notebook)")
        assert colab_link.get_attribute("href") == colab.colab_url(f"{path}.md")
        edit = f"{REPOSITORY}/edit/main/{path}.md"
        assert page.locator(f'a[href="{edit}"]').count() == 1, "the edit-on-GitHub link"
        # a skipped device cell is shown with its note
        nb = read_page(ROOT / f"{path}.md", ENABLED)
        notes = sum(c.metadata.get("tfbook") == "skip-note" for c in nb.cells)
        assert page.locator(".admonition.skipped-cell").count() == notes, "the notes of the skipped cells"
    assert page.locator(f'a[href="{REPOSITORY}"]').count() >= 1, "the repository link"
    internal = page.evaluate(
        "Array.from(document.querySelectorAll('a[href]')).map(a => a.href).filter(h => h.startsWith(location.origin))"
    )
    for url in sorted({u.split("#")[0] for u in internal}):
        try:
            urllib.request.urlopen(url).close()
        except urllib.error.HTTPError as err:
            pytest.fail(f"{path}: link {url} -> {err.code}")
    assert not page.failed, page.failed

    # formulas are rendered by MathJax served with the book (the browser reaches nothing but localhost)
    if has_formulas(path):
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("() => MathJax.startup.promise")
        assert page.locator("mjx-container").count() > 0, "no formula rendered"
        raw = page.evaluate("() => document.querySelector('main').innerText")
        assert "\\(" not in raw and "\\[" not in raw, "raw TeX on the page"


@pytest.mark.parametrize("path", [p for p in PAGES if re.search(r"^%tensorboard ", source_of(p), re.M)])
@needs_chromium
def test_tensorboard_pages_show_the_static_graph(open_page, path):
    page = open_page(path)
    cells = page.locator("div.cell")
    texts = cells.all_inner_texts()
    at = next(i for i, text in enumerate(texts) if "%tensorboard" in text)
    later_images = sum(cells.nth(i).locator(".cell_output img").count() for i in range(at + 1, len(texts)))
    assert later_images >= 1, "no static picture of the graph after %tensorboard"
    assert "tensorboard-frame" not in page.content(), "the blank TensorBoard iframe is on the static page"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("GradientTape", "chapters/ch1_core_concepts/1_3_autodiff"),
        ("自动微分", "chapters/ch1_core_concepts/1_3_autodiff"),
    ],
)
@needs_chromium
def test_search_finds_pages(open_page, query, expected):
    page = open_page("search")
    page.goto(page.url.split("?")[0] + "?q=" + urllib.request.quote(query))
    page.wait_for_selector("#search-results li a", timeout=20000)
    found = page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.getAttribute('href'))")
    assert any(href.split("?")[0].split("#")[0].endswith(f"{expected}.html") for href in found), found


@needs_chromium
def test_screenshots_for_maintainers(open_page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chosen = ["index", *[p for p in PAGES if p.endswith(("1_2_graphs", "1_3_autodiff"))], "appendix/api_changes"]
    for path in chosen:
        target = SCREENSHOTS / f"{path.replace('/', '__')}.png"
        open_page(path).screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000


def test_book_builds_without_warnings(built_book):
    """The build command (-W: warnings are errors), after the pages are in the cache."""
    result = built_book
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    # the pages the first run executed are rendered from the cache, not executed again
    executed = re.findall(r"(\S+): Executing notebook", log)
    assert not executed, f"executed by the build (not in the cache the page tests filled): {executed}"

    html = ROOT / "_build" / "html"
    index = (html / "index.html").read_text(encoding="utf-8")
    for page in (ROOT / f"{path}.md" for path in PAGES):
        out = html / page.relative_to(ROOT).with_suffix(".html")
        assert out.exists(), out
        assert f'href="{page.relative_to(ROOT).with_suffix(".html").as_posix()}"' in index, (
            f"{page.name} not in the navigation"
        )
        text = out.read_text(encoding="utf-8")
        assert "cell_output" in text, f"{page.name}: no outputs on the page"
        badge = re.search(r'<p class="colab-badge"><a [^>]*href="([^"]+)"', text)
        url = colab.colab_url(page.relative_to(ROOT).as_posix())
        assert badge and badge.group(1) == url, f"{page.name}: Colab link"
        if expected_figures(page):
            assert re.search(r'<img [^>]*src="[./]*_images/', text), f"{page.name}: its figure is missing"
        assert "skip-execution" not in text or "skipped-cell" in text, f"{page.name}: skipped cell without its note"
    graphs = (html / "chapters" / "ch1_core_concepts" / "1_2_graphs.html").read_text(encoding="utf-8")
    # the magics are on the page; the iframe (blank on a static site) is not: the static picture stands in
    assert "%tensorboard" in graphs and "tensorboard-frame" not in graphs


# what a reader must not meet in the built pages: our machines' paths, process ids, remarks on our machines
BUILD_MACHINE = re.compile(
    r"(/tmp/|/root/|/work/|/home/\w|\.venv|site-packages|python3\.\d+/|\bpid\W{1,3}\d+|本书的机器|本机不能联网|生成本书的机器)"
)


def test_no_build_machine_text_in_the_pages(built_book):
    assert built_book.returncode == 0
    for path in ALL:
        html = (HTML / f"{path}.html").read_text(encoding="utf-8")
        main = html[html.find("<main") : html.find("</main>")]
        text = re.sub(r"<[^>]+>", "", main)  # what the reader reads: prose, code and outputs
        found = sorted({m.group(0) for m in BUILD_MACHINE.finditer(text)})
        assert not found, f"{path}: {found}"


def has_formulas(path: str) -> bool:
    html = (HTML / f"{path}.html").read_text(encoding="utf-8")
    return "\\(" in html or "\\[" in html


def test_some_pages_have_formulas(built_book):
    """test_page_in_the_browser checks that MathJax, served with the book, renders them."""
    assert built_book.returncode == 0
    assert any(has_formulas(path) for path in ALL), "no page with formulas"


def failing_cell_outputs(path: str) -> str:
    """The text of the outputs of the cells that fail on purpose, as the built page shows them."""
    html = (HTML / f"{path}.html").read_text(encoding="utf-8")
    texts = []
    for block in re.split(r'(?=<div class="cell[ "])', html)[1:]:
        if "tag_raises-exception" in block[: block.find(">")]:
            texts.append(unescape(re.sub(r"<[^>]+>", "", block)))
    return "\n".join(texts)


def appendix_rows() -> list[list[str]]:
    """The rows of the appendix table: old API, new API, error, kind, pages."""
    text = (ROOT / "appendix" / "api_changes.md").read_text(encoding="utf-8")
    return [line.strip("| ").split(" | ") for line in text.splitlines() if line.startswith("| ") and "{doc}`" in line]


def test_appendix_error_messages_are_what_the_pages_raise(built_book):
    """A reader who searches for the error an old API raises finds it in the appendix: each message
    there is the one a failing cell of the page prints."""
    assert built_book.returncode == 0
    rows = appendix_rows()
    assert all(len(row) == 5 for row in rows), [row for row in rows if len(row) != 5]
    with_errors = [row for row in rows if row[2] != "—"]
    assert len(with_errors) >= 10, f"only {len(with_errors)} appendix rows give the error message"
    for _old, _new, error, _kind, linked in with_errors:
        message = error.strip("`").strip()
        pages = re.findall(r"<\.\./([^>]+)>`", linked)
        shown = "\n".join(failing_cell_outputs(page) for page in pages)
        assert message in shown, f"{pages}: {message!r} is not what the page raises"


# ------------------------------------------------------------------------- what readers take away


def test_every_page_offers_its_colab_notebook_for_download(built_book):
    assert built_book.returncode == 0
    import nbformat

    for path in PAGES:
        text = (HTML / f"{path}.html").read_text(encoding="utf-8")
        link = re.search(r'<a class="reference download-notebook" href="([^"]+)" download>下载 notebook</a>', text)
        assert link, f"{path}: no download link beside the Colab badge"
        target = (HTML / path).parent / link.group(1)
        assert target.resolve() == (HTML / downloads.notebook_href(f"{path}.md")).resolve()
        served = nbformat.read(target, as_version=4)
        expected = colab.make_notebook(f"{path}.md")
        assert [c.source for c in served.cells] == [c.source for c in expected.cells], f"{path}: not its Colab notebook"
        assert not any(c.get("outputs") for c in served.cells), f"{path}: the download has outputs"


def test_the_zip_holds_every_notebook_and_how_to_run_them(built_book):
    assert built_book.returncode == 0
    import zipfile

    with zipfile.ZipFile(HTML / downloads.FOLDER / downloads.ZIP) as archive:
        names = set(archive.namelist())
        top = downloads.TOP
        assert {f"{top}/{colab.notebook_path(f'{p}.md')}" for p in PAGES} <= names
        assert len([n for n in names if n.endswith(".ipynb")]) == len(PAGES) == 26
        assert archive.read(f"{top}/requirements.txt") == (ROOT / "requirements.txt").read_bytes()
        assert archive.read(f"{top}/data/README.md") == (ROOT / "data" / "README.md").read_bytes()
        assert "pip install -r requirements.txt" in archive.read(f"{top}/README.md").decode()
    index = (HTML / "index.html").read_text(encoding="utf-8")
    assert f'href="{downloads.FOLDER}/{downloads.ZIP}"' in index and f'href="{pdf.NAME}"' in index


def test_sitemap_open_graph_and_last_updated(built_book):
    assert built_book.returncode == 0
    base = config()["html"]["baseurl"]
    sitemap = (HTML / "sitemap.xml").read_text(encoding="utf-8")
    listed = set(re.findall(r"<loc>([^<]+)</loc>", sitemap))
    assert {f"{base}{path}.html" for path in ALL if path != "index"} | {f"{base}index.html"} <= listed
    for path in ALL:
        text = (HTML / f"{path}.html").read_text(encoding="utf-8")
        title = unescape(re.search(r"<title>(.*?)(?: &#8212;.*)?</title>", text).group(1))
        og = dict(re.findall(r'<meta property="og:(\w+)" content="([^"]*)"', text))
        assert unescape(og.get("title", "")) == title, f"{path}: og:title {og.get('title')!r}"
        assert og.get("url") == f"{base}{path}.html" and og.get("image", "").startswith(base), (path, og)
        assert len(unescape(og.get("description", ""))) > 20, f"{path}: no og:description"
        assert re.search(r"最后更新于 \d{4}-\d{2}-\d{2}", text), f"{path}: no last-updated date"


def test_status_page_lists_every_page_with_time_and_result(built_book):
    assert built_book.returncode == 0
    text = (HTML / "appendix" / "status.html").read_text(encoding="utf-8")
    table = text[text.index("<table") : text.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]
    cells = [
        [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
    ]
    documents = {row[0] for row in cells}
    assert len(cells) == 26 and all(path.split("/")[-1] in " ".join(documents) for path in PAGES), documents
    for document, modified, _method, runtime, status in cells:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", modified), (document, modified)
        assert float(runtime) > 0 and status == "✅", (document, runtime, status)
    import importlib.metadata

    prose = unescape(re.sub(r"<[^>]+>", " ", text))
    for package in ("tensorflow", "keras", "tensorboard"):
        assert re.search(rf"{package}\s+{re.escape(importlib.metadata.version(package))}\s", prose, re.I), package
    assert "每周运行" in prose


# ------------------------------------------------------------------------- Chinese typography

CJK = chinese.CJK


BLOCKS = "p|li|ul|ol|dl|dt|dd|div|section|h[1-6]|table|thead|tbody|tr|td|th|blockquote|details|summary|aside|figure"


def reader_text(path: str) -> str:
    """The prose of a built page: its article without code, outputs or markup."""
    text = (HTML / f"{path}.html").read_text(encoding="utf-8")
    article = text[text.index('<article class="bd-article">') : text.index("</article>")]
    article = re.sub(r"<(pre|code|script|style|mjx-container)\b.*?</\1>", " ", article, flags=re.S)
    article = re.sub(r'<div class="cell_output.*?</div>\s*</div>', " ", article, flags=re.S)
    # the newline between two blocks (list items, paragraphs) is not drawn: only the text inside a block is
    article = re.sub(rf"</?(?:{BLOCKS})\b[^>]*>", "\x00", article)
    return unescape(re.sub(r"<[^>]+>", "", article))


def test_chinese_quotes_and_no_spaces_from_wrapped_lines(built_book):
    assert built_book.returncode == 0
    for path in ALL:
        prose = reader_text(path)
        # ASCII quotes become two closing quotes (Sphinx's smart quotes): ”重新赋值”
        assert prose.count("“") == prose.count("”"), f"{path}: unbalanced Chinese quotes"
        assert not chinese.ascii_quotes(prose), f"{path}: ASCII quotes in Chinese: {chinese.ascii_quotes(prose)[:3]}"
        # a line break between two Chinese characters reaches the browser as a space
        wrapped = re.findall(rf"[{CJK}]\n[{CJK}]", prose)
        assert not wrapped, f"{path}: {len(wrapped)} line breaks inside Chinese text, e.g. {wrapped[:3]}"


# ------------------------------------------------------------------------- the PDF


@pytest.fixture(scope="module")
def book_pdf(built_book):
    assert built_book.returncode == 0
    printed = getattr(built_book, "pdf", None)
    assert printed is not None, "no Chromium to print the PDF with"
    assert printed.returncode == 0, printed.stdout + printed.stderr[-3000:]
    return HTML / pdf.NAME


def poppler(*command) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@needs_chromium
def test_pdf_has_every_page_its_fonts_and_figures(book_pdf):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(book_pdf)
    assert 100 < len(reader.pages) < 1000, len(reader.pages)
    # bookmarks: a part per chapter of the notes, under it its pages
    outline = [item for item in reader.outline if not isinstance(item, list)]
    captions = [part for part, _ in pdf.parts()]
    assert [item.title for item in outline if item.title in captions] == captions, [i.title for i in outline]
    titles = [re.search(r"^# (.+)$", source_of(path), re.M).group(1).replace("`", "") for path in PAGES]
    # the pages: the second level (a list after its part); a page's own sections, deeper, are lists in it
    nested = [
        item.title
        for items in reader.outline
        if isinstance(items, list)
        for item in items
        if not isinstance(item, list)
    ]
    assert all(any(t.startswith(title[:8]) for t in nested) for title in titles), nested[:30]
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed (Debian: apt-get install poppler-utils)")
    text = re.sub(r"\s+", "", poppler("pdftotext", str(book_pdf), "-"))
    missing = [title for title in titles if re.sub(r"\s+", "", title) not in text]
    assert not missing, f"page titles not in the PDF's text: {missing}"
    assert "�" not in text, "a glyph the fonts lack"
    fonts = poppler("pdffonts", str(book_pdf)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), "a font not embedded"
    figures = sum(expected_figures(ROOT / f"{path}.md") for path in PAGES)
    images = poppler("pdfimages", "-list", str(book_pdf)).splitlines()[2:]
    assert len(images) >= figures, f"{len(images)} images in the PDF, {figures} figures in the book"
    assert re.search(r"\b42\b", poppler("pdftotext", "-f", "42", "-l", "42", str(book_pdf), "-")), "no page number"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-f",
            "8",
            "-l",
            "8",
            "-r",
            "80",
            "-png",
            "-singlefile",
            str(book_pdf),
            str(SCREENSHOTS / "pdf-page-8"),
        ],
        check=True,
    )


@needs_chromium
def test_pdf_code_wraps_at_the_text_width(book_pdf, browser):
    page = browser.new_page()
    page.emulate_media(media="print")
    page.goto(pdf.SOURCE.as_uri(), wait_until="load")
    wide = page.evaluate(
        "Array.from(document.querySelectorAll('pre')).filter(p => p.scrollWidth > p.clientWidth + 1).length"
    )
    blocks = page.evaluate("document.querySelectorAll('pre').length")
    page.close()
    assert blocks > 200 and wide == 0, f"{wide} of {blocks} code blocks run past the text width"


# ------------------------------------------------------------------------- exercises and links


@needs_chromium
def test_an_exercise_solution_opens_only_when_clicked(open_page):
    page = open_page("chapters/ch1_core_concepts/1_1_tensors")
    exercise = page.locator("div.exercise").first
    assert exercise.locator(".caption-number").inner_text().strip() == "练习 1"
    solution = page.locator("div.solution").first
    body = solution.locator("section#solution-content")
    assert not body.is_visible(), "the solution shows before it is clicked"
    solution.locator(".admonition-title, button.toggle-button").first.click()
    body.wait_for(state="visible", timeout=5000)
    assert "check_dtype" in body.inner_text()
    # the page shows the untouched starter's feedback, not the answer
    outputs = page.locator(".cell_output").all_inner_texts()
    assert any("还没有作答" in text for text in outputs)


def test_the_weekly_link_check_reads_the_built_pages(built_book):
    """tfbook.links, offline: the external links of the built pages (what the weekly workflow checks)."""
    assert built_book.returncode == 0
    found = links.external_links(HTML)
    assert "https://github.com/lyhue1991/eat_tensorflow2_in_30_days" in found
    assert found["https://github.com/lyhue1991/eat_tensorflow2_in_30_days"][0] == "index.html"
    for path in PAGES:
        assert f"{path}.html" in found[colab.colab_url(f"{path}.md")], f"{path}: its Colab link"
    assert not [u for u in found if u.startswith(f"{REPOSITORY}/edit/")], "the theme's buttons are not prose"
    assert links.broken("http://127.0.0.1:9/nothing", timeout=2).startswith("URLError"), "a dead link is reported"
