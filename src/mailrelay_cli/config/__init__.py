"""Settings: key schema, records, TOML loading and validation, editing, IMAP Properties."""
