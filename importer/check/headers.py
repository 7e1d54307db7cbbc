"""Which of a file's columns is which course field, told by its header alone: the names other
systems give each field, the header's last word, then close spelling. Used to say what a missing
required column looks like, by `importer map` and by the page's columns screen."""

from __future__ import annotations

import difflib
import re

from ..core import fields

# What other systems call each field, best first (header_key form: lowercase, no spaces or _).
NAMES: dict[str, tuple[str, ...]] = {
    "title": ("title", "coursetitle", "coursename", "fullname", "name", "coursefullname", "displayname",
              "course", "heading"),
    "externalId": ("externalid", "courseid", "idnumber", "id", "coursecode", "code", "coursenumber", "number",
                   "sku", "uuid", "guid", "key", "courseexternalid", "identifier", "ref", "reference"),
    "description": ("description", "coursedescription", "summary", "coursesummary", "overview", "about",
                    "abstract", "details", "synopsis"),
    "authors": ("authors", "author", "instructors", "instructor", "teachers", "teacher", "professors",
                "professor", "lecturers", "lecturer", "faculty", "trainers", "trainer", "presenter", "creator",
                "createdby", "owner"),
    "tags": ("tags", "tag", "keywords", "keyword", "subject", "subjects", "topics", "topic", "categories",
             "category", "skills", "labels"),
    "courseType": ("coursetype", "type", "contenttype", "format", "kind", "coursecertificatetype",
                   "deliverytype", "modality"),
    "publishedStatus": ("publishedstatus", "status", "published", "state", "visibility", "visible"),
    "isFree": ("isfree", "free", "ispaid", "paid"),
    "slug": ("slug", "urlslug", "courseslug", "handle", "permalink", "path"),
    "source": ("source", "provider", "organization", "organisation", "courseorganization", "institution",
               "university", "partner", "publisher", "platform", "school", "vendor"),
}
FUZZY_CUTOFF = 0.88


def folded_header(header) -> str:
    return fields.header_key(header) if header else ""


def suggest_columns(headers: list[str], names=None) -> dict[str, int]:
    """{field: column index} for the fields (default: all) whose column can be told by its header.
    A column serves one field; the fields are served in the order of `NAMES`."""
    wanted = [n for n in NAMES if names is None or n in names]
    keys = [folded_header(h) for h in headers]
    taken: set[int] = set()
    found: dict[str, int] = {}
    for name in NAMES:  # every field competes, so a column goes to the field it names best
        for synonym in NAMES[name]:
            index = next((i for i, k in enumerate(keys) if k == synonym and i not in taken), None)
            if index is not None:
                found[name] = index
                taken.add(index)
                break
    heads = [_last_word(h) for h in headers]
    for name in NAMES:  # `Course Title (EN)`, `course_organization`: the last word names the thing
        if name in found:
            continue
        index = next((i for synonym in NAMES[name] for i, head in enumerate(heads)
                      if head == synonym and i not in taken), None)
        if index is not None:
            found[name] = index
            taken.add(index)
    for name in NAMES:  # a typo: `descripton`, `Titel`
        if name in found:
            continue
        best = max(((difflib.SequenceMatcher(None, k, s).ratio(), i) for i, k in enumerate(keys)
                    if k and i not in taken for s in NAMES[name]), default=(0, None))
        if best[0] >= FUZZY_CUTOFF:
            found[name] = best[1]
            taken.add(best[1])
    return {n: found[n] for n in wanted if n in found}


def _last_word(header) -> str:
    """The last word of a header: `course_organization` -> organization, `Course Title (EN)` -> title."""
    words = re.findall(r"[A-Za-z]+", re.sub(r"\([^)]*\)", " ", re.sub(r"([a-z])([A-Z])", r"\1 \2", header or "")))
    return words[-1].lower() if words else ""
