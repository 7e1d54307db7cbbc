"""What an API cannot take of the template's fields: data the platform module states and the
checking stage applies, so that the plan says before the first write which columns of a file will
not reach the platform and which rows cannot be created there, and why."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TargetLimits:
    api: str = "the guide's API"  # how the plan, the summary and the Run sheet name the API spoken
    # field -> why nothing is sent for it on this API
    unsent_fields: dict[str, str] = field(default_factory=dict)
    # field -> {value: why a row with it cannot be created on this API}
    refused_values: dict[str, dict[str, str]] = field(default_factory=dict)
    # field -> {value: why this value is not sent (the field's other values are)}
    unsent_values: dict[str, dict[str, str]] = field(default_factory=dict)
    # False: the API has no documented way to archive a course, so an undo cannot take a create back
    can_archive: bool = True


GUIDE = TargetLimits()
