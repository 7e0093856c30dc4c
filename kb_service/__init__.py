"""kb-service: one knowledge base and one answer API behind every contact-centre channel."""

__version__ = "0.1.0"
