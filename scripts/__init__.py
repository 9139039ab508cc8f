"""Developer scripts; bench/ reuses the service check of with_services.py."""
