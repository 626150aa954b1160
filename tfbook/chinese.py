"""Chinese typography for the reader.

The sources wrap prose lines for review. A newline between two Chinese characters reaches the HTML (and
Colab's Markdown), where browsers draw it as a space: "怎样创建张量，␣怎样用索引". `join_lines` removes such
newlines; the book build applies it to the text of every paragraph (tfbook.sphinx_ext), the Colab notebooks
to their Markdown outside code (tfbook.colab). A newline next to a Latin letter stays a space, as it should.

`ascii_quotes` finds ASCII double quotes next to Chinese text, which Sphinx's smart quotes turn into two
closing quotes (”…”); the prose uses “…”.
"""

from __future__ import annotations

import re

# CJK ideographs, CJK punctuation (。，、“” …) and full-width forms (，：；（）)
CJK = "\u2018-\u201f\u2026\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
WRAPPED = re.compile(rf"(?<=[{CJK}])[ \t]*\n[ \t]*(?=[{CJK}])")
ASCII_QUOTE = re.compile(rf'[{CJK}]\s*"|"\s*[{CJK}]')
FENCE = re.compile(r"^(```|~~~)")
QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)*")  # a line's blockquote prefix
BLOCK = re.compile(r"[ \t]*(#|\||:::|```)")  # a heading, a table row, a fence: not prose


def join_lines(text: str) -> str:
    """Text with no newline between two Chinese characters."""
    return WRAPPED.sub("", text)


def join_markdown(markdown: str) -> str:
    """`join_lines` on Markdown: a line of a paragraph (or of a quoted paragraph, with the same `>`
    prefix) that begins with a Chinese character joins the line before it when that one ends with one.
    Fenced code, headings and table rows stay as they are."""
    out, fenced = [], False
    for line in markdown.split("\n"):
        if FENCE.match(line.lstrip().lstrip("> ")):
            fenced = not fenced
        elif not fenced and out:
            prefix = QUOTE.match(line).group()
            before, rest = out[-1], line[len(prefix) :].lstrip()
            if (
                QUOTE.match(before).group() == prefix
                and not BLOCK.match(before[len(prefix) :])
                and re.search(rf"[{CJK}]\s*$", before)
                and re.match(rf"[{CJK}]", rest)
            ):
                out[-1] = before.rstrip() + rest
                continue
        out.append(line)
    return "\n".join(out)


def ascii_quotes(prose: str) -> list[str]:
    """ASCII double quotes next to Chinese text (outside inline code), with their context."""
    bare = re.sub(r"`[^`\n]*`", "", prose)
    return [bare[max(0, m.start() - 8) : m.end() + 8] for m in ASCII_QUOTE.finditer(bare)]
