"""The audit trail: who changed ownership, TOS levels, reviews, waivers and tokens, when,
and what it was before and after (django-auditlog; the actor comes from its middleware).

Models are registered here, in one place, when their app is installed. Staff read the
trail at /audit/ and in the admin (Log entries).
"""

from auditlog.registry import auditlog
from django.apps import apps
from django.db.models import Model

# (app, model, auditlog options, the path from the model to its technique: "" for the
# technique itself, None for records of no single technique). The trail filters by it.
AUDITED = [
    ("techniques", "Technique", {}, ""),
    ("techniques", "OwnerGroup", {}, "techniques"),
    ("techniques", "Maintainer", {}, "group__techniques"),
    ("reviews", "Review", {"exclude_fields": ["evidence", "updated_at", "version"]}, "technique"),
    (
        "adherence",
        "Gap",
        {
            "include_fields": [
                "state",
                "acknowledged_by",
                "acknowledge_note",
                "waived_by",
                "waiver_reason",
                "waived_until",
            ]
        },
        "technique",
    ),
    ("convergence", "CIToken", {"exclude_fields": ["token_hash", "last_used_at"]}, "techniques"),
    ("adherence", "Campaign", {}, None),
    ("adherence", "Remediation", {}, "gap__technique"),
    ("adherence", "WaiverRequest", {}, "gap__technique"),
    ("lifecycle", "TOSChangeRequest", {}, "technique"),
    ("lifecycle", "Deprecation", {}, "technique"),
]

for app_label, model_name, options, _path in AUDITED:
    if apps.is_installed(app_label):
        auditlog.register(apps.get_model(app_label, model_name), **options)


def technique_paths() -> list[tuple[type[Model], str]]:
    """The audited models that belong to a technique, with the path to it."""
    return [
        (apps.get_model(app_label, model_name), path)
        for app_label, model_name, _options, path in AUDITED
        if path is not None and apps.is_installed(app_label)
    ]
