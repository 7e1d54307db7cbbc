"""Which API an instance answers, found out before anything is written.

    guide    the guide's list, `GET /incoming/v2/courses?perPage=1`, answers in its shape
    content  else the content API's list, `GET /incoming/v2/courseGroups?perPage=1`, answers in its own

Both are reads. An instance of the content API answers some paths under `/incoming/v2/courses/`
too (the vendor's client reads `courses/{id}/structure`), so only a list in the guide's shape
counts for the guide. An instance that answers neither stops the run there, nothing sent: a
write is never the way to find out.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import NotTheAPI, TargetUnreachable
from .api import Connection, CoursesAPI, Reply
from .content import ContentAPI, page_of
from .guide import GuideAPI

APIS = {"guide": GuideAPI, "content": ContentAPI}
CHOICES = ("auto", "guide", "content")
LABELS = {"guide": "the guide's API (POST /incoming/v2/courses)",
          "content": "the content API (POST /incoming/v2/content/course/create)"}

Send = Callable[[Callable[[], Reply]], Reply]  # runs one read, paced and retried


def api_for(name: str, connection: Connection) -> CoursesAPI:
    return APIS[name](connection=connection)


def detect(make: Callable[[str], CoursesAPI], send: Send, target: str) -> CoursesAPI:
    """The API this instance answers (see the module's docstring). `make(name)` gives the API of
    that name on the run's connection, its requests paced; `send` runs one read, retried."""
    guide = make("guide")
    listed = _answered(send(lambda: guide.list_page(None, 1)), target)
    if listed.kind == "ok" and guide.in_list_shape(listed):
        return guide
    content = make("content")
    groups = _answered(send(lambda: content._send("GET", "/incoming/v2/courseGroups", params={"perPage": 1})),
                       target)
    found = page_of(groups)
    if found is not None and found[2]:
        return content
    raise NotTheAPI(
        f"{target} answers neither the guide's course list (GET /incoming/v2/courses: {listed.describe()}) nor "
        f"the content API's (GET /incoming/v2/courseGroups: {groups.describe()}), so which API it speaks cannot "
        "be known; nothing was sent. If it takes the guide's POST /incoming/v2/courses without letting courses be "
        "read, run with --api guide (every row is then a create, guarded by the journal)")


def _answered(reply: Reply, target: str) -> Reply:
    """A read that got no answer at all (retried already) says nothing of the API: stop, saying why."""
    if reply.status is None:
        raise TargetUnreachable(f"could not read {target}'s courses to find out which API it speaks "
                                f"({reply.message}); nothing was sent")
    return reply
