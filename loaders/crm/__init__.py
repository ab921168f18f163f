"""Fan CRM data access, one module per sub-domain.

`core`: fans, tickets, ticket events, activities, point awards (the original slice);
`segments`: tags, snapshots and saved searches as segments. CRM API keys are credentials and
live with the others in `loaders.identity`. Every name of `core` is re-exported here, so
`from loaders import crm as data; data.x` keeps working.
"""

from loaders.crm import segments
from loaders.crm.core import *  # noqa: F403
from loaders.crm.core import INDEXES as CORE_INDEXES

INDEXES = [*CORE_INDEXES, *segments.INDEXES]
