"""Reading a report.html back with the standard library's HTML parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    tags: list[str] = field(default_factory=list)
    section_ids: list[str] = field(default_factory=list)
    meta_charset: str | None = None
    cells: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(confusion matrix name, truth, predicted) -> the cell's text."""
    text: str = ""
    external: list[str] = field(default_factory=list)
    """src/href attributes: a self-contained page has none."""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._matrix: str | None = None
        self._cell: tuple[str, str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.page.tags.append(tag)
        if tag == "section" and "id" in values:
            self.page.section_ids.append(values["id"])
        if tag == "meta" and "charset" in values:
            self.page.meta_charset = values["charset"]
        if tag == "table" and "cm" in values.get("class", "").split():
            self._matrix = values.get("data-name", "")
        if tag == "td" and "cm-cell" in values.get("class", "") and self._matrix is not None:
            self._cell = (self._matrix, values["data-truth"], values["data-pred"])
            self.page.cells[self._cell] = ""
        self.page.external += [values[k] for k in ("src", "href") if k in values]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        if tag == "table":
            self._matrix = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._cell is not None:
            self.page.cells[self._cell] += data.strip()

    def close(self) -> None:
        super().close()
        self.page.text = "".join(self._text)


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.page
