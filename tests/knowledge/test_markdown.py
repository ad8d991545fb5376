"""Article bodies are Markdown rendered and sanitised on save: an XSS corpus never reaches a page."""

from html.parser import HTMLParser

import pytest

from knowledge.services import render_markdown

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">点我</a>',
    "[点我](javascript:alert(1))",
    "[点我](JaVaScRiPt:alert(1))",
    "[点我](  javascript:alert(1))",
    "[点我](java&#115;cript:alert(1))",
    "[点我](&#106;avascript:alert(1))",
    "[点我](vbscript:msgbox(1))",
    "[点我](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![图](javascript:alert(1))",
    '![图](x" onerror="alert(1))',
    '[a](http://example.com" onmouseover="alert(1))',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "```\n</code><script>alert(1)</script>\n```",
    "<object data=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<details open ontoggle=alert(1)>",
    "[x](<javascript:alert(1)>)",
    "<a href='&#x6A;avascript:alert(1)'>x</a>",
    "<!-- <script>alert(1)</script> -->",
]

SAFE_SCHEMES = ("http:", "https:", "mailto:")
ACTIVE_TAGS = {"script", "iframe", "object", "embed", "style", "svg", "math", "form", "body", "details", "link", "meta"}


class _Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML (escaped text is only text)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def active_content(html: str) -> list[str]:
    """What would run: an element that executes or embeds, an event handler, a non-web URL."""
    parser = _Elements()
    parser.feed(html)
    problems = []
    for tag, attrs in parser.found:
        if tag in ACTIVE_TAGS:
            problems.append(tag)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                problems.append(f"{tag} {name}")
            if name in ("href", "src") and ":" in (value or "") and not value.strip().lower().startswith(SAFE_SCHEMES):
                problems.append(f"{tag} {name}={value}")
    return problems


@pytest.mark.parametrize("source", XSS_CORPUS)
def test_the_xss_corpus_never_renders_active_content(source):
    html = render_markdown(source)
    assert active_content(html) == [], html


def test_the_checker_sees_active_content():
    # The test above could not fail if this did not find what it looks for.
    assert active_content('<a href="javascript:x">a</a><img src=x onerror=y><script></script>') == [
        "a href=javascript:x",
        "img onerror",
        "script",
    ]


def test_ordinary_markdown_renders():
    html = render_markdown("## 步骤\n\n1. 打开**控制面板**\n2. 点击[帮助](https://example.com/help)\n\n`ipconfig`")
    assert "<h2>步骤</h2>" in html
    assert "<strong>控制面板</strong>" in html
    assert '<a href="https://example.com/help" rel="noopener noreferrer nofollow">帮助</a>' in html
    assert "<code>ipconfig</code>" in html


def test_a_typed_script_tag_stays_visible_text():
    assert render_markdown("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"


@pytest.mark.django_db
def test_saved_articles_keep_only_sanitised_html(write):
    article = write(
        problem="<img src=x onerror=alert(1)>", steps="[x](javascript:alert(1))", solution="<script>x</script>"
    )
    for html in (article.problem_html, article.steps_html, article.solution_html):
        assert active_content(html) == []
