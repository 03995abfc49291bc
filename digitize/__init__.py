"""digitize: Vietnamese civil-status and administrative paper to signed, searchable, indexed data."""

__version__ = "0.1.0"
