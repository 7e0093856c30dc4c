"""Tests for indexer.split: heading paths, fences, merging, splitting, ids and anchors."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from indexer.split import MarkdownSplitter, Section, slugify

ARTICLES = sorted((Path(__file__).resolve().parents[1] / "content" / "articles").glob("*.md"))
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
LONG = "This sentence pads the section so that it is comfortably above the merge threshold. " * 3


def words(text: str) -> int:
    return len(text.split())


def paragraph(label: str, count: int = 20) -> str:
    return " ".join(f"{label}{i}" for i in range(count))


def no_merge() -> MarkdownSplitter:
    return MarkdownSplitter(min_chars=0)


def test_nested_heading_paths() -> None:
    markdown = (
        "Intro text.\n\n# Top\nt\n## Roaming\nr\n### Outside the EU\no\n"
        "#### Rates\nrates\n## Billing ##\nb\n##### Deep skip\nd\n# Next\nn\n"
    )
    sections = no_merge().split(markdown)
    assert [s.heading_path for s in sections] == [
        (),
        ("Top",),
        ("Top", "Roaming"),
        ("Top", "Roaming", "Outside the EU"),
        ("Top", "Roaming", "Outside the EU", "Rates"),
        ("Top", "Billing"),
        ("Top", "Billing", "Deep skip"),
        ("Next",),
    ]
    assert [s.text for s in sections] == ["Intro text.", "t", "r", "o", "rates", "b", "d", "n"]
    assert [s.position for s in sections] == list(range(len(sections)))
    assert sections[0].anchor == ""
    assert sections[3].anchor == "outside-the-eu"


def test_not_headings_stay_text() -> None:
    markdown = "## Real\n#hashtag is text\n    # indented code\n####### seven hashes\n"
    [section] = no_merge().split(markdown)
    assert section.heading_path == ("Real",)
    assert section.text == "#hashtag is text\n    # indented code\n####### seven hashes"


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("```", "```"), ("~~~", "~~~"), ("```bash", "```"), ("~~~~ python {.x}", "~~~~~")],
)
def test_hash_lines_in_fences_are_not_headings(opening: str, closing: str) -> None:
    code = f"{opening}\n# not a heading\n## nor this\n{closing}"
    markdown = f"## Setup\nRun this:\n\n{code}\n## After\nx\n"
    sections = no_merge().split(markdown)
    assert [s.heading_path for s in sections] == [("Setup",), ("After",)]
    assert "# not a heading\n## nor this" in sections[0].text


def test_fence_closes_only_with_same_char_and_enough_length() -> None:
    markdown = (
        "## Code\n````md\n```\n# inner\n```\n~~~\n# still code\n````\n## Tilde\n"
        "~~~\n```\n# tilde code\n~~~\n## Last\nz\n"
    )
    sections = no_merge().split(markdown)
    assert [s.heading_path for s in sections] == [("Code",), ("Tilde",), ("Last",)]
    assert "# inner" in sections[0].text and "# still code" in sections[0].text
    assert "# tilde code" in sections[1].text


def test_unclosed_fence_runs_to_the_end() -> None:
    sections = no_merge().split("## A\n```\n# code\n## more code\n")
    assert [s.heading_path for s in sections] == [("A",)]


def test_tiny_section_merged_into_previous_sibling() -> None:
    markdown = f"## Roaming\n{LONG}\n## Fees\nNo fees.\n## Other\n{LONG}\n"
    sections = MarkdownSplitter().split(markdown)
    assert [s.heading_path for s in sections] == [("Roaming",), ("Other",)]
    assert sections[0].text.endswith("**Fees**\n\nNo fees.")


def test_tiny_child_merged_into_parent() -> None:
    sections = MarkdownSplitter().split(f"## Parent\n{LONG}\n### Child\nShort.\n")
    assert [s.heading_path for s in sections] == [("Parent",)]
    assert sections[0].text == f"{LONG.strip()}\n\n**Child**\n\nShort."


def test_tiny_section_without_previous_sibling_merged_into_next() -> None:
    markdown = f"## A\n### A1\n{LONG}\n## B\nShort.\n## C\n{LONG}\n"
    sections = MarkdownSplitter().split(markdown)
    assert [s.heading_path for s in sections] == [("A", "A1"), ("B",)]
    assert sections[1].text == f"Short.\n\n**C**\n\n{LONG.strip()}"
    assert sections[1].anchor == "b"


def test_tiny_intro_merged_into_next_keeps_empty_path() -> None:
    sections = MarkdownSplitter().split(f"Hello.\n\n## First\n{LONG}\n")
    assert [s.heading_path for s in sections] == [()]
    assert sections[0].text.startswith("Hello.\n\n**First**\n\n")
    assert sections[0].anchor == ""


def test_tiny_last_section_merged_backwards_into_anything() -> None:
    markdown = f"## A\n### A1\n{LONG}\n## B\nBye.\n"
    sections = MarkdownSplitter().split(markdown)
    assert [s.heading_path for s in sections] == [("A", "A1")]
    assert sections[0].text.endswith("**B**\n\nBye.")


def test_empty_parent_heading_stays_in_path_only() -> None:
    markdown = f"## Payments\n### By card\n{LONG}\n### By transfer\n{LONG}\n"
    sections = MarkdownSplitter().split(markdown)
    assert [s.heading_path for s in sections] == [
        ("Payments", "By card"),
        ("Payments", "By transfer"),
    ]


def test_dropped_parent_heading_survives_forward_merge() -> None:
    markdown = f"## A\nShort.\n## B\n### B1\n{LONG}\n"
    [section] = MarkdownSplitter().split(markdown)
    assert section.heading_path == ("A",)
    assert section.text == f"Short.\n\n**B**\n\n**B1**\n\n{LONG.strip()}"


def test_duplicate_titles_are_distinct_headings() -> None:
    markdown = f"## Details\n{LONG}\n## Details\nShort.\n"
    [section] = MarkdownSplitter().split(markdown)
    assert section.text.endswith("**Details**\n\nShort.")


def test_long_section_split_at_paragraph_boundaries() -> None:
    paragraphs = [paragraph(f"p{n}_") for n in range(7)]
    markdown = "## Long\n\n" + "\n\n".join(paragraphs) + "\n"
    splitter = MarkdownSplitter(max_tokens=50, min_chars=0, count_tokens=words)
    sections = splitter.split(markdown)
    assert len(sections) == 4
    assert all(words(s.text) <= 50 for s in sections)
    assert {s.heading_path for s in sections} == {("Long",)}
    assert {s.anchor for s in sections} == {"long"}
    assert [s.position for s in sections] == [0, 1, 2, 3]
    assert [p for s in sections for p in s.text.split("\n\n")] == paragraphs


def test_split_never_cuts_code_blocks_or_list_items() -> None:
    # 10 words + the start of the code block would fit in 20; the code must move as a whole.
    code = "```\n" + "\n\n".join(paragraph(f"c{n}_", 4) for n in range(3)) + "\n```"
    item = f"- {paragraph('i', 8)}\n\n  {paragraph('j', 8)}"
    markdown = f"{paragraph('a', 10)}\n\n{code}\n\n{item}\n- {paragraph('k', 8)}\n"
    splitter = MarkdownSplitter(max_tokens=20, min_chars=0, count_tokens=words)
    texts = [s.text for s in splitter.split(markdown)]
    assert code in texts
    assert any(item in text for text in texts)
    assert all(words(text) <= 20 for text in texts)


def test_oversized_code_block_is_kept_whole() -> None:
    code = "~~~\n" + "\n\n".join(paragraph(f"c{n}_", 10) for n in range(4)) + "\n~~~"
    splitter = MarkdownSplitter(max_tokens=20, min_chars=0, count_tokens=words)
    assert [s.text for s in splitter.split(f"## Code\n{code}\n")] == [code]


def test_tight_list_split_between_items() -> None:
    items = [f"- {paragraph(f'i{n}_', 8)}" for n in range(6)]
    splitter = MarkdownSplitter(max_tokens=20, min_chars=0, count_tokens=words)
    sections = splitter.split("\n".join(items))
    assert [s.text for s in sections] == ["\n".join(items[i : i + 2]) for i in range(0, 6, 2)]


def test_long_paragraph_split_at_sentence_boundaries() -> None:
    sentences = [f"Sentence {n} has exactly six words." for n in range(10)]
    splitter = MarkdownSplitter(max_tokens=15, min_chars=0, count_tokens=words)
    sections = splitter.split(" ".join(sentences))
    assert [s.text for s in sections] == [" ".join(sentences[i : i + 2]) for i in range(0, 10, 2)]


def test_run_on_sentence_split_at_words_to_fit() -> None:
    splitter = MarkdownSplitter(max_tokens=10, min_chars=0, count_tokens=words)
    sections = splitter.split(paragraph("w", 35))
    assert [words(s.text) for s in sections] == [10, 10, 10, 5]


def test_default_token_estimate_splits_long_articles() -> None:
    sections = MarkdownSplitter(max_tokens=100).split("\n\n".join([paragraph("x", 50)] * 4))
    assert len(sections) == 4


def test_article_without_headings_is_one_section() -> None:
    [section] = MarkdownSplitter().split("Just a short note.\n\nSecond paragraph.\n")
    assert section == Section(section.section_id, (), section.text, "", 0)
    assert section.text == "Just a short note.\n\nSecond paragraph."


def test_empty_article_has_no_sections() -> None:
    assert MarkdownSplitter().split("") == []
    assert MarkdownSplitter().split("\n  \n") == []


def test_ids_are_stable_and_content_addressed() -> None:
    markdown = f"## A\n{LONG}\n## B\n{LONG} B.\n"
    splitter = MarkdownSplitter()
    first = splitter.split(markdown, namespace="kb/en")
    again = splitter.split(markdown, namespace="kb/en")
    assert [s.section_id for s in first] == [s.section_id for s in again]
    assert all(re.fullmatch(r"[0-9a-f]{64}", s.section_id) for s in first)
    changed = splitter.split(markdown.replace("B.", "C."), namespace="kb/en")
    assert changed[0].section_id == first[0].section_id
    assert changed[1].section_id != first[1].section_id
    other_ns = splitter.split(markdown, namespace="kb/pl")
    assert not {s.section_id for s in other_ns} & {s.section_id for s in first}


def test_id_depends_on_heading_path() -> None:
    splitter = MarkdownSplitter(min_chars=0)
    [a] = splitter.split("## A\nsame text")
    [b] = splitter.split("## B\nsame text")
    assert a.section_id != b.section_id


def test_identical_sections_get_distinct_ids() -> None:
    splitter = MarkdownSplitter(max_tokens=5, min_chars=0, count_tokens=words)
    sections = splitter.split("one two three\n\none two three\n")
    assert len(sections) == 2
    assert sections[0].section_id != sections[1].section_id


def _strip_front_matter(text: str) -> str:
    return re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)


MIXED = f"""Short intro.

# Guide
## Empty parent
### Child one
{LONG}
```python
# comment, not a heading
x = 1
```
### Tiny
ok
## Lists
- {paragraph("l", 30)}
- {paragraph("m", 30)}

{paragraph("n", 90)}. And a sentence. {paragraph("o", 40)}
## Last
end
"""


def test_the_demo_articles_are_among_the_inputs() -> None:
    assert len(ARTICLES) >= 24  # else test_no_text_is_lost quietly runs on MIXED alone


@pytest.mark.parametrize("max_tokens", [20, 60, 450])
@pytest.mark.parametrize(
    "markdown",
    [MIXED, *(_strip_front_matter(path.read_text(encoding="utf-8")) for path in ARTICLES)],
)
def test_no_text_is_lost(markdown: str, max_tokens: int) -> None:
    sections = MarkdownSplitter(max_tokens=max_tokens).split(markdown, namespace="ns")
    headings: list[str] = []
    body = Counter[str]()
    in_code = False
    for line in markdown.splitlines():
        # A plain toggle is enough here: the test inputs only use simple ``` / ~~~ fences.
        in_code ^= line.lstrip().startswith(("```", "~~~"))
        match = None if in_code else HEADING.match(line)
        if match:
            headings.append(match[1])
        else:
            body.update(line.split())
    output = Counter(word for s in sections for word in s.text.split())
    assert not body - output, "words missing from the output"
    for title in headings:
        in_path = any(title in s.heading_path for s in sections)
        assert in_path or any(f"**{title}**" in s.text for s in sections), title
    assert [s.position for s in sections] == list(range(len(sections)))


@pytest.mark.parametrize(
    ("title", "anchor"),
    [
        ("Outside the EU", "outside-the-eu"),
        ("Płatności za granicą", "płatności-za-granicą"),
        ("Zwrot środków: jak to działa?", "zwrot-środków-jak-to-działa"),
        ("Роумінг за межами ЄС", "роумінг-за-межами-єс"),
        ("Як змінити пароль Wi-Fi?", "як-змінити-пароль-wi-fi"),
        ("Zwrot s\u0301rodko\u0301w", "zwrot-środków"),
        ("See [the app](https://example.com) now", "see-the-app-now"),
        ("  Spaces  &  symbols  ", "spaces-symbols"),
    ],
)
def test_unicode_anchor(title: str, anchor: str) -> None:
    assert slugify(title) == anchor
    [section] = no_merge().split(f"## {title}\ntext\n")
    assert section.anchor == anchor


def test_invalid_settings_rejected() -> None:
    with pytest.raises(ValueError):
        MarkdownSplitter(max_tokens=0)
    with pytest.raises(ValueError):
        MarkdownSplitter(min_chars=-1)
