"""The external links of the built book, and which of them are broken (the weekly link check).

    python -m tfbook.links _build/html REPORT.md    # exit 1 and a Markdown report when a link is broken

Links are taken from what readers read on every page (its article: prose, outputs), not from the
theme's buttons; the book's own site and the Colab links to its notebooks (published by the book workflow)
are checked like any other link.
"""

from __future__ import annotations

import html
import re
import sys
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LINK = re.compile(r'<a\s[^>]*href="(https?://[^"]+)"')
AGENT = "Mozilla/5.0 (tensorflow2-book link check)"


def external_links(site: Path) -> dict[str, list[str]]:
    """{url: [pages that link it]} over every page of the built site."""
    found = defaultdict(list)
    for page in sorted(Path(site).rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        article = text[text.find('<article class="bd-article"') : text.find("</article>")]
        for url in sorted({html.unescape(u).split("#")[0] for u in LINK.findall(article)}):
            found[url].append(page.relative_to(site).as_posix())
    return dict(found)


def broken(url: str, timeout: float = 20) -> str | None:
    """Why a URL is broken, or None. GET, as some servers refuse HEAD; two tries."""
    for _ in range(2):
        try:
            request = urllib.request.Request(url, headers={"User-Agent": AGENT})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return None if response.status < 400 else f"HTTP {response.status}"
        except urllib.error.HTTPError as err:
            reason = f"HTTP {err.code}"
            if err.code in (403, 429):  # refuses robots, or rate-limits: alive
                return None
        except Exception as err:  # DNS, TLS, timeout
            reason = f"{type(err).__name__}: {err}"
    return reason


def report(site: Path) -> str:
    links = external_links(site)
    with ThreadPoolExecutor(8) as pool:
        results = dict(zip(links, pool.map(broken, links), strict=True))
    bad = {url: why for url, why in results.items() if why}
    if not bad:
        return ""
    lines = [f"{len(bad)} of {len(links)} external links of the book are broken:", ""]
    lines += [f"- {url} ({why}), on: {', '.join(links[url])}" for url, why in sorted(bad.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tfbook.links SITE REPORT.md")
    text = report(Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(text, encoding="utf-8")
    print(text or "every external link works")
    sys.exit(1 if text else 0)
