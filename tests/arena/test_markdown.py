"""Model output is rendered as Markdown with no way to run script."""
from arena.markdown import render_markdown


def test_markdown_renders():
    html = render_markdown("# Title\n\n**bold** and `code`\n\n- a\n- b")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<li>a</li>" in html


def test_raw_html_and_script_are_escaped():
    html = render_markdown('<script>alert(1)</script><img src=x onerror="alert(2)">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_dangerous_links_are_dropped():
    html = render_markdown("[x](javascript:alert(1)) [y](https://example.org) [z](data:text/html,hi)")
    assert 'href="javascript' not in html and 'href="data' not in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
