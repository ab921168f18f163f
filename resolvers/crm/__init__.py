"""Fan CRM resolvers (validate input, call data access), one module per sub-domain.

`core`: fans, tickets, events, activities, points; `keys`: CRM API keys; `segments`: tags,
snapshots, saved searches. Every name of `core` is re-exported here, so
`from resolvers import crm as resolve` keeps working.
"""

from resolvers.crm.core import *  # noqa: F403
