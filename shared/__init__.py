"""The project's own library: event contracts, messaging, persistence, web and operations.

Services import from here and never from each other.
"""
