"""Rendering one knowledge-base section for chat, email, phone and social, in four languages."""

import re
from html import escape
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from markdown_it import MarkdownIt

from kb_service.rendering import (
    Channel,
    ChatRendering,
    EmailRendering,
    PhoneRendering,
    RenderInput,
    SocialRendering,
    render,
    render_no_answer,
)
from kb_service.rendering._doc import Block, Run, strip_tag_like
from kb_service.rendering.markup import _TAGS, blocks_to_markdown, to_blocks, to_html, to_text
from kb_service.rendering.phone import MAX_SECONDS
from kb_service.rendering.social import MAX_CHARS

CHANNELS: list[Channel] = ["chat", "email", "phone", "social"]
URL = "https://help.example.com/kb/KB-0042"

SECTIONS = {
    "en-GB": (
        "Reset your password",
        "To reset your password, follow these steps.\n\n"
        "1. Open **Settings** in the [portal](https://example.com/portal).\n"
        "2. Choose *Security*.\n"
        "3. Enter the code from the SMS.\n",
    ),
    "pl-PL": (
        "Resetowanie hasła",
        "Aby zresetować hasło, wykonaj poniższe kroki.\n\n"
        "1. Otwórz **Ustawienia** w [portalu](https://example.com/portal).\n"
        "2. Wybierz *Bezpieczeństwo*.\n"
        "3. Wpisz kod z wiadomości SMS.\n",
    ),
    "sl-SI": (
        "Ponastavitev gesla",
        "Če želite ponastaviti geslo, sledite tem korakom.\n\n"
        "1. Odprite **Nastavitve** na [portalu](https://example.com/portal).\n"
        "2. Izberite *Varnost*.\n"
        "3. Vnesite kodo iz sporočila SMS.\n",
    ),
    "uk-UA": (
        "Скидання пароля",
        "Щоб скинути пароль, виконайте ці кроки.\n\n"
        "1. Відкрийте **Налаштування** на [порталі](https://example.com/portal).\n"
        "2. Виберіть *Безпека*.\n"
        "3. Введіть код із SMS.\n",
    ),
}

HOSTILE = (
    "Read this first. <script>alert(1)</script>\n\n"
    "<img src=x onerror=alert(1)>\n\n"
    "Click [x](javascript:alert(1)) or [y](&#106;avascript:alert(2)) now.\n\n"
    '<a href="javascript:alert(3)" onclick="alert(4)">z</a> and <iframe src="https://evil"></iframe>\n'
)

LONG_SENTENCE = "Please check that the router is switched on and the cable is firmly plugged in."
LONG = (
    "\n\n".join([LONG_SENTENCE] * 30)
    + "\n\n"
    + "\n".join(
        f"{n}. Press the button number {n} and wait until the light turns green."
        for n in range(1, 20)
    )
)


def make(locale: str = "en-GB", markdown: str | None = None, **overrides: str) -> RenderInput:
    title, section = SECTIONS.get(locale, SECTIONS["en-GB"])
    fields: dict[str, object] = {
        "locale": locale,
        "article_key": "KB-0042",
        "article_title": title,
        "heading_path": [title, "Steps"],
        "markdown": section if markdown is None else markdown,
        "article_url": URL,
    }
    fields.update(overrides)
    return RenderInput.model_validate(fields)


def all_strings(rendering: object) -> str:
    assert hasattr(rendering, "model_dump")
    return "\n".join(str(value) for value in rendering.model_dump().values())


# --- every channel in every language -------------------------------------------------------


@pytest.mark.parametrize("locale", list(SECTIONS))
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_renders_every_language(channel: Channel, locale: str) -> None:
    result = render(channel, make(locale))
    assert result.channel == channel
    first_word = SECTIONS[locale][1].split()[0]
    assert first_word in all_strings(result)


@pytest.mark.parametrize(
    ("locale", "found", "read_full"),
    [
        ("en-GB", "Here is what I found", "Read the full article"),
        ("pl-PL", "Oto, co udało mi się znaleźć", "Przeczytaj cały artykuł"),
        ("sl-SI", "Tole mi je uspelo najti", "Preberite celoten članek"),
        ("uk-UA", "Ось що вдалося знайти", "Прочитайте статтю повністю"),
    ],
)
def test_chat_is_localised_and_ends_with_the_article_link(
    locale: str, found: str, read_full: str
) -> None:
    chat = render("chat", make(locale))
    assert isinstance(chat, ChatRendering)
    assert chat.markdown.startswith(found)
    assert chat.markdown.rstrip().endswith(f"[{read_full}]({URL})")
    assert chat.link == URL
    assert f'href="{URL}"' in chat.html
    assert 'rel="noopener noreferrer"' in chat.html


def test_unknown_language_falls_back_to_english() -> None:
    email = render("email", make("de-DE"))
    assert isinstance(email, EmailRendering)
    assert email.text.startswith("Hello,")
    assert email.subject.startswith("Answer: ")


# --- chat -----------------------------------------------------------------------------------


def test_chat_keeps_steps_as_a_list() -> None:
    chat = render("chat", make("pl-PL"))
    assert isinstance(chat, ChatRendering)
    first_step = "\n1. Otwórz **Ustawienia** w [portalu](https://example.com/portal).\n2. "
    assert first_step in chat.markdown
    assert "<ol>" in chat.html and chat.html.count("<li>") == 3


def test_chat_is_trimmed_at_a_boundary_for_a_long_section() -> None:
    chat = render("chat", make(markdown=LONG))
    assert isinstance(chat, ChatRendering)
    body = chat.markdown.split("\n\n")[1:-1]
    assert body, "some of the section must remain"
    assert sum(len(part) for part in body) <= 720
    assert all(part == LONG_SENTENCE for part in body)  # whole sentences only
    assert chat.markdown.endswith(f"({URL})")


def test_chat_cuts_a_single_long_paragraph_at_a_sentence_end() -> None:
    paragraph = " ".join(f"Sentence number {n} explains one more detail." for n in range(60))
    chat = render("chat", make(markdown=paragraph))
    assert isinstance(chat, ChatRendering)
    body = chat.markdown.split("\n\n")[1]
    assert 500 < len(body) <= 700
    assert body.endswith("detail.")


# --- email ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "greeting", "closing", "prefix"),
    [
        ("en-GB", "Hello,", "Kind regards,", "Answer"),
        ("pl-PL", "Dzień dobry,", "Z poważaniem,", "Odpowiedź"),
        ("sl-SI", "Pozdravljeni,", "Lep pozdrav,", "Odgovor"),
        ("uk-UA", "Доброго дня!", "З повагою,", "Відповідь"),
    ],
)
def test_email_greeting_sign_off_and_subject_per_language(
    locale: str, greeting: str, closing: str, prefix: str
) -> None:
    email = render("email", make(locale))
    assert isinstance(email, EmailRendering)
    assert email.subject == f"{prefix}: {SECTIONS[locale][0]}"
    assert email.text.startswith(greeting)
    assert closing in email.text and closing in email.html
    assert greeting in email.html
    assert "KB-0042" in email.text and "KB-0042" in email.html
    assert URL in email.text and f'href="{URL}"' in email.html


def test_email_greetings_and_sign_offs_all_differ() -> None:
    emails = [render("email", make(locale)) for locale in SECTIONS]
    firsts = {e.text.split("\n", 1)[0] for e in emails if isinstance(e, EmailRendering)}
    lasts = {e.text.rsplit("\n", 2)[-2] for e in emails if isinstance(e, EmailRendering)}
    assert len(firsts) == 4 and len(lasts) == 4


def test_email_plain_text_has_no_markup_and_keeps_list_lines() -> None:
    email = render("email", make())
    assert isinstance(email, EmailRendering)
    assert "\n1. Open Settings in the portal (https://example.com/portal).\n2. Choose" in email.text
    for syntax in ("**", "](", "<", "*Security*"):
        assert syntax not in email.text


def test_email_subject_is_a_single_line_without_tags() -> None:
    email = render("email", make(article_title="Reset\r\nBcc: x@example.com <b>now</b>"))
    assert isinstance(email, EmailRendering)
    assert email.subject == "Answer: Reset Bcc: x@example.com now"


# --- phone ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "spoken"),
    [
        ("en-GB", "K B, zero zero four two"),
        ("pl-PL", "K B, zero zero cztery dwa"),
        ("sl-SI", "K B, nič nič štiri dva"),
        ("uk-UA", "K B, нуль нуль чотири два"),
    ],
)
def test_article_key_is_spelled_out(locale: str, spoken: str) -> None:
    phone = render("phone", make(locale))
    assert isinstance(phone, PhoneRendering)
    assert phone.spoken_key == spoken
    assert spoken in phone.script


def test_every_digit_is_spelled() -> None:
    phone = render("phone", make(article_key="ab-1234567890"))
    assert isinstance(phone, PhoneRendering)
    assert phone.spoken_key == "A B, one two three four five six seven eight nine zero"


@pytest.mark.parametrize(
    ("locale", "first", "then", "last"),
    [
        ("en-GB", "First, open Settings", "Then, choose Security.", "Finally, enter the code"),
        ("pl-PL", "Najpierw otwórz Ustawienia", "Następnie wybierz", "Na koniec wpisz kod"),
        ("sl-SI", "Najprej odprite Nastavitve", "Nato izberite", "Na koncu vnesite"),
        ("uk-UA", "Спочатку відкрийте Налаштування", "Потім виберіть", "Насамкінець введіть"),
    ],
)
def test_phone_speaks_lists_as_steps(locale: str, first: str, then: str, last: str) -> None:
    phone = render("phone", make(locale))
    assert isinstance(phone, PhoneRendering)
    script = phone.script
    assert first in script and then in script and last in script
    assert script.index(first) < script.index(then) < script.index(last)


def test_two_item_list_is_first_then() -> None:
    phone = render("phone", make(markdown="- Restart the phone.\n- Try again."))
    assert isinstance(phone, PhoneRendering)
    assert "First, restart the phone.\nThen, try again." in phone.script
    assert "Finally" not in phone.script


@pytest.mark.parametrize("markdown", [SECTIONS["en-GB"][1], LONG, HOSTILE])
def test_phone_script_has_no_urls_or_markup(markdown: str) -> None:
    # The markup paragraph goes first: at the end, LONG's trimming would cut it off unread.
    text = (
        "See https://example.com/a or www.example.com, "
        "`code`, # hash, <b>bold</b> and \\[x\\].\n\n" + markdown
    )
    expected = "See (link in the article) or (link in the article), code, hash, bold and x."
    phone = render("phone", make(markdown=text))
    assert isinstance(phone, PhoneRendering)
    for forbidden in ("http", "www", "**", "#", "[", "](", "<", "`", "javascript", "alert"):
        assert forbidden not in phone.script, forbidden
    assert expected in phone.script


def test_phone_long_section_fits_one_minute_and_points_to_the_article() -> None:
    phone = render("phone", make(markdown=LONG))
    assert isinstance(phone, PhoneRendering)
    assert phone.estimated_seconds <= MAX_SECONDS
    assert len(phone.script.split()) <= 150
    assert phone.estimated_seconds > 45  # it was filled, not emptied
    lines = phone.script.split("\n")
    assert lines[-2] == (
        "You will find the remaining details in the full article in our help centre."
    )
    assert lines[-1] == "The article number is K B, zero zero four two."
    assert all(line.endswith(".") for line in lines)


def test_phone_estimate_matches_150_words_per_minute() -> None:
    phone = render("phone", make())
    assert isinstance(phone, PhoneRendering)
    assert phone.estimated_seconds == pytest.approx(len(phone.script.split()) * 0.4, abs=0.05)


def test_ssml_is_well_formed_with_breaks_between_steps() -> None:
    import xml.etree.ElementTree as ET

    phone = render("phone", make(markdown='1. Use A & B.\n2. Type <3 then "ok".\n3. Done.'))
    assert isinstance(phone, PhoneRendering)
    root = ET.fromstring(phone.ssml)
    assert root.tag == "speak"
    assert root.attrib["{http://www.w3.org/XML/1998/namespace}lang"] == "en-GB"
    assert len(root.findall("break")) == len(phone.script.split("\n")) - 1
    assert "A &amp; B" in phone.ssml


# --- social ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", list(SECTIONS))
def test_social_long_section_fits_280_with_full_link(locale: str) -> None:
    social = render("social", make(locale, markdown=LONG))
    assert isinstance(social, SocialRendering)
    assert len(social.text) <= MAX_CHARS
    assert social.text.endswith(" " + URL)
    assert social.text.startswith(LONG_SENTENCE)


def test_social_never_cuts_a_word() -> None:
    words = [f"word{n}" for n in range(200)]
    social = render("social", make(markdown=" ".join(words)))
    assert isinstance(social, SocialRendering)
    snippet = social.text.removesuffix(" " + URL)
    assert snippet.endswith("…") and len(social.text) <= MAX_CHARS
    assert all(token in words for token in snippet.removesuffix("…").split())


def test_social_is_plain_text() -> None:
    social = render("social", make())
    assert isinstance(social, SocialRendering)
    assert social.text.startswith("To reset your password, follow these steps. Open Settings")
    for syntax in ("**", "](", "<", "*"):
        assert syntax not in social.text


def test_unsafe_article_url_is_never_used() -> None:
    inp = make(article_url="javascript:alert(1)")
    for channel in CHANNELS:
        assert "javascript:" not in all_strings(render(channel, inp))


# --- hostile Markdown ---------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_hostile_markdown_is_inert_everywhere(channel: Channel) -> None:
    output = all_strings(render(channel, make(markdown=HOSTILE))).lower()
    for needle in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<img", "alert("):
        assert needle not in output, needle
    assert "read this first." in output


def test_hostile_markdown_keeps_harmless_text_in_html() -> None:
    chat = render("chat", make(markdown=HOSTILE))
    email = render("email", make(markdown=HOSTILE))
    assert isinstance(chat, ChatRendering) and isinstance(email, EmailRendering)
    for html in (chat.html, email.html):
        assert "Click" in html and "now." in html
        assert re.search(r"<a rel=\"noopener noreferrer\">x</a>|\bx\b", html)


def test_markup_helpers() -> None:
    html = to_html("**a** <b onmouseover=alert(1)>b</b> [c](https://c.example)")
    assert html == (
        "<p><strong>a</strong> <b>b</b> "
        '<a href="https://c.example" rel="noopener noreferrer">c</a></p>'
    )
    assert to_text("- one\n- two\n    - nested") == "- one\n- two\n  - nested"
    kinds = [block.kind for block in to_blocks("# H\n\nText.\n\n1. a\n2. b\n\n```\nx\n```")]
    assert kinds == ["heading", "paragraph", "item", "item", "code"]
    assert to_text("Escaped &lt;script&gt;x&lt;/script&gt; text") == "Escaped x text"


# --- abstention -----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", list(SECTIONS))
def test_no_answer_is_localised_for_every_channel(locale: str) -> None:
    results = {channel: render_no_answer(channel, locale) for channel in CHANNELS}
    assert {channel: r.channel for channel, r in results.items()} == {c: c for c in CHANNELS}
    english = {c: all_strings(render_no_answer(c, "en-GB")) for c in CHANNELS}
    for channel, result in results.items():
        assert (all_strings(result) == english[channel]) == (locale == "en-GB")
    phone = results["phone"]
    assert isinstance(phone, PhoneRendering) and phone.estimated_seconds > 0


def test_no_answer_messages_say_what_to_do() -> None:
    chat = render_no_answer("chat", "en-US")
    email = render_no_answer("email", "pl-PL")
    phone = render_no_answer("phone", "sl-SI")
    social = render_no_answer("social", "uk-UA")
    assert isinstance(chat, ChatRendering) and "connect you with an agent" in chat.markdown
    assert isinstance(email, EmailRendering) and "samodzielnie" in email.text
    assert isinstance(phone, PhoneRendering) and "strokovnjaku" in phone.script
    assert isinstance(social, SocialRendering) and "особисті повідомлення" in social.text


def test_chat_markdown_keeps_literal_characters_literal() -> None:
    section = "Type \\*\\*not bold\\*\\* and a &lt;tag, then \\# and 1 &lt; 2."
    chat = render("chat", make(markdown=section))
    assert isinstance(chat, ChatRendering)
    assert "<p>Type **not bold** and a &lt;tag, then # and 1 &lt; 2.</p>" in chat.html
    assert "<strong>not" not in chat.html


def test_empty_section_and_relative_link_still_render() -> None:
    inp = make(markdown="", article_url="/kb/KB-0042")
    for channel in CHANNELS:
        assert render(channel, inp).channel == channel
    chat = render("chat", inp)
    social = render("social", inp)
    assert isinstance(chat, ChatRendering) and chat.link == "/kb/KB-0042"
    assert isinstance(social, SocialRendering) and social.text == "/kb/KB-0042"


# --- chat Markdown in a client's CommonMark renderer -----------------------------------------
# Chat clients render `markdown` themselves (marked, markdown-it), often with raw HTML on. The
# serialised Markdown must stay inert there: code stays code, text stays text.

HOSTILE_ARTICLES = {
    "tilde_line_in_backtick_fence": (
        "Intro.\n\n```\n~~~~\n<script src=//evil.example/x.js\n"
        "[x](javascript:alert(1))\n~~~~\n```\n"
    ),
    "backtick_and_tilde_lines_in_tilde_fence": (
        "Intro.\n\n~~~~~~\n```\n~~~\n~~~~~\n<script src=//evil.example/x.js\n```\n~~~~~~\n"
    ),
    "tags_put_together_by_stripping": (
        "Intro.\n\n```\n~~~~\n<scr<x>ipt>alert(1)</scr<x>ipt>\n"
        "<im<x>g src=x onerror=alert(1)>\n```\n"
    ),
    "paragraph_that_opens_a_fence": ("~~~\n\nText.\n\n```\n<script src=//evil.example/x.js\n```\n"),
    "code_span_with_backticks": (
        "Use ``` a`` <scr<x>ipt>alert(1)</scr<x>ipt> `` ``` and ``` `` <script src=//e.example ```."
    ),
    "raw_html_blocks": (
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        '<div onclick="alert(1)">x</div>\n\n<iframe src="https://evil.example"></iframe>\n'
    ),
    "html_in_headings_and_links": (
        "# Reset <img src=x onload=alert(1)>\n\n## <script>alert(1)</script>\n\n"
        "[<b onclick=alert(1)>click</b>](javascript:alert(1)) "
        "[y](&#106;avascript:alert(2)) [z](&amp;#106;avascript:alert(3))\n"
    ),
}
MARKDOWN_IT_TAGS = {"p", "pre", "code", "strong", "em", "a", "ul", "ol", "li", "br", "hr"}
MARKDOWN_IT_TAGS |= {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "del", "s"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag


def executable(html: str, allowed_tags: set[str]) -> list[str]:
    """What a browser would run or load from this HTML: scripts, event handlers, script URLs,
    and any element the renderer itself would never produce (raw HTML passed through)."""
    found = ["<script"] if "<script" in html.lower() else []
    parser = _Elements()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.elements:
        if tag not in allowed_tags:
            found.append(f"<{tag}>")
        for name, value in attrs:
            target = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith("on"):
                found.append(f"{name}=")
            elif name in ("href", "src") and target.startswith(
                ("javascript:", "vbscript:", "data:")
            ):
                found.append(f"{name}={value}")
    return found


def commonmark(markdown: str, preset: str = "commonmark") -> str:
    return MarkdownIt(preset, {"html": True}).render(markdown)


def fence_contents(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark", {"html": True}).parse(markdown)
    return [t.content.strip("\n") for t in tokens if t.type in ("fence", "code_block")]


def code_texts(markdown: str) -> list[str]:
    return [b.text.strip("\n") for b in to_blocks(markdown) if b.kind == "code"]


@pytest.mark.parametrize("preset", ["commonmark", "js-default"])
@pytest.mark.parametrize("name", list(HOSTILE_ARTICLES))
def test_chat_markdown_fence_cannot_be_broken_out_of(name: str, preset: str) -> None:
    source = HOSTILE_ARTICLES[name]
    chat = render("chat", make(markdown=source))
    assert isinstance(chat, ChatRendering)
    assert executable(commonmark(chat.markdown, preset), MARKDOWN_IT_TAGS) == [], chat.markdown
    # Code stays exactly the code: every fence closes where the serialiser meant it to.
    assert fence_contents(chat.markdown) == code_texts(source)


def test_code_block_fence_is_longer_than_any_run_inside() -> None:
    code = "```\n~~~\n~~~~~~~~\n   ~~~~~~~~~\n<script>alert(1)</script>\n````"
    markdown = blocks_to_markdown([Block("paragraph", (Run("Run:"),)), Block("code", (Run(code),))])
    assert markdown.startswith("Run:\n\n" + "~" * 10 + "\n") and markdown.endswith("\n" + "~" * 10)
    assert fence_contents(markdown) == [code]
    assert f"<pre><code>{escape(code, quote=False)}\n</code></pre>" in to_html(markdown)


def test_chat_markdown_of_any_blocks_is_inert_in_commonmark() -> None:
    """The serialiser's own guarantee, whatever the blocks hold (not only what the sanitiser
    lets through): raw HTML, fences, backticks, line starts and links."""
    payload = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    blocks = [
        Block("heading", (Run(f"Title {payload}"),)),
        Block("paragraph", (Run("~~~"),)),
        Block("paragraph", (Run("```"),)),
        Block("code", (Run(f"```\n~~~~\n{payload}\n~~~~~~~~"),)),
        Block("paragraph", (Run(payload), Run(f"`` {payload} ``", code=True))),
        Block("paragraph", (Run("1) <b onclick=alert(1)>"),)),
        Block("paragraph", (Run("click", href="javascript:alert(1)"),)),
        Block("paragraph", (Run("entity", href="&#106;avascript:alert(1)"),)),
        Block("paragraph", (Run("wrap", href="https://ok.example/\n~~~\n<script>"),)),
        Block("item", (Run(f"- {payload}"),), list_id=0, number=1),
    ]
    markdown = blocks_to_markdown(blocks)
    for preset in ("commonmark", "js-default"):
        assert executable(commonmark(markdown, preset), MARKDOWN_IT_TAGS) == [], markdown
    assert fence_contents(markdown) == [f"```\n~~~~\n{payload}\n~~~~~~~~"]
    assert executable(to_html(markdown), {*MARKDOWN_IT_TAGS} - {"del", "s"}) == []


def test_chat_markdown_links_are_only_http_mailto_or_site_relative() -> None:
    runs = [
        Run("a", href="https://ok.example/a?b=1&c=2"),
        Run(" b", href="mailto:help@ok.example"),
        Run(" c", href="/kb/KB-0042"),
        Run(" d", href="//evil.example"),
        Run(" e", href="&#106;avascript:alert(1)"),
        Run(" f", href="#section"),
    ]
    markdown = blocks_to_markdown([Block("paragraph", tuple(runs))])
    assert markdown == (
        "[a](https://ok.example/a?b=1&c=2) [b](mailto:help@ok.example) [c](/kb/KB-0042) d e f"
    )


def test_tags_put_together_by_stripping_are_stripped_too() -> None:
    source = HOSTILE_ARTICLES["tags_put_together_by_stripping"]
    assert to_text(source) == "Intro.\n\n~~~~\nalert(1)"
    assert strip_tag_like("<scr<x>ipt>alert(1)</scr<<y>x>ipt>") == "alert(1)"


@pytest.mark.parametrize("name", list(HOSTILE_ARTICLES))
def test_other_channels_carry_no_executable_payload(name: str) -> None:
    inp = make(markdown=HOSTILE_ARTICLES[name])
    email, phone, social = render("email", inp), render("phone", inp), render("social", inp)
    assert isinstance(email, EmailRendering) and isinstance(phone, PhoneRendering)
    assert isinstance(social, SocialRendering)
    assert executable(email.html, set(_TAGS)) == [], email.html
    speak = ElementTree.fromstring(phone.ssml)  # well-formed: no markup got through unescaped
    assert {element.tag for element in speak.iter()} <= {"speak", "break"}
    # Plain text is not markup: code stays literal there (email text, the spoken script: an
    # unclosed "<script" is no tag), but no whole tag; where no code is shown (subject, the
    # social post), no script URL or handler either.
    tag = re.compile(r"</?[a-z!][^<>]*>", re.IGNORECASE)
    for plain in (email.text, email.subject, phone.script, social.text):
        assert not tag.search(plain), plain
    for plain in (email.subject, social.text):
        assert not re.search(r"javascript:|on(error|load|click)\s*=", plain, re.I), plain
