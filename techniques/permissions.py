"""Who may see what among the registry's pages: all are public but the audit trail."""

from tfmot_portal.permissions import Permission, is_team

SEE_AUDIT = Permission(is_team, "The audit trail is for the TFMOT team.")
