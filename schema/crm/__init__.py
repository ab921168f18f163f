"""Fan CRM schema, one module per sub-domain; the root types merge them.

`types`, `inputs` and `root` (fans, tickets, ticket events, activities,
leaderboards); `keys`: the partner's
server-to-server CRM API keys; `segments`: tags, snapshots, saved searches; `sync`: incremental
sync of updated fans; `points`: awarding points, the awarded points list, display names;
`purchases`: purchases upserted by key and searched; `tickets_sync`: the seed's ticket
download by sequence window and fan tags by creation window; `activities`: the activities sync
list and the activity counters; `campaigns`: CRM campaigns (meta apps) and their top-N
leaderboards.
"""

from strawberry.tools import merge_types

from schema.crm import (
    activities,
    campaigns,
    keys,
    points,
    purchases,
    root,
    segments,
    sync,
    tickets_sync,
)

Query = merge_types(
    "CrmQuery",
    (root.Query, activities.Query, campaigns.Query, keys.Query, points.Query, purchases.Query,
     segments.Query, sync.Query, tickets_sync.Query),
)
Mutation = merge_types(
    "CrmMutation",
    (root.Mutation, campaigns.Mutation, keys.Mutation, points.Mutation, purchases.Mutation,
     segments.Mutation),
)
Subscription = root.Subscription
