"""The exercises at the end of every page (its `## 练习` section).

A page writes, per exercise: the task (a sphinx-exercise `{exercise}` directive), a hidden cell that
defines its check (`@exercise`, raising `Wrong` with what is wrong), a starter cell the reader fills in
(the blank is `...`) that calls the check, a hint (a dropdown `{hint}`), a reference solution (a code cell
between `{solution-start}` and `{solution-end}`, collapsed until clicked), and hidden cells that prove the
check right: `expect(check, "starter")` after the untouched starter, `expect(check, "solution")` after the
solution, and `expect(check, "wrong", says=...)` after a typical wrong answer given to the check with
`quiet=True`. The check judges behaviour (values, shapes, trace counts), never source text.

The proofs assert only in the book's own runs (the page runner and the Colab runtime tests set
TFBOOK_PAGE_RUN for the kernel): in a reader's notebook the starter is no longer untouched.

`add_helper` puts HELPER (what `@exercise` and `expect` are) into the notebook as a hidden cell before the
section, and a last hidden cell that fails the page if an exercise lacks one of its three proofs. The
page's build and tests (tfbook.pages) and its Colab notebook (tfbook.colab) both get them, so a notebook
needs nothing of ours.
"""

from __future__ import annotations

import re

import nbformat

SECTION = re.compile(r"^## 练习\s*$", re.M)

HELPER = '''\
# 练习的检查：check(你的答案) 打印 ✔ 和理由，或 ✘ 和你的答案哪里不对。
import os as _os

# the book's own runs prove every check; in a reader's notebook expect() does nothing
_PROVING = bool(_os.environ.get("TFBOOK_PAGE_RUN"))


class Wrong(Exception):
    """答案不对：消息说明哪里不对。"""


def _blank(value):
    """The reader has not answered yet: `...`, or a `...` left in a list, tuple or dict of answers."""
    if value is Ellipsis:
        return True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return any(item is Ellipsis for item in items)


class _Check:
    def __init__(self, judge):
        self.judge, self.last, self.proved = judge, None, set()
        _CHECKS.append(self)

    def __call__(self, *answer, quiet=False):
        if any(_blank(value) for value in answer):
            ok, message = False, "还没有作答：把 ... 换成你的代码，再运行这个单元。"
        else:
            try:
                ok, message = True, self.judge(*answer)
            except Wrong as wrong:
                ok, message = False, str(wrong)
            except Exception as error:  # the reader's code failed: say how, no traceback
                kind = type(error).__name__
                ok, message = False, f"运行你的答案时出错：{kind}: {error}"
        self.last = (ok, message)
        if not quiet:
            print(("✔ " if ok else "✘ ") + message)


_CHECKS = []


def exercise(judge):
    """A check: judge(*answer) returns why the answer is right, or raises Wrong."""
    return _Check(judge)


def expect(check, kind, says=""):
    """Prove a check: the last answer it saw passed ("solution") or failed
    ("starter", "wrong") with a message that contains `says`."""
    if not _PROVING:
        return
    ok, message = check.last
    assert ok == (kind == "solution"), f"{check.judge.__name__} ({kind}): {message}"
    assert message and says in message, f"{check.judge.__name__}: {message!r}"
    check.proved.add(kind)
'''

ALL_PROVED = """\
for _check in _CHECKS if _PROVING else []:
    _missing = {"starter", "solution", "wrong"} - _check.proved
    assert not _missing, f"{_check.judge.__name__}: no proof of {_missing}"
"""


def _hidden(source: str, role: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["remove-cell"], "tfbook": role})


def section_start(nb) -> int | None:
    """The index of the markdown cell that opens the page's 练习 section."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and SECTION.search(cell.source):
            return index
    return None


def add_helper(nb, lines: list | None = None):
    """Insert HELPER after the cell that opens the 练习 section and the proof of all checks at the end
    (keeping `lines`, MyST-NB's source map, aligned). A page without the section is left as it is."""
    start = section_start(nb)
    if start is None:
        return nb
    nb.cells.insert(start + 1, _hidden(HELPER, "exercise-helper"))
    nb.cells.append(_hidden(ALL_PROVED, "exercise-proofs"))
    if lines is not None:
        lines.insert(start + 1, lines[start])
        lines.append(lines[-1])
    return nb
