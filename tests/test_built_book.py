"""The built book: the README's build command, then the rendered pages in a real browser (Debian's
Chromium, driven by Playwright, on localhost). `make test` runs this module in a second pytest run
(-m built_book), after the first has executed every page into the execution cache: the build renders
from that cache and executes nothing.

Checks every page of _build/html (built by the `built_book` fixture, from the execution cache):
title, no error output, images loaded, figures present, Colab and source links, internal links,
the skipped-cell notes, formulas; the search (Chinese and API names); screenshots for maintainers in
_build/screenshots/. No test depends on pixels.
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

from tfbook import colab, devices
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
ALL = ["index", *PAGES, "appendix/api_changes"]
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
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)


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
        assert page.locator("p.colab-badge a").get_attribute("href") == colab.colab_url(f"{path}.md")
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
