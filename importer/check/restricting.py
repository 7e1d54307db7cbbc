"""A validated file, restricted to what the target's API can take (`core.limits.TargetLimits`).

Done once the API spoken is known and before anything is sent, so that the plan says it:

    a field the API has no field for (the content API: Tags, Is Free)   not sent, a warning on each cell
    a value the API cannot set (publishedStatus `archived` there)      not sent, a warning on the cell
    a value the API cannot create (Course Type `webinar` there)        the row is invalid, an error on the cell

On the guide's API nothing changes. Returns one sentence per column or value concerned, for the
plan to print before the first write: no column is lost without a word.
"""

from __future__ import annotations

from collections import Counter

from ..core import fields
from ..core.issues import error, warning
from ..core.limits import TargetLimits

NOT_ON_THIS_API = "NOT_ON_THIS_API"  # the row cannot be created on the API this instance speaks
NOT_SENT_ON_THIS_API = "NOT_SENT_ON_THIS_API"  # the cell's value does not reach the platform there


def restrict_to(validation, limits: TargetLimits) -> list[str]:
    """Restrict `validation` (a `ValidationResult`, changed in place) to `limits`; the sentences
    the plan says about it."""
    if not (limits.unsent_fields or limits.refused_values or limits.unsent_values):
        return []
    refused, unsent, unsent_values = Counter(), Counter(), Counter()
    for row in validation.rows:
        if not row.valid:
            continue
        payload = dict(row.payload)
        found = []
        for name, values in limits.refused_values.items():
            if payload.get(name) in values:
                refused[(name, payload[name])] += 1
                found.append(error(row.row, name, payload[name], NOT_ON_THIS_API,
                                   f"{_label(name)} '{payload[name]}': {values[payload[name]]}"))
        for name, why in limits.unsent_fields.items():
            if name in payload:
                unsent[name] += 1
                found.append(warning(row.row, name, _shown(payload.pop(name)), NOT_SENT_ON_THIS_API,
                                     f"not sent: {why}"))
        for name, values in limits.unsent_values.items():
            if payload.get(name) in values:
                unsent_values[(name, payload[name])] += 1
                found.append(warning(row.row, name, payload[name], NOT_SENT_ON_THIS_API,
                                     f"{_label(name)} '{payload[name]}' not sent: {values[payload[name]]}"))
                payload.pop(name)
        if found:
            row.issues = [*row.issues, *found]
            row._payload = payload
    _forget_counts(validation)
    display = validation.columns.display
    notes = [f"{display(name)}: not sent for the {n} row{'s' if n != 1 else ''} that fill it in, because "
             f"{limits.unsent_fields[name]}" for name, n in unsent.items()]
    notes += [f"{display(name)} '{value}' ({n} row{'s' if n != 1 else ''}): "
              f"{limits.unsent_values[name][value]}" for (name, value), n in unsent_values.items()]
    notes += [f"{n} row{'s' if n != 1 else ''} with {display(name)} '{value}' will not be sent: "
              f"{limits.refused_values[name][value]}" for (name, value), n in refused.items()]
    return notes


def _forget_counts(validation) -> None:
    """The result's row lists are computed once; rows made invalid here must be counted again."""
    for name in ("valid_rows", "skipped_rows", "invalid_rows", "all_issues"):
        validation.__dict__.pop(name, None)


def _label(name: str) -> str:
    field = fields.FIELDS_BY_NAME.get(name)
    return field.label if field else name


def _shown(value):
    return "; ".join(map(str, value)) if isinstance(value, list | tuple) else value
