"""The state store (approvals, votes, audit, owed hooks and answers) and the run lock."""
