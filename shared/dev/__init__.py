"""Development and test infrastructure: never imported by a service."""
