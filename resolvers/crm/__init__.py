"""Fan CRM resolvers (validate input, call data access), one module per sub-domain.

Every name of `core` is re-exported here, so `from resolvers import crm as resolve` keeps
working.
"""

from resolvers.crm.core import *  # noqa: F403
