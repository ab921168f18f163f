"""Fan CRM data access, one module per sub-domain.

`common` (indexes, time helpers), `fans`, `tickets` (with stats and
ticket events), `activities` (with the aggregate counters), `leaderboard`; `campaigns`: the
CRM campaigns (meta apps) and their top-N leaderboards; `search`: the fan
search; `segments`: tags, snapshots and saved searches as segments; `sync`: fans by last update
(the seed's time keys); `points`: awarding points, the awards list, display names;
`purchases`: purchases upserted by key and searched; `tickets_sync`: the seed's ticket id
windows; `tags_sync`: fan tags by creation time; `text_search`: the search's pre-computed
trigrams; `search_fields`: its other pre-computed fan fields and their backfill. CRM API
keys are credentials and live with the others in `loaders.identity`.
Every public name of those modules is re-exported here (and the search's),
so `from loaders import crm as data; data.x` keeps working.
"""

from loaders.crm import (
    activities,
    campaigns,
    points,
    purchases,
    search,
    search_fields,
    segments,
    sync,
    tags_sync,
    text_search,
)
from loaders.crm import tickets_sync as tickets_sync
from loaders.crm.activities import *  # noqa: F403
from loaders.crm.common import *  # noqa: F403
from loaders.crm.common import INDEXES as CORE_INDEXES
from loaders.crm.fans import *  # noqa: F403
from loaders.crm.leaderboard import *  # noqa: F403
from loaders.crm.search import fan_search_query as fan_search_query
from loaders.crm.search import list_fans as list_fans
from loaders.crm.tickets import *  # noqa: F403

INDEXES = [
    *CORE_INDEXES,
    *activities.INDEXES,
    *campaigns.INDEXES,
    *points.INDEXES,
    *purchases.INDEXES,
    *search.INDEXES,
    *search_fields.INDEXES,
    *segments.INDEXES,
    *sync.INDEXES,
    *tags_sync.INDEXES,
    *text_search.INDEXES,
]
