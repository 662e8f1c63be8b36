"""The reports: `mailrelay test` steps, `status` health, `schedule` lines, config check."""
