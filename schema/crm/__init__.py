"""Fan CRM schema, one module per sub-domain; the root types merge them.

`core`: fans, tickets, ticket events, activities, points, leaderboards.
"""

from strawberry.tools import merge_types

from schema.crm import core

Query = merge_types("CrmQuery", (core.Query,))
Mutation = merge_types("CrmMutation", (core.Mutation,))
Subscription = core.Subscription
