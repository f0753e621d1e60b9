"""Rendering course Markdown (lessons, and the stems, choices and explanations of questions) to HTML.

Raw HTML in content is not passed through: it shows as text.
"""
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def _table_open(renderer, tokens, idx, options, env):
    # A wide table scrolls inside a region of its own, which a keyboard can focus and a screen reader names.
    env["tables"] = env.get("tables", 0) + 1
    tokens[idx].attrSet("class", "usa-table usa-table--compact")
    return (f'<div class="rc-table-wrap" role="region" tabindex="0" aria-label="Table {env["tables"]}">'
            + renderer.renderToken(tokens, idx, options, env))


def _table_close(renderer, tokens, idx, options, env):
    return renderer.renderToken(tokens, idx, options, env) + "</div>"


_md.add_render_rule("table_open", _table_open)
_md.add_render_rule("table_close", _table_close)


def render_markdown(text: str, *, below: int = 0) -> Markup:
    """Blocks: paragraphs, lists, tables, block quotes and the rest of the lesson subset. With `below`, every
    heading is that many levels lower (a # heading an h2 with 1), to sit under the page's own h1."""
    env: dict = {}
    tokens = _md.parse(text, env)
    if below:
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(int(token.tag[1]) + below, 6)}"
    return Markup(_md.renderer.render(tokens, _md.options, env))


def render_inline(text: str) -> Markup:
    """One line of the same subset, without its blocks (emphasis, code, links): for a choice, inside its label."""
    return Markup(_md.renderInline(text))
