"""An upload received as it streams in: the file's bytes go to disk as they arrive, counted, and the
upload is refused the moment the count passes the limit (or at once, when its Content-Length says
so). Nothing of the file is held in memory beyond one chunk: a 1 GB file dropped by mistake costs
no more memory than a small one, and is refused within a second of passing the limit.

Starlette's own form parsing spools a file to disk too, but only checks a size after the whole
body has arrived, and reading the file back brings it into memory: this module does neither.
"""

from __future__ import annotations

from pathlib import Path

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from ..errors import ImporterError

FIELD_BYTES = 4096  # a form field beside the file (the map's name): small
OVERHEAD = 64 * 1024  # the multipart framing around the file, allowed above the file's limit


class UploadRefused(Exception):
    """The request is not an upload the page takes; the message says why, in the person's words."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Received:
    def __init__(self):
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self.size = 0


async def receive_upload(request, destination, limit: int) -> Received:
    """Stream a `multipart/form-data` request's `file` part to `destination(filename)` (a function
    that opens the file to write and is called once the part's name is known), within `limit` bytes."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRefused("Choose a spreadsheet (.xlsx or .csv) and send it with the page's form.")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit + OVERHEAD):
        raise UploadRefused(_too_large(limit), 413)
    received = Received()
    part: dict = {}
    handle = None

    def on_part_begin():
        part.clear()
        part.update(headers={}, field=b"", name=None, filename=None)

    def on_header_field(data, start, end):
        part["header"] = part.get("header", b"") + data[start:end]

    def on_header_value(data, start, end):
        part["value"] = part.get("value", b"") + data[start:end]

    def on_header_end():
        part["headers"][part.pop("header", b"").lower()] = part.pop("value", b"")

    def on_headers_finished():
        nonlocal handle
        _, disposition = parse_options_header(part["headers"].get(b"content-disposition", b""))
        part["name"] = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition and part["name"] == "file":
            if handle is not None:
                raise UploadRefused("Send one file at a time.")
            received.filename = disposition[b"filename"].decode("utf-8", "replace")
            handle = destination(received.filename)

    def on_part_data(data, start, end):
        if part["name"] == "file" and handle is not None:
            received.size += end - start
            if received.size > limit:
                raise UploadRefused(_too_large(limit), 413)
            handle.write(data[start:end])
        else:
            part["field"] += data[start:end]
            if len(part["field"]) > FIELD_BYTES:
                raise UploadRefused("A form field is longer than the page's forms send.")

    def on_part_end():
        if part.get("name") and part["name"] != "file":
            received.fields[part["name"]] = part["field"].decode("utf-8", "replace")

    parser = MultipartParser(boundary, {"on_part_begin": on_part_begin, "on_header_field": on_header_field,
                                        "on_header_value": on_header_value, "on_header_end": on_header_end,
                                        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
                                        "on_part_end": on_part_end})
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except (UploadRefused, ImporterError):
        raise
    except Exception as exc:  # a body that is not the multipart it says it is
        raise UploadRefused("The upload arrived damaged; send the file again.") from exc
    finally:
        if handle is not None:
            handle.close()
    return received


def _too_large(limit: int) -> str:
    return (f"That file is larger than {limit // 2**20} MB, more than any course sheet: it was refused before "
            "it was read. Split it into several files.")


def safe_name(name: str, limit: int = 120) -> str:
    """A file name as given, fit to show and to offer back as a download: no control characters, no
    folders, not longer than `limit` (its suffix kept)."""
    name = "".join(c for c in Path(name.replace("\\", "/")).name if c.isprintable()).strip() or "upload"
    if len(name) > limit:
        suffix = Path(name).suffix[:10]
        name = name[: limit - len(suffix) - 1] + "…" + suffix
    return name
