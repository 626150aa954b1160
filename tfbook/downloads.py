"""What readers take away from the site: every page's notebook, and all of them in one zip.

The book build (tfbook.sphinx_ext, at build-finished) writes into the built site:
    _notebooks/chapters/<chapter>/<page>.ipynb   the page's Colab notebook (tfbook.colab: no outputs,
                                                 the setup cell, checks folded), linked beside its badge
    _notebooks/tensorflow2-book-notebooks.zip    all of them, with requirements.txt, the data catalogue
                                                 and a README on running them on one's own machine
The theme's own download button would ship the executed notebook, every hidden check in it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tfbook import colab
from tfbook.pages import ROOT

FOLDER = "_notebooks"  # in the built site
ZIP = "tensorflow2-book-notebooks.zip"
TOP = "tensorflow2-book"  # the folder the zip unpacks into

README = """\
# 可执行的 TensorFlow 2 笔记：全部 notebook

每个 notebook 对应书中的一页（{url}），与“在 Colab 中打开”的 notebook 相同，没有输出：请自己运行。

在自己的电脑上运行（需要 Python 3.13）：

```bash
python3.13 -m venv .venv
.venv/bin/pip install -r requirements.txt   # 书测试时用的版本（Windows: .venv\\Scripts\\pip）
.venv/bin/jupyter lab chapters/
```

每页从一个空文件夹运行即可：用到的数据集由页面自己下载到 notebook 旁边的 `data/` 文件夹
（数据清单见 `data/README.md`）。第一个代码单元（设置单元）只在 Colab 里起作用，在别处什么也不做。
5.7 节（PySpark）还需要 Java 17 或更新版本。
"""


def notebook_href(page: str) -> str:
    """Where a page's notebook is in the built site (relative to its root)."""
    return f"{FOLDER}/{colab.notebook_path(page)}"


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(f"{TOP}/{name}", date_time=(2026, 1, 1, 0, 0, 0))  # the same bytes every build
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def write(site: Path, root: Path = ROOT) -> list[str]:
    """Write every notebook and the zip into the built site; return the notebooks' paths."""
    folder = Path(site) / FOLDER
    written = colab.write_all(folder, root)
    with zipfile.ZipFile(folder / ZIP, "w") as archive:
        for path in written:
            _add(archive, path, (folder / path).read_bytes())
        _add(archive, "requirements.txt", (root / "requirements.txt").read_bytes())
        _add(archive, "data/README.md", (root / "data" / "README.md").read_bytes())
        _add(archive, "README.md", README.format(url=colab.book_url(root)).encode())
    return written
