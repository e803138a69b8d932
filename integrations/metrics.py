"""The project's own Prometheus metrics (labels bounded: no ids, no numbers)."""

from prometheus_client import Counter, Gauge, Histogram

webhook_deliveries = Counter(
    "codequest_webhook_deliveries_total",
    "Webhook deliveries received, by outcome at the receiver.",
    ["provider", "outcome"],
)
webhook_rejected = Counter(
    "codequest_webhook_rejected_total",
    "Webhook requests refused before storing (bad signature, bad input).",
    ["provider", "reason"],
)
webhook_processed = Counter(
    "codequest_webhook_processed_total",
    "Stored deliveries processed, by final status.",
    ["provider", "status"],
)
webhook_processing = Histogram(
    "codequest_webhook_processing_seconds",
    "Time to normalize and apply one delivery.",
    ["provider"],
)
webhook_lag = Histogram(
    "codequest_webhook_queue_lag_seconds",
    "Time from receiving a delivery to finishing its processing.",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)

provider_calls = Counter(
    "codequest_provider_calls_total",
    "Provider API operations, by outcome.",
    ["provider", "operation", "outcome"],
)
provider_call_seconds = Histogram(
    "codequest_provider_call_seconds",
    "Duration of one provider API operation (all its HTTP requests and retries).",
    ["provider", "operation"],
)
provider_rate_limit_remaining = Gauge(
    "codequest_provider_rate_limit_remaining",
    "Requests left in the current primary rate-limit window, as last reported.",
    ["provider", "host"],
)

sync_runs = Counter(
    "codequest_sync_runs_total",
    "Reconciliation runs, by final status.",
    ["provider", "status"],
)
sync_seconds = Histogram(
    "codequest_sync_seconds",
    "Duration of one repository's reconciliation.",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
sync_api_calls = Counter(
    "codequest_sync_api_calls_total",
    "Provider requests made by reconciliation.",
    ["provider"],
)
sync_rate_limit_points = Counter(
    "codequest_sync_rate_limit_points_total",
    "Primary rate-limit points spent by reconciliation (a 304 costs none).",
    ["provider"],
)
sync_changes = Counter(
    "codequest_sync_changes_total",
    "Changes reconciliation found, and how many the webhooks had missed.",
    ["provider", "kind"],
)
integrations_by_status = Gauge(
    "codequest_integrations",
    "Connected repositories by health status, as of the last check.",
    ["provider", "status"],
)
provider_cache = Counter(
    "codequest_provider_cache_total",
    "Cached provider reads: hits, misses, and lookups with the cache down.",
    ["kind", "outcome"],
)
rate_limit_remaining = Gauge(
    "codequest_rate_limit_remaining",
    "Budget left per provider host and resource, as last sampled.",
    ["provider", "host", "resource"],
)
rate_limit_limit = Gauge(
    "codequest_rate_limit_limit",
    "Budget size per provider host and resource, as last sampled.",
    ["provider", "host", "resource"],
)
notifications = Counter(
    "codequest_notifications_total",
    "Notifications by channel, kind and outcome (sent, retrying, failed).",
    ["channel", "kind", "outcome"],
)
