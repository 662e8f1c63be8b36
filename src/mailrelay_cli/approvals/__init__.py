"""Approvals: model, signed references, and the service that creates, votes and waits."""
