from html.parser import HTMLParser

from reports.html import SECTIONS, highlight


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.refs, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for key in ("src", "href", "action", "data", "xlink:href"):
            if attrs.get(key):
                self.refs.append(attrs[key])


def test_page_has_every_section_and_nothing_external(fast_report):
    _, out = fast_report
    page = (out / "report.html").read_text()
    c = Collector()
    c.feed(page)
    assert [i for i in c.ids if i in dict(SECTIONS)] == [sid for sid, _ in SECTIONS]
    assert all(ref.startswith("#") for ref in c.refs), c.refs
    assert "script" not in c.tags and "link" not in c.tags and "img" not in c.tags
    assert c.tags.count("svg") >= 6  # confusion matrices, reliability diagrams, learning curve
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # passage text is escaped, never markup
    assert "default-src 'none'" in page


def test_highlight_marks_words_by_weight_and_escapes():
    text = "<b> war"
    expl = {"words": [{"start": 0, "end": 3, "word": "<b>", "weight": 0.0}, {"start": 4, "end": 7, "word": "war", "weight": 0.4}]}
    out = highlight(text, expl)
    assert out.startswith("&lt;b&gt; <mark") and "rgba(220,40,40,0.65)" in out and ">war</mark>" in out
    negative = highlight("war", {"words": [{"start": 0, "end": 3, "word": "war", "weight": -0.2}]})
    assert "rgba(40,90,220" in negative


def test_no_report_value_is_trusted_as_markup(fast_report):
    from reports.html import render

    report, _ = fast_report
    planted = "<td class='num'><script>alert(2)</script>"
    report = {**report, "where_it_errs": {**report["where_it_errs"]}}
    field, table = next(iter(report["where_it_errs"]["breakdowns"].items()))
    report["where_it_errs"]["breakdowns"] = {field: [{**table[0], "value": planted}] + table[1:]}
    report["summary"] = {**report["summary"], "source": "<b>bold</b>"}
    page = render(report)
    assert "<script>alert(2)" not in page and "&lt;td class=&#39;num&#39;&gt;&lt;script&gt;alert(2)" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
