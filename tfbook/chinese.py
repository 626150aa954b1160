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


def join_lines(text: str) -> str:
    """Text with no newline between two Chinese characters."""
    return WRAPPED.sub("", text)


def join_markdown(markdown: str) -> str:
    """`join_lines` on Markdown, outside fenced code blocks and inline code."""
    out, block, fenced = [], [], False

    def flush():
        if block:
            parts = re.split(r"(`[^`\n]*`)", "\n".join(block))
            out.append("".join(p if p.startswith("`") else join_lines(p) for p in parts))
            block.clear()

    for line in markdown.split("\n"):
        if FENCE.match(line.lstrip()):
            flush()
            out.append(line)
            fenced = not fenced
        elif fenced:
            out.append(line)
        else:
            block.append(line)
    flush()
    return "\n".join(out)


def ascii_quotes(prose: str) -> list[str]:
    """ASCII double quotes next to Chinese text (outside inline code), with their context."""
    bare = re.sub(r"`[^`\n]*`", "", prose)
    return [bare[max(0, m.start() - 8) : m.end() + 8] for m in ASCII_QUOTE.finditer(bare)]
