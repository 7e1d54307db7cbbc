"""The field rules: what each column's cell must be, and the API value it becomes.

A rule is a pure function from one trimmed, non-empty text to `(value, problems)`, where
the problems are `Issue`s not yet placed in a row or column (`run_rule` places them); a cell Excel stored
as a number or a boolean goes through `Rule.cell`, which may treat it differently (an id
stored as a number is warned about; TRUE is a yes).

`run_rule` applies a rule down a whole column, working out each distinct cell once:
course types, tags, yes/no and custom fields repeat a lot, and a CSV column is trimmed
in one pass. That is what lets 100,000 rows validate in about a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..core import fields
from ..core import issues as codes
from ..core.issues import Issue
from .normalizing import (
    INVISIBLE,
    KeptText,
    custom_field_value,
    normalize_bool,
    normalize_enum,
    split_authors,
    split_tags,
    to_text,
    typed_text,
    unique_items,
)

EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number; the rest become zeros
OK: tuple = ()
EMPTY = (None, OK)


def _problem(code: str, severity: str, message: str, shown) -> tuple[Issue]:
    return (Issue(None, None, shown, code, severity, message),)



@dataclass(frozen=True)
class Rule:
    text: Callable[[str], tuple]  # a trimmed, non-empty text -> (value, problems)
    typed: Callable[[object], tuple] | None = None  # an Excel number or boolean, when it differs
    distinct_values: bool = False  # a column where each row has its own value
    # A cell that is already a list (a Python list handed to `from_records`, a map's `split`):
    # its items as they are, for the list fields; any other field reads them one per line.
    items: Callable[[tuple], tuple] | None = None
    label: str = "the field"  # how a message names the field
    identity: bool = False  # a course is recognised by it: a placeholder there would be its identity
    # For a column of distinct texts: True when `text` would take every one as it is, without a word
    # (checked over the column at once, in C): then no call a cell is made.
    clean_column: Callable[[list], bool] | None = None

    def cell(self, raw) -> tuple:
        if raw is None:
            return EMPTY
        if type(raw) is tuple:
            if self.items is not None:
                return self.items(raw)
            raw = "\n".join(raw)
        if type(raw) is KeptText:  # a map's `text = true`: never typed, but `N/A` still means nothing
            found = self.placeholder(to_text(str(raw)) or "")
            if found:
                return found
        if self.typed is not None and type(raw) is not str:
            return self.typed(raw)
        text = to_text(raw)
        return EMPTY if text is None else self.placeholder(text) or self.text(text)

    def placeholder(self, text: str) -> tuple | None:
        """(None, a warning) when a trimmed text is a placeholder (`N/A`, `-`, `TBD`): what people
        type for "nothing here"; sent, `N/A` would become a course's External ID, the identity every
        later sync matches on. Placeholders are short: most texts are ruled out by their length."""
        if len(text) > PLACEHOLDER_LENGTH or text.casefold() not in PLACEHOLDERS:
            return None
        why = " (it would otherwise become this course's identity on the platform)" if self.identity else ""
        return None, _problem(codes.PLACEHOLDER, codes.WARNING, f"'{text}' means nothing here, so {self.label} is "
                              f"treated as empty{why}.", text)


PLACEHOLDERS = frozenset({"-", "--", "---", "—", "–", "n/a", "na", "n.a.", "none", "null", "nil", "tbd", "tba",
                          "tbc", "?", "??", "...", "…"})
PLACEHOLDER_LENGTH = max(map(len, PLACEHOLDERS))


_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def _title(text):
    if not text.isascii() and _ZERO_WIDTH.search(text):  # isascii first: most titles, no search at all
        where = _ZERO_WIDTH.search(text).start()
        return text, _problem(codes.ZERO_WIDTH, codes.WARNING, f"The title holds an invisible character (a "
                              f"zero-width space or joiner) after '{text[:where][-30:]}': it is sent with it, and two "
                              "titles that look the same would differ. Delete it if it came with a paste.", text)
    if "\n" in text or "\r" in text:  # wrapped with Alt+Enter: one title, on one line
        one_line = " ".join(part.strip() for part in text.splitlines() if part.strip())
        value, problems = _title(one_line)
        return value, _problem(codes.LINE_BREAK, codes.WARNING, f"The title has a line break (Alt+Enter); it is sent "
                               f"on one line: '{one_line}'.", text) + problems
    if len(text) <= fields.TITLE_MAX_LENGTH:
        return text, OK
    over = len(text) - fields.TITLE_MAX_LENGTH
    return text, _problem(codes.INVALID_FIELD_VALUE, codes.ERROR, f"Title is {len(text)} characters long; the "
                          f"maximum is {fields.TITLE_MAX_LENGTH}. Shorten it by {over}.", text)


def _enum(name):
    accepted = fields.ENUM_VALUES[name]
    label = fields.FIELDS_BY_NAME[name].label

    def rule(text):
        value = normalize_enum(text, accepted, label)
        if isinstance(value, Issue):
            return None, (value,)
        return value, OK

    return rule


def _slug(text):
    if fields.SLUG_PATTERN.match(text):
        return text, OK
    suggestion = fields.slugify(text)
    hint = f" Did you mean '{suggestion}'?" if suggestion else ""
    return text, _problem(codes.INVALID_FIELD_VALUE, codes.ERROR, f"Slug '{text}' is not valid: use lowercase "
                          f"letters, digits and single hyphens only.{hint} Or leave it empty to have one made "
                          "from the title.", text)


def _description(text):
    # One search per description, in C, finds the usual case: nothing the server strips.
    if "<" not in text or not fields.STRIPPED_HTML_TAG.search(text):
        return text, OK
    tags = ", ".join(f"<{t}>" for t in fields.stripped_html_tags(text))
    return text, _problem(codes.HTML_STRIPPED, codes.WARNING, f"The server strips {tags} from descriptions "
                          "(allowed: <p> <strong> <em> <ul> <li> <a>); that markup will be lost.", text)


_AND = re.compile(r"\s+(?:and|&|und|et|y)\s+", re.I)
_HASHTAGS = re.compile(r"^#\w[\w-]*(?:\s+#\w[\w-]*)+$")


def _authors(text):
    names = split_authors(text)
    if len(names) == 1 and "," in text and all(len(p.split()) >= 2 for p in text.split(",")):
        return names, _problem(codes.AUTHORS_WITH_COMMA, codes.WARNING, f"Read as one author, '{names[0]}': a comma "
                               "stays inside a name ('Smith, Jane'). If these are several people, separate them with "
                               "semicolons: 'Jane Smith; John Doe'.", text)
    if len(names) == 1 and _AND.search(text) and all(len(p.split()) >= 2 for p in _AND.split(text)):
        return names, _problem(codes.NOT_SPLIT, codes.WARNING, f"Read as one author, '{names[0]}'. If these are "
                               "several people, separate them with semicolons: "
                               f"'{'; '.join(p.strip() for p in _AND.split(text))}'.", text)
    return names or None, OK


def _tags(text):
    tags = split_tags(text)
    if len(tags) == 1 and (" / " in text or _HASHTAGS.match(text)):
        parts = [p.strip().lstrip("#") for p in re.split(r"\s+/\s+|\s+(?=#)", text) if p.strip()]
        return tags, _problem(codes.NOT_SPLIT, codes.WARNING, f"Read as one tag, '{tags[0]}': tags are separated by "
                              f"commas, semicolons or line breaks. If these are several tags, write "
                              f"'{', '.join(parts)}'.", text)
    return tags or None, OK


def _kept_items(items: tuple):
    """A list already split: each item whole (a comma inside a tag stays), trimmed, once."""
    return unique_items(items) or None, OK


_SCIENTIFIC = re.compile(r"^-?\d(?:[.,]\d+)?[eE][+-]?\d+$")  # 1.23457E+11: what Excel shows a long number as


def _external_id(text):
    # Excel writes the exponent with its sign (1.23457E+11): a cheap test first, for 100,000 ids
    if ("E+" in text or "e+" in text or "E-" in text or "e-" in text) and _SCIENTIFIC.match(text):
        return text, _problem(codes.ID_IN_SCIENTIFIC_NOTATION, codes.WARNING, f"This id reads {text!r}: Excel "
                              "showed a long number in scientific notation and saved it so, and its digits are gone. "
                              f"It is sent as the text {text!r}; take the id from your source system (format the "
                              "column as Text before pasting it).", text)
    digits = sum(c.isdigit() for c in text) if len(text) > EXCEL_DIGITS else 0
    if digits <= EXCEL_DIGITS:
        return text, OK
    return text, _problem(codes.ID_TOO_LONG_FOR_EXCEL, codes.WARNING, f"This id has {digits} digits. Excel keeps "
                          f"only {EXCEL_DIGITS}: if the column is not formatted as Text, Excel replaces the rest "
                          "with zeros when the file is saved. Check the value against your source system.", text)


def _id_stored_as_number(text_rule):
    """An id Excel stored as a number has probably lost leading zeros or digits already."""
    def typed(raw):
        text = to_text(raw)
        if text is None:
            return EMPTY
        value, problems = text_rule(text)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            problems = _problem(codes.ID_STORED_AS_NUMBER, codes.WARNING, "Excel stored this id as a number, so "
                                "leading zeros or digits past the 15th may already be lost. Format the column "
                                "as Text and retype the id if it does not match your source system.",
                                text) + problems
        return value, problems

    return typed


def _yes_no(raw):
    value = normalize_bool(raw)
    if isinstance(value, Issue):
        return None, (value,)
    return value, OK


def _as_is(text):
    return text, OK


def _custom(raw):
    return custom_field_value(raw), OK


def _custom_csv_text(text):
    return typed_text(text), OK


_GROUPED = re.compile(r"^-?\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?:[.,]\d+)?$")  # 1.234 / 1,234 / 1 234 / 1.234,5
_DECIMAL_COMMA = re.compile(r"^-?(?:0|[1-9]\d*),\d+$")  # 4,5


def _custom_decimal_comma_text(text):
    """A CSV that German or French Excel wrote (`;` between cells, `,` in numbers)."""
    if _DECIMAL_COMMA.match(text):
        return float(text.replace(",", ".")), OK
    if "," in text and "." in text and re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+,\d+", text):
        return float(text.replace(".", "").replace(",", ".")), OK  # 1.234,5: both marks, one reading
    if _GROUPED.match(text):
        return text, _ambiguous(text)
    return typed_text(text), OK


def _custom_decimal_point_text(text):
    if _GROUPED.match(text):
        return text, _ambiguous(text)
    return typed_text(text), OK


def _ambiguous(text: str) -> tuple:
    """A number written with a separator that means thousands in one locale and the decimal point
    in another: a thousand times off either way, so it is sent as the text it is."""
    decimal = max(text.rfind(","), text.rfind(".")) if "," in text and "." in text else -1
    whole, fraction = (text[:decimal], "." + text[decimal + 1:]) if decimal >= 0 else (text, "")
    grouped = re.sub(r"[.,\u00a0\u202f ]", "", whole) + fraction
    return _problem(codes.AMBIGUOUS_NUMBER, codes.WARNING, f"'{text}' reads as {grouped} in one locale and as a "
                    "decimal in another, so it is sent as the text it is. Type the number without a thousands "
                    "separator (1234, or 1.5) if a number is meant.", text)


def _joined(texts: list) -> str:
    return "\x00".join(filter(None, texts))  # \x00: no cell holds one (a control character is an error)


def _clean_titles(texts: list) -> bool:
    """No title too long, none on two lines, none with an invisible character: `_title` says nothing."""
    joined = _joined(texts)
    return "\n" not in joined and "\r" not in joined and (joined.isascii() or not _ZERO_WIDTH.search(joined)) and \
        max(map(len, filter(None, texts)), default=0) <= fields.TITLE_MAX_LENGTH


def _clean_descriptions(texts: list) -> bool:
    """No description holds a tag the server strips: `_description` says nothing."""
    joined = _joined(texts)
    return "<" not in joined or not fields.STRIPPED_HTML_TAG.search(joined)


def _clean_external_ids(texts: list) -> bool:
    """No id in scientific notation, none longer than Excel's digits: `_external_id` says nothing."""
    joined = _joined(texts)
    return not ("E+" in joined or "e+" in joined or "E-" in joined or "e-" in joined) and \
        max(map(len, filter(None, texts)), default=0) <= EXCEL_DIGITS


RULES: dict[str, Rule] = {
    "title": Rule(_title, distinct_values=True, clean_column=_clean_titles),
    "courseType": Rule(_enum("courseType")),
    "slug": Rule(_slug, _id_stored_as_number(_slug), distinct_values=True),
    "description": Rule(_description, distinct_values=True, clean_column=_clean_descriptions),
    "publishedStatus": Rule(_enum("publishedStatus")),
    "authors": Rule(_authors, items=_kept_items),
    "tags": Rule(_tags, items=_kept_items),
    "externalId": Rule(_external_id, _id_stored_as_number(_external_id), distinct_values=True,
                       clean_column=_clean_external_ids),
    "isFree": Rule(_yes_no, _yes_no),
    "source": Rule(_as_is),
}
# A custom field keeps the type the cell has: in a workbook or records, a text cell is text
# ("15.060" stays "15.060"); a CSV has only text, so a plain number or TRUE/FALSE is typed when
# it reads back as exactly the same text (4, 2.5 — not 15.060 or 2.000).
CUSTOM_FIELD = Rule(_as_is, _custom, label="the custom field")
CSV_CUSTOM_FIELD = Rule(_custom_decimal_point_text, _custom, label="the custom field")
# A CSV from a comma-decimal locale: 4,5 is 4.5; 1.234 and 12.500 are ambiguous, kept as text and warned.
CSV_DECIMAL_COMMA_CUSTOM_FIELD = Rule(_custom_decimal_comma_text, _custom, label="the custom field")
RULES = {name: replace(rule, label=fields.FIELDS_BY_NAME[name].label, identity=name in ("title", "slug", "externalId"))
         for name, rule in RULES.items()}


def run_rule(rule: Rule, column, numbers: list[int], name: str, found: dict, *, all_text: bool | None = None,
             invisible_marks: bool = True) -> list:
    """Apply a rule down a column; each problem becomes an Issue in `found[row index]`.
    `all_text`: the caller knows every cell is text or empty (a CSV); else it is checked.
    `invisible_marks=False`: the caller knows no cell holds characters `to_text` strips.
    A cell holding the clearing marker is `fields.CLEARED` (see `_clear_marks`), looked for where each path
    already has the column's texts or its distinct values: no pass of its own over the column."""
    if all_text is None:  # most workbook columns are text too
        all_text = all(type(raw) is str or raw is None for raw in column)
    if all_text and rule.distinct_values:
        # Titles, slugs, ids: remembering answers would cost more than it saves.
        texts = _trimmed(column, invisible_marks)
        shortest = min(map(len, filter(None, texts)), default=CLEAR_LENGTH + 1)
        marked = [i for i, text in enumerate(texts) if _is_mark(text)] if shortest <= CLEAR_LENGTH else []
        for index in marked:
            texts[index] = None
        short = shortest <= PLACEHOLDER_LENGTH
        if not short and rule.clean_column is not None and rule.clean_column(texts):
            return _clear_marks(texts, marked, column, numbers, name, found)  # nothing the rule would say
        if not short:
            outcomes = [EMPTY if text is None else rule.text(text) for text in texts]  # no cell short enough
        else:
            outcomes = [EMPTY if text is None else rule.placeholder(text) or rule.text(text) for text in texts]
        for index, (_, problems) in enumerate(outcomes):
            for problem in problems:
                found.setdefault(index, []).append(problem.at(numbers[index], name))
        return _clear_marks([value for value, _ in outcomes], marked, column, numbers, name, found)
    if all_text:
        keys = _trimmed(column, invisible_marks)
        distinct = dict.fromkeys(keys)
        if len(distinct) > len(keys) // 2:  # mostly distinct after all: remembering costs more than it saves
            del distinct
            return run_rule(replace(rule, distinct_values=True), keys, numbers, name, found, all_text=True,
                            invisible_marks=False)
        marks = {key for key in distinct if _is_mark(key)}
        outcomes = {text: rule.placeholder(text) or rule.text(text) for text in distinct
                    if text is not None and text not in marks}
    else:  # 1 == True and 0.0 == -0.0 in a dict: type and repr keep such cells apart
        keys = [raw if raw is None or type(raw) is str else (type(raw), repr(raw)) for raw in column]
        distinct = dict(zip(keys, column, strict=True))
        marks = {key for key in distinct if type(key) is str and _is_mark(key.strip())}
        outcomes = {key: rule.cell(raw) for key, raw in distinct.items() if key not in marks}
    outcomes[None] = EMPTY
    marked = [i for i, key in enumerate(keys) if key in marks] if marks else []
    for key in marks:
        outcomes[key] = EMPTY
    values = list(map({key: value for key, (value, _) in outcomes.items()}.__getitem__, keys))
    troubled = {key for key, (_, problems) in outcomes.items() if problems}
    if troubled:
        for index, key in enumerate(keys):
            if key in troubled:
                for problem in outcomes[key][1]:
                    found.setdefault(index, []).append(problem.at(numbers[index], name))
    return _clear_marks(values, marked, column, numbers, name, found)


CLEAR_LENGTH = len(fields.CLEAR_MARK)


def _is_mark(text) -> bool:
    """A trimmed cell's text that is the clearing marker, in any case."""
    return text is not None and len(text) == CLEAR_LENGTH and text.casefold() == fields.CLEAR_MARK


def _clear_marks(values: list, marked: list[int], column, numbers: list[int], name: str, found: dict) -> list:
    """The cells holding the clearing marker (`fields.CLEAR_MARK`, read as empty by the rule): `fields.CLEARED`,
    with a warning that says what it does, or an error where the field cannot be emptied."""
    if not marked:
        return values
    clearable = name.startswith(fields.CUSTOM_FIELD_PREFIX) or name in fields.CLEARED_VALUES
    label = fields.FIELDS_BY_NAME[name].label if name in fields.FIELDS_BY_NAME else name
    for index in marked:
        if clearable:
            values[index] = fields.CLEARED
            found.setdefault(index, []).append(Issue(
                None, None, column[index], codes.CLEARED, codes.WARNING,
                f"{fields.CLEAR_MARK} empties {label} of this course on the platform (an update; a new course is "
                "created without it). An empty cell would leave the platform's value as it is").at(numbers[index],
                                                                                                   name))
        else:
            found.setdefault(index, []).append(Issue(
                None, None, column[index], codes.CANNOT_CLEAR, codes.ERROR,
                f"{label} cannot be emptied on the platform (it is required, or how the course is recognised); "
                "type its value, or leave the cell empty to keep the platform's").at(numbers[index], name))
    return values


def _trimmed(column, invisible_marks: bool = True) -> list:
    """`to_text` of a column of text, in one pass: the same answers, without a call per cell."""
    texts = [(raw.strip() or None) if raw is not None else None for raw in column]
    if invisible_marks:
        joined = "".join(filter(None, texts))  # one search of the whole column, not one per cell
        if any(mark in joined for mark in INVISIBLE):
            texts = [to_text(text) for text in texts]
    return texts
