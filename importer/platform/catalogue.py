"""What the platform already holds, read before anything is written, as cheaply as the sizes allow.

Two ways to see the instance (both through `api`, every request through the one pacer):

    pages    `GET /courses?perPage=100&cursor=…`: 100 courses a request, the whole catalogue
             (the content API: `GET /courseGroups`, 1,000 a request)
    lookups  `GET /courses?externalId=…` (or slug, title): one request per value asked about

A file of a few rows against a large instance must not page through all of it, and a file
of thousands of rows must not look each one up. Every read starts with one page: an instance
of up to 100 courses is then known whole. Beyond that, small files (`LOOKUP_ROWS` valid rows
or fewer) look their rows up: at most three requests a row, fewer when the course found by the
row's identity already shows its other unique values. Larger files read the pages, but never
more pages than their lookups could cost (three a row); if the catalogue has not ended by then,
the rows still unexplained are looked up. Either way the cost is at most about twice the
cheaper of the two, without knowing the size of the instance in advance.

An instance that answers 404/405/501 to these reads cannot be seen: the catalogue says so
(`visible` is False) and the run falls back to creating with the journal as its only memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..errors import NotTheAPI, TargetError
from .api import CoursesAPI, Reply

LOOKUP_ROWS = 100
LOOKUPS_PER_ROW = 3
UNIQUE_FIELDS = ("externalId", "slug", "title")  # identity order: externalId, else slug, else title
NO_READ_ENDPOINT = (404, 405, 501)

Send = Callable[[Callable[[], Reply]], Reply]  # runs one idempotent request, paced and retried


@dataclass
class Catalogue:
    """The courses seen on the instance, found by any unique value."""

    visible: bool = True
    complete: bool = False  # every course was read; else only those the lookups asked about
    requests: int = 0
    why_not_visible: str | None = None
    _by: dict[str, dict] = field(default_factory=lambda: {name: {} for name in UNIQUE_FIELDS})
    _asked: set = field(default_factory=set)  # (field, value) pairs looked up
    custom_keys: set[str] = field(default_factory=set)  # every customFields key seen on the instance
    pages_unreadable: str | None = None  # the list answered in another shape: rows are looked up instead
    # {(course id, field): (value last sent, what the server kept of it)}, from the journal: the same value
    # sent again is no change, whatever the server did to it (`journal.REWRITTEN_FIELDS`)
    kept: dict = field(default_factory=dict)

    def add(self, course: dict) -> None:
        if not isinstance(course, dict) or not course.get("id"):
            return
        for name in UNIQUE_FIELDS:
            value = course.get(name)
            if value not in (None, ""):
                self._by[name][value] = course
        if isinstance(course.get("customFields"), dict):
            self.custom_keys.update(course["customFields"])

    def find(self, name: str, value) -> dict | None:
        """The course whose `name` is `value`, among those seen."""
        return self._by[name].get(value)

    def knows(self, name: str, value) -> bool:
        """Whether the answer to 'which course has this value' is known (found or surely absent)."""
        return self.complete or (name, value) in self._asked or value in self._by[name]


def read_catalogue(rows: list, api: CoursesAPI, send: Send, *, lookup_rows: int = LOOKUP_ROWS) -> Catalogue:
    """What the instance holds that matters to these rows (validated rows, `RowResult`)."""
    catalogue = Catalogue()
    if not rows:
        return catalogue
    # One page first, whatever the size of the file: an instance of up to 100 courses (a new
    # one, a rehearsal) is then seen whole with one request. More pages only for a larger file.
    pages = LOOKUPS_PER_ROW * len(rows) if len(rows) > lookup_rows else 1
    if not set(UNIQUE_FIELDS) <= set(api.lookups):
        # An API that cannot look a course up by each unique value (the content API: no lookup by
        # sku or title) lists its pages instead, up to 1,000 courses a request: all of them.
        pages = None
    _read_pages(catalogue, api, send, max_pages=pages)
    if catalogue.complete or not catalogue.visible:
        return catalogue
    for row in rows:
        for name, value in questions(row.payload, catalogue):
            if not _look_up(catalogue, api, send, name, value):
                return catalogue
    return catalogue


def questions(payload: dict, catalogue: Catalogue) -> Iterable[tuple[str, object]]:
    """The lookups a row still needs: its identity, then each other unique value it sets,
    unless the course found by its identity already has that value (then no other can)."""
    present = [(name, payload[name]) for name in UNIQUE_FIELDS if payload.get(name) not in (None, "")]
    if not present:
        return
    matched = None
    for position, (name, value) in enumerate(present):
        if position == 0:
            if not catalogue.knows(name, value):
                yield name, value
            matched = catalogue.find(name, value)
        elif not (matched and matched.get(name) == value) and not catalogue.knows(name, value):
            yield name, value


def _read_pages(catalogue: Catalogue, api: CoursesAPI, send: Send, *, max_pages: int | None) -> None:
    cursor, read = None, 0
    while max_pages is None or read < max_pages:
        reply = send(lambda c=cursor: api.list_page(c))
        catalogue.requests += 1
        read += 1
        if not _usable(catalogue, reply, "list the courses"):
            return
        if not api.in_list_shape(reply):
            # A list in another shape is never "the instance is empty": look each row up
            # instead, which stops the run if the lookups are of another shape too.
            catalogue.pages_unreadable = reply.describe()
            return
        for course in reply.body.get("courses") or []:
            catalogue.add(course)
        page = reply.body.get("pageInfo") or {}
        cursor = page.get("cursor")
        if not page.get("hasMore") or not cursor:
            catalogue.complete = True
            return


def _look_up(catalogue: Catalogue, api: CoursesAPI, send: Send, name: str, value) -> bool:
    reply = send(lambda: api.find(name, value))
    catalogue.requests += 1
    if not _usable(catalogue, reply, f"look courses up by {name}"):
        return False
    if not api.in_list_shape(reply):
        listing = f"; the course list answered {catalogue.pages_unreadable}" if catalogue.pages_unreadable else ""
        raise NotTheAPI(f"the platform answered a lookup by {name} in a shape the importer does not know "
                        f"({reply.describe()}{listing}), so what it holds cannot be known; nothing was sent")
    catalogue._asked.add((name, value))
    for course in reply.body.get("courses") or []:
        if isinstance(course, dict) and course.get(name) == value:
            catalogue.add(course)
    return True


def _usable(catalogue: Catalogue, reply: Reply, what: str) -> bool:
    if reply.status in NO_READ_ENDPOINT:
        catalogue.visible = False
        catalogue.why_not_visible = f"the platform does not let the importer {what} (HTTP {reply.status})"
        return False
    if reply.kind != "ok" or not isinstance(reply.body, dict):
        raise TargetError(f"could not {what} on the platform: {reply.message}; nothing was sent")
    return True
