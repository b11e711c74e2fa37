"""``Pager``: iterate every item of a paged list, fetching pages lazily."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from modelyard import schemas as s

T = TypeVar("T")


class Pager(Generic[T]):
    """Iterable over all items; ``pages()`` yields whole pages; ``first()`` fetches one page."""

    def __init__(self, fetch: Callable[[str | None], s.Page[T]]) -> None:
        self._fetch = fetch

    def pages(self) -> Iterator[s.Page[T]]:
        token: str | None = None
        while True:
            page = self._fetch(token)
            yield page
            token = page.next_page_token
            if not token:
                return

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def first(self) -> s.Page[T]:
        return self._fetch(None)

    def all(self) -> list[T]:
        return list(self)
