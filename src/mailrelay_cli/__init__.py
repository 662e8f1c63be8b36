"""mailrelay: email for release pipelines (notifications, approvals, reply processing)."""

__version__ = "0.1.0"
