"""Errors of the indexer; the service translates them into its own family at its edge."""


class IndexerError(Exception):
    """Base of everything the indexer raises on purpose."""


class ManifestMismatch(IndexerError):
    """The index on disk was built with another model or dimension than the settings name."""


class CorruptIndex(IndexerError):
    """A generation folder is incomplete or unreadable."""
