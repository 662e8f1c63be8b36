"""Outgoing mail: event catalogue, templating, MIME message, log attachments, delivery."""
