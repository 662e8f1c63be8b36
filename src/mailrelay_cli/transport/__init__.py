"""Network protocols: endpoints, TLS, SMTP, IMAP, the redacting transcript."""
