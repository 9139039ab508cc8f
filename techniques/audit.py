"""The audit trail: who changed ownership, TOS levels, reviews, waivers and tokens, when,
and what it was before and after (django-auditlog; the actor comes from its middleware).

Models are registered here, in one place, when their app is installed. Staff read the
trail at /audit/ and in the admin (Log entries).
"""

from auditlog.registry import auditlog
from django.apps import apps

AUDITED = [
    ("techniques", "Technique", {}),
    ("techniques", "OwnerGroup", {}),
    ("techniques", "Maintainer", {}),
    ("reviews", "Review", {"exclude_fields": ["evidence", "updated_at", "version"]}),
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
    ),
    ("convergence", "CIToken", {"exclude_fields": ["token_hash", "last_used_at"]}),
    ("adherence", "Campaign", {}),
    ("adherence", "Remediation", {}),
    ("adherence", "WaiverRequest", {}),
    ("lifecycle", "TOSChangeRequest", {}),
    ("lifecycle", "Deprecation", {}),
]

for app_label, model_name, options in AUDITED:
    if apps.is_installed(app_label):
        auditlog.register(apps.get_model(app_label, model_name), **options)
