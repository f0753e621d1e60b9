"""Rendering course Markdown (lessons, and the stems, choices and explanations of questions) to HTML.

Raw HTML in content is not passed through: it shows as text.
"""
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """Blocks: paragraphs, lists, tables, block quotes and the rest of the lesson subset."""
    return Markup(_md.render(text))


def render_inline(text: str) -> Markup:
    """One line of the same subset, without its blocks (emphasis, code, links): for a choice, inside its label."""
    return Markup(_md.renderInline(text))
