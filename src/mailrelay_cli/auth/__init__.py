"""Secrets (keyring and environment) and OAuth token providers."""
