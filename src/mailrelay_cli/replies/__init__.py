"""One process-replies run: mailboxes, parsing, judging, hooks and answers."""
