"""The channel tools as files: served at /widgets with the security headers, no inline script
or style anywhere (so the Content-Security-Policy can forbid them), and every UI string in all
four languages of the one locale table. The tools in a real browser: test_widgets_browser.py."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from kb_service.api.headers import headers_for
from kb_service.config import Settings
from tests.conftest import Api, publish

WIDGETS = Path(__file__).resolve().parent.parent / "widgets"
PAGES = ["/widgets/", "/widgets/chat/demo.html", "/widgets/email/", "/widgets/phone/"]
PAGES += ["/widgets/social/", "/widgets/console/"]
VENDOR = WIDGETS / "vendor"  # third-party files, as published (vendor/README.md)


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.parametrize("path", PAGES)
def test_tool_pages_are_served_with_a_strict_policy(api: Api, path: str) -> None:
    response = api.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = _directives(response.headers["content-security-policy"])
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cross-origin-resource-policy"] == "same-origin"


def test_the_widget_script_may_be_loaded_by_other_sites(api: Api) -> None:
    for path in ("/widgets/chat/widget.js", "/widgets/chat/chat-widget.js"):
        response = api.client.get(path)
        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"
        # Module scripts are fetched in CORS mode, even from a <script> element.
        assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in api.client.get("/widgets/email/").headers


def test_article_pages_allow_only_their_own_style(api: Api) -> None:
    publish(api, "wifi", "en-GB", "Wi-Fi", "# Wi-Fi\n\nRestart the router.")
    response = api.client.get("/kb/wifi/en-GB")
    assert response.status_code == 200
    style = re.search(r"<style>(.*?)</style>", response.text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    policy = _directives(response.headers["content-security-policy"])
    assert policy["style-src"] == f"'sha256-{digest}'"
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    assert response.headers["x-frame-options"] == "DENY"


def test_docs_get_their_own_policy_and_the_api_a_closed_one(api: Api) -> None:
    docs = _directives(api.client.get("/docs").headers["content-security-policy"])
    assert "https://cdn.jsdelivr.net" in docs["script-src"]  # Swagger UI's files
    assert docs["frame-ancestors"] == "'none'"
    health = api.client.get("/healthz").headers
    assert _directives(health["content-security-policy"])["default-src"] == "'none'"
    assert health["x-content-type-options"] == "nosniff"
    # Only /docs and /redoc allow inline script.
    for path in ("/widgets/x", "/kb/a/en", "/v1/answers", "/"):
        assert "unsafe-inline" not in headers_for(path)["Content-Security-Policy"]


def test_without_a_widgets_folder_the_api_still_starts(make_api: object, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "d", embedding_model="hashing", widgets_dir=tmp_path / "none"
    )
    api = make_api(settings)  # type: ignore[operator]
    assert api.client.get("/widgets/").status_code == 404
    assert api.client.get("/healthz").status_code == 200


def _files(*suffixes: str) -> list[Path]:
    return sorted(p for p in WIDGETS.rglob("*") if p.suffix in suffixes and VENDOR not in p.parents)


@pytest.mark.parametrize("page", _files(".html"), ids=lambda p: str(p.relative_to(WIDGETS)))
def test_pages_have_no_inline_script_or_style(page: Path) -> None:
    html = page.read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "script element with a body"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    for ref in re.findall(r'(?:src|href)="([^":#?]+)"', html):
        target = (page.parent / ref).resolve()
        assert target.exists() or (target / "index.html").exists(), ref


def _table(source: str, lang: str) -> set[str]:
    block = re.search(rf"^const {lang} = \{{\n(.*?)^\}};", source, re.S | re.M)
    assert block is not None, lang
    return set(re.findall(r"^  '([\w.]+)':", block.group(1), re.M))


def test_every_ui_string_is_in_all_four_languages() -> None:
    source = (WIDGETS / "shared" / "i18n.js").read_text()
    tables = {lang: _table(source, lang) for lang in ("en", "pl", "sl", "uk")}
    assert all(keys == tables["en"] for keys in tables.values()), {
        lang: tables["en"] ^ keys for lang, keys in tables.items()
    }
    # Every quoted id-like string with a table prefix ('email.ask', 'busy' aside) counts as used.
    prefixes = {key.split(".")[0] for key in tables["en"]}
    used: set[str] = set()
    for path in _files(".html", ".js"):
        if path.name == "i18n.js":
            continue
        text = path.read_text()
        used |= set(re.findall(r'data-i18n="([\w.]+)"', text))
        used |= {
            ref
            for ref in re.findall(r"['\":]([a-z]+\.[a-z_.]+)['\";]", text)
            if ref.split(".")[0] in prefixes and not ref.endswith((".js", ".css"))
        }
    assert used, "no strings found: the patterns are out of date"
    assert used <= tables["en"], used - tables["en"]
    # Ids built at run time (`console.state.${status}`): the prefix must name some strings.
    for path in _files(".js"):
        for prefix in re.findall(r"`([a-z]+\.[a-z_.]+\.)\$\{", path.read_text()):
            assert any(key.startswith(prefix) for key in tables["en"]), (path.name, prefix)


def test_vendored_libraries_are_noted_with_their_licences() -> None:
    notes = (VENDOR / "README.md").read_text()
    for name, licence in (
        ("chart.umd.min.js", "LICENSE.chart.js.md"),
        ("diff.min.js", "LICENSE.diff.txt"),
    ):
        assert name in notes and licence in notes and (VENDOR / licence).is_file()
        assert "sourceMappingURL" not in (VENDOR / name).read_text()
