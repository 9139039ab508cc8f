"""Who may do what in ci_status: the sync pages are for the TFMOT team (staff)."""

from tfmot_portal.permissions import Permission, is_team

SEE_SYNC = Permission(is_team, "The sync pages are for the TFMOT team.")
RUN_SYNC = Permission(is_team, "Only the TFMOT team starts a sync.")
