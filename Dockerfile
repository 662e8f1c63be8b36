# mailrelay in a container: for a CI job or a Kubernetes CronJob running process-replies.
#   docker build -t mailrelay .
#   docker run --rm -v mailrelay-config:/config -v mailrelay-state:/state \
#     -e MAILRELAY_SMTP_PASSWORD -e MAILRELAY_APPROVAL_HMAC_KEY mailrelay process-replies
# Settings: /config/settings.toml (a volume or a ConfigMap), or MAILRELAY__SECTION__KEY
# variables. State (SQLite, archive, run lock): /state. Secrets come from the
# environment (MAILRELAY_SMTP_PASSWORD, MAILRELAY_IMAP_PASSWORD, MAILRELAY_SMTP_CLIENT_SECRET,
# MAILRELAY_IMAP_CLIENT_SECRET, MAILRELAY_APPROVAL_HMAC_KEY): a container has no keyring.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY man ./man
COPY examples ./examples
RUN python -m venv /opt/mailrelay && /opt/mailrelay/bin/pip install --no-cache-dir .

FROM python:3.12-slim
COPY --from=build /opt/mailrelay /opt/mailrelay
RUN useradd --system --uid 10001 --create-home --home-dir /home/mailrelay mailrelay \
    && mkdir -p /config /state && chown mailrelay:mailrelay /config /state
ENV PATH=/opt/mailrelay/bin:$PATH \
    MAILRELAY_CONFIG_DIR=/config \
    MAILRELAY_STATE_DIR=/state \
    PYTHONUNBUFFERED=1
USER mailrelay
VOLUME ["/config", "/state"]
ENTRYPOINT ["mailrelay"]
CMD ["--help"]
