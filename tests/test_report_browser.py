"""The report in a real browser: headless Chromium opens ``report.html`` from disk with the network
off, and the page shows its sections, tables and decoded figures, runs no script from the data,
and requests nothing but itself and its inline images. Skipped where Chromium is not installed
(Debian: ``apt-get install chromium``; ``.ci/run`` installs it)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from chromium import Chromium, find_chromium

from corpusforge.analysis.figures import ACCENT
from corpusforge.analysis.report import write_report
from corpusforge.analysis.testing import HOSTILE, write_synthetic_output

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (apt-get install chromium)")]

PAGE_FACTS = """JSON.parse(JSON.stringify({
  sections: [...document.querySelectorAll('section')].map(s => s.id),
  headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
  figures: [...document.querySelectorAll('figure')].map(f => f.id),
  images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
  tables: [...document.querySelectorAll('table')].map(t => [t.id, t.rows.length]),
  scripts: document.scripts.length,
  text: document.body.innerText,
  height: document.documentElement.scrollHeight,
}))"""


def _offsite(requests: list[str]) -> list[str]:
    return [url for url in requests if not url.startswith(("file:", "data:"))]


def test_report_renders_offline_with_its_sections_and_figures(tmp_path):
    from PIL import Image

    output = tmp_path / "out"
    write_synthetic_output(output, 3000, hostile=True, sampling=True, unbalanced=True)
    page, report = write_report(str(output))
    url = Path(page).as_uri()
    assert CHROMIUM is not None
    with Chromium(CHROMIUM) as browser:
        rendered = browser.render(url, PAGE_FACTS)

    assert rendered.requests[0] == url and _offsite(rendered.requests) == []
    facts = rendered.value
    assert isinstance(facts, dict)
    assert facts["sections"] == ["signature", "languages", "lid", "rejections", "codeswitch", "translation"]
    assert facts["headings"] == ["Run signature", "Languages", "Language ID", "Rejections", "Code-switching", "Translation"]
    assert facts["figures"] == [f"fig-{f.name.removesuffix('.png')}" for f in report.figures] and len(report.figures) == 6
    assert len(facts["images"]) == 6 and all(done and width > 300 and height > 100 for done, width, height in facts["images"])
    tables = dict(facts["tables"])
    for name in ("accounting", "languages-segment", "sampling", "lid-segment", "rejections-table", "translation-directions"):
        assert tables[name] > 1, name
    assert facts["scripts"] == 0 and HOSTILE in facts["text"]  # the data's markup is text, not markup
    assert "NOT BALANCED" in facts["text"]

    shot = Image.open(io.BytesIO(rendered.screenshot)).convert("RGB")
    (tmp_path / "report.png").write_bytes(rendered.screenshot)
    assert shot.width >= 1200 and shot.height >= min(facts["height"], 16000) * 0.9
    accent = tuple(int(ACCENT[i : i + 2], 16) for i in (1, 3, 5))
    pixels = shot.resize((shot.width // 2, shot.height // 2)).getdata()
    assert sum(1 for p in pixels if all(abs(a - b) < 12 for a, b in zip(p, accent))) > 500  # the switch-point bars were drawn


def test_the_offline_check_catches_a_page_that_fetches(tmp_path):
    page = tmp_path / "fetches.html"
    page.write_text(
        '<html><body><img src="http://example.invalid/x.png"><link rel="stylesheet" href="https://fonts.example.invalid/a.css"></body></html>'
    )
    assert CHROMIUM is not None
    with Chromium(CHROMIUM) as browser:
        rendered = browser.render(page.as_uri(), "document.images.length")
    assert set(_offsite(rendered.requests)) == {"http://example.invalid/x.png", "https://fonts.example.invalid/a.css"}
