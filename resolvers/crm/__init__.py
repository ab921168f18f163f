"""Fan CRM resolvers (validate input, call data access), one module per sub-domain.

`common` (validation, tenancy), `fans`, `tickets`, `activities` (and
points), `live`; `keys`: CRM API keys; `segments`: tags,
snapshots, saved searches. Every public name of those
modules is re-exported here, so
`from resolvers import crm as resolve` keeps working.
"""

from resolvers.crm.activities import *  # noqa: F403
from resolvers.crm.common import *  # noqa: F403
from resolvers.crm.fans import *  # noqa: F403
from resolvers.crm.live import *  # noqa: F403
from resolvers.crm.tickets import *  # noqa: F403
