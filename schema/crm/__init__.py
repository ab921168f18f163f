"""Fan CRM schema, one module per sub-domain; the root types merge them.

`core`: fans, tickets, ticket events, activities, points, leaderboards; `keys`: the
partner's server-to-server CRM API keys; `segments`: tags, snapshots, saved searches;
`sync`: incremental sync of updated fans; `points`: awarded points list, display names.
"""

from strawberry.tools import merge_types

from schema.crm import core, keys, points, segments, sync

Query = merge_types(
    "CrmQuery", (core.Query, keys.Query, points.Query, segments.Query, sync.Query)
)
Mutation = merge_types("CrmMutation", (core.Mutation, keys.Mutation, segments.Mutation))
Subscription = core.Subscription
