"""The operations the CPU benchmark sends to the gateway and to the hand-written floor.

Each entry: name -> (query text, credential it runs with). The floor (`bench.floor`)
maps each text to a hand-written handler; the benchmark checks both answer the same JSON.
"""

from __future__ import annotations

TYPENAME = "{ __typename }"

CATALOGUE = (
    "query($first: Int!) { products(first: $first) { edges { cursor node { id name description "
    "image price priceMinor currency externalUrl productType featured } } "
    "pageInfo { hasNextPage endCursor } } contentStrings { key value } }"
)

DASHBOARD = (
    "query($first: Int!) { members(first: $first) { totalCount edges { cursor node { id name "
    "email status joinedAt lastWatchedAt totalWatchMinutes classesWatched } } "
    "pageInfo { hasNextPage endCursor } } }"
)

PARTNER_STATS = (
    "query($id: ID!, $token: String!) { activationStats(activationId: $id, token: $token) { "
    "activationId eventKey eventName tier range { startAt endAt } metrics { clickCount "
    "outboundClickCount calendarSyncCount uniqueSessionCount uniqueViewSessionCount "
    "uniqueOutboundSessionCount uniqueCalendarSessionCount outboundSessionRate "
    "calendarSessionRate } } }"
)

MEMBER_HISTORY = (
    "query($first: Int!) { members(first: $first) { edges { node { id name history(first: 3) "
    "{ edges { node { id minutes watchedAt classTitle category } } } } } } }"
)

FANS = (
    "query($first: Int!) { fans(first: $first) { edges { node { id email firstName lastName "
    "displayName isSubscribed tags countryCode city createdAt updatedAt firstPurchaseAt } } "
    "pageInfo { hasNextPage endCursor } } }"
)

# name -> (text, credential: "none" | "app" | "staff")
OPERATIONS: dict[str, tuple[str, str]] = {
    "typename": (TYPENAME, "none"),
    "catalogue": (CATALOGUE, "app"),
    "dashboard": (DASHBOARD, "staff"),
    "partner_stats": (PARTNER_STATS, "none"),
    "member_history": (MEMBER_HISTORY, "staff"),
    "fans": (FANS, "staff"),
}
