"""Fan CRM schema, one module per sub-domain; the root types merge them.

`core`: fans, tickets, ticket events, activities, points, leaderboards; `keys`: the
partner's server-to-server CRM API keys.
"""

from strawberry.tools import merge_types

from schema.crm import core, keys

Query = merge_types("CrmQuery", (core.Query, keys.Query))
Mutation = merge_types("CrmMutation", (core.Mutation, keys.Mutation))
Subscription = core.Subscription
