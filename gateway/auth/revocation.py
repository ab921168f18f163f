"""Which stored documents can revoke a principal before its token expires.

A live WebSocket keeps its principal for hours; these are the documents whose change
must make the gateway check the connection's credentials again (see `gateway.live.guard`).
"""

from __future__ import annotations

from gateway.auth.principal import Principal, PrincipalKind


def revoking_documents(principal: Principal) -> list[tuple[str, str]]:
    """(collection, `_id`) pairs whose change may revoke this principal."""
    if principal.kind is PrincipalKind.STAFF and principal.session_family:
        return [("sessions", principal.session_family)]  # logout, refresh-token reuse
    if principal.kind in (PrincipalKind.APP, PrincipalKind.MEMBER) and principal.app_client_id:
        return [("app_clients", principal.app_client_id)]  # key revoked
    if principal.kind is PrincipalKind.ACTIVATION and principal.activation_id:
        return [("activations", principal.activation_id)]  # activation deleted
    return []  # operator tokens are only ever ended by expiry
