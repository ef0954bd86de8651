"""payout-sentinel: improper pension payments found month after month.

Importing the package sets one process-wide default before polars loads: the settings of
polars' allocator (jemalloc reads ``_RJEM_MALLOC_CONF`` once, when polars is imported).
"""

import os

#: polars' allocator: freed pages kept for reuse 10 s (jemalloc's own default; polars
#: sets 0.5 s to give memory back early) and transparent huge pages where the kernel
#: offers them on request (what ``POLARS_THP=1`` asks for). A month allocates and frees
#: gigabytes step after step; giving pages back early makes the next step fault them in
#: again, which costs more time than the memory it saves (the province month still stays
#: under its memory target with pages kept). polars appends these to its own, so they win;
#: a value in the environment wins over them. The processes the flows start (Dask
#: workers, validation workers) inherit it.
ALLOCATOR_SETTINGS = "thp:always,metadata_thp:always,dirty_decay_ms:10000,muzzy_decay_ms:10000"
os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_SETTINGS)
