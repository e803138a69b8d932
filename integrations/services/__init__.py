"""Integration services: deliveries (record, process, replay) and repositories."""

from integrations.credentials import (
    NeedsReconnect,
    credential_client,
    credential_guard,
    credential_token,
    oauth_credential_disconnect,
    oauth_credential_store,
    repository_client,
)
from integrations.services.connections import (
    ConnectResult,
    repository_connect,
    repository_disconnect,
    repository_import,
    repository_reconnect,
    repository_sync_request,
)
from integrations.services.deliveries import (
    STORED_HEADERS,
    RecordResult,
    deliveries_process,
    deliveries_replay,
    deliveries_sweep,
    delivery_process,
    delivery_record,
    dispatcher,
)
from integrations.services.repositories import (
    installation_apply,
    repositories_assign,
    repository_for_event,
    repository_touch,
    repository_upsert,
)
from integrations.services.webhooks import (
    WebhookConflict,
    hook_events_check,
    webhook_config_create,
    webhook_config_delete,
    webhook_config_update,
    webhook_url,
)

__all__ = [
    "ConnectResult",
    "NeedsReconnect",
    "credential_client",
    "credential_guard",
    "credential_token",
    "oauth_credential_disconnect",
    "oauth_credential_store",
    "repository_client",
    "repository_disconnect",
    "repository_import",
    "repository_reconnect",
    "repository_sync_request",
    "repository_connect",
    "STORED_HEADERS",
    "RecordResult",
    "deliveries_process",
    "deliveries_replay",
    "deliveries_sweep",
    "delivery_process",
    "delivery_record",
    "dispatcher",
    "installation_apply",
    "repositories_assign",
    "repository_for_event",
    "repository_touch",
    "repository_upsert",
    "WebhookConflict",
    "hook_events_check",
    "webhook_config_create",
    "webhook_config_delete",
    "webhook_config_update",
    "webhook_url",
]
