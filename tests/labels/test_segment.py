from pathlib import Path

import pytest

from labels.segment import segment

SEEDS = Path(__file__).resolve().parents[2] / "labels" / "sources" / "seed"


def _seed(stem: str) -> str:
    return next(SEEDS.glob(f"{stem}_*.txt")).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.stem[:3])
def test_offsets_point_into_the_source(path):
    text = path.read_text(encoding="utf-8")
    seg = segment(text)
    assert seg.passages
    for p in seg.passages:
        assert text[p.start:p.end] == p.text
        assert p.text == p.text.strip()


def test_web_junk_is_dropped_from_real_articles():
    kept = " ".join(p.text for stem in ("000", "001", "002", "003", "004") for p in segment(_seed(stem)).passages)
    for junk in ("LEAVE A REPLY", "Latest stories", "BlackRock", "Subscribe", "premium content", "Sarah Thompson is a seasoned",
                 "AD 4nXf", "Getty Images", "Image Credit", "Topic: Security", "Please enter your comment", "About the Creator",
                 "There are no comments", "4.7 C", "Related Sources", "Peter Suciu is a Michigan-based writer"):
        assert junk not in kept, junk


def test_headlines_and_subheadings_are_not_passages():
    seg = segment(_seed("003"))
    texts = [p.text for p in seg.passages]
    assert "North Korea's March Towards Ukraine" not in texts
    assert "Is this the dawn of a global conflict?" not in texts
    assert any(d.text == "Historical Precedents" for d in seg.dropped)
    assert texts[0].startswith("Over the past months")


def test_list_items_are_passages_without_their_markers():
    seg = segment(_seed("004"))
    items = [p.text for p in seg.passages if p.text.startswith(("Frontline Engagement", "Support Roles", "Training and Observation"))]
    assert len(items) == 3
    bullets = [p.text for p in segment(_seed("000")).passages if "12,000 troops to Ukraine:**" in p.text]
    assert bullets and bullets[0].startswith("**North Korea")


def test_a_paragraph_repeated_as_the_conclusion_is_kept_once():
    seg = segment(_seed("001"))
    repeated = [p for p in seg.passages if p.text.startswith("Though Seoul could also provide small arms")]
    assert len(repeated) == 1
    assert any(d.reason == "repeated" for d in seg.dropped)


def test_hard_wrapped_paragraphs_are_joined_and_blank_lines_split():
    text = ("Headline Of The Story\n\nThe first paragraph runs on for a while and is wrapped at a\n"
            "fixed width by an email client, so it continues on this line.\n\n"
            "A second paragraph stands alone after a blank line and ends here.\n")
    seg = segment(text)
    assert [p.text.split()[0:2] for p in seg.passages] == [["The", "first"], ["A", "second"]]
    assert "continues on this line." in seg.passages[0].text
    assert text[seg.passages[0].start:seg.passages[0].end] == seg.passages[0].text


def test_captions_bylines_and_newsletter_prompts_are_dropped():
    text = ("By Jane Doe\n"
            "Soldiers unload crates at a rail depot near Khabarovsk. (Photo: Jane Doe/Agency)\n"
            "Officials in Seoul said the shipments continued through the winter months, citing satellite images.\n"
            "Subscribe to our newsletter for daily updates.\n")
    seg = segment(text)
    assert [p.text[:9] for p in seg.passages] == ["Officials"]
    assert {d.reason for d in seg.dropped} >= {"caption", "subscription"}


def test_non_string_input_is_a_type_error():
    with pytest.raises(TypeError, match="needs a str"):
        segment(None)


def test_body_text_that_looks_like_boilerplate_is_kept():
    text = ("By contrast, officials in Seoul said the treaty changed little on the ground and urged calm along the border.\n"
            "Recruiters promised Nepalis who sign up a signing bonus, a passport and a salary far above what they earn at home.\n"
            "By Jane Doe and Min-ji Park, Seoul correspondents\n")
    seg = segment(text)
    assert [p.text[:11] for p in seg.passages] == ["By contrast", "Recruiters "]
    assert [d.reason for d in seg.dropped] == ["byline"]


def test_a_long_unpunctuated_standfirst_above_the_first_passage_is_dropped():
    standfirst = ("Moscow's security deals in West Africa are read either as a business or as a grand design, "
                  "and the evidence examined here points to a business with ambitions beyond the balance sheet")
    body_without_stop = ("Officials in Bamako said the new contract covered guards for three mines and two airports and "
                         "that payment would come partly in gold from the northern concessions over the next five years")
    text = f"Gold and Garrisons\n{standfirst}\nBy Jane Roe\n\nThe first paragraph reports what happened on Monday.\n\n{body_without_stop}\n"
    seg = segment(text)
    assert [d.reason for d in seg.dropped if d.text == standfirst] == ["standfirst"]
    # below the first passage the same shape is a paragraph that lost its full stop, and is kept
    assert [p.text for p in seg.passages] == ["The first paragraph reports what happened on Monday.", body_without_stop]


def test_a_headline_ending_on_a_quotation_is_a_heading_not_a_passage():
    text = ('Kim tells troops back from Kursk they are "invincible"\n\nNorth Korea\'s leader praised the troops at a ceremony in Pyongyang on Monday, '
            'state media said.\n\nHe called them "the pride of the nation"\n')
    seg = segment(text)
    assert [(d.text, d.reason) for d in seg.dropped] == [('Kim tells troops back from Kursk they are "invincible"', "heading")]
    # below the first passage a line ending on a quotation stays a passage
    assert [p.text for p in seg.passages][-1] == 'He called them "the pride of the nation"'
