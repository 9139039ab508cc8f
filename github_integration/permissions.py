"""Who may use the GitHub setup page: the TFMOT team (checked by the views and again by
the bootstrap service)."""

from tfmot_portal.permissions import Permission, is_team

SEE_SETUP = Permission(is_team, "The GitHub setup page is for the TFMOT team.")
DECIDE_BOOTSTRAP = Permission(is_team, "Only the TFMOT team confirms or rejects a bootstrap.")
