"""Reading a report page back as a user's browser would: tables by id (each cell's text and
``data-value``), sections, figures and every URL the page refers to."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class Cell:
    text: str
    value: float | None


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[Cell]]] = {}
        self.headers: dict[str, list[str]] = {}
        self.sections: list[str] = []
        self.figures: list[str] = []
        self.images: list[str] = []
        self.urls: list[str] = []
        self.elements: dict[str, dict[str, str | None]] = {}
        self.marks: list[str] = []  # the text of every <mark>
        self._mark: list[str] | None = None
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._value: float | None = None
        self._row: list[Cell] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.elements[a["id"]] = a
        for key in ("href", "src", "action", "poster", "data"):
            if a.get(key):
                self.urls.append(a[key])
        if tag == "mark":
            self._mark = []
        if tag == "section":
            self.sections.append(a.get("id"))
        elif tag == "figure":
            self.figures.append(a.get("id"))
        elif tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
            self.headers[self._table] = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table is not None and not self._in_head:
            self._row = []
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
            self._value = float(a["data-value"]) if a.get("data-value") not in (None, "None") else None

    def handle_endtag(self, tag):
        if tag == "mark" and self._mark is not None:
            self.marks.append("".join(self._mark))
            self._mark = None
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            text = "".join(self._cell)
            if self._in_head:
                self.headers[self._table].append(text)
            elif self._row is not None:
                self._row.append(Cell(text, self._value))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._mark is not None:
            self._mark.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, table_id: str) -> list[dict[str, Cell]]:
        """The table's rows as {header: cell}."""
        return [dict(zip(self.headers[table_id], row)) for row in self.tables[table_id]]


def parse(html_text: str) -> Page:
    page = Page()
    page.feed(html_text)
    page.close()
    return page
