"""Partitioned runs: which partition owns each person, and the cross-partition projections.

A province-size month is run as one partition per region (the first ``digits`` digits of
the register's ``region_code``). Every row about a person (register rows, payouts,
quarantined payouts, certifications) is stored in the partition that *owns* the person:
the region of their earliest register row, kept for good once assigned (a person who
moves keeps their history in one place). Persons never on the register (unregistered
payees, malformed IDs) are owned by the first partition. Death records and audit outcomes
are small and stay in one global store.

What one partition cannot see by itself is computed globally on narrow projections:
death linkage (a namesake in another region changes the answer), the receivers
(bank accounts, collectors) shared across partitions and the persons connected through
them (the partition's *halo*), the risk model's training sample, and the ranking.

Modules: :mod:`~sentinel.partition.layout` (where things are kept),
:mod:`~sentinel.partition.owners` (owners and the split of a drop),
:mod:`~sentinel.partition.halo`, :mod:`~sentinel.partition.history` (a partition's history
with its halo) and :mod:`~sentinel.partition.detection` (a partition's share of detection).
"""

from sentinel.partition.detection import (
    find_partition_candidates,
    keep_findings,
    link_province_deaths,
    project_partition,
    province_findings,
)
from sentinel.partition.halo import (
    cross_partition_halo,
    partition_halo,
    record_halo,
    send_halo_rows,
)
from sentinel.partition.history import partition_history, partition_runs
from sentinel.partition.layout import (
    GLOBAL_DATASETS,
    HALO_ROWS,
    OWNERS_FILE,
    PERSON_ROUTED,
    global_store,
    halo_rows_folder,
    month_work,
    owner_table,
    partition_names,
    partition_store,
    partitions_root,
    previous_rows,
)
from sentinel.partition.owners import (
    assign_owners,
    person_key,
    record_owners,
    route_rows,
    split_drop,
    update_owners,
)

__all__ = [
    "GLOBAL_DATASETS",
    "HALO_ROWS",
    "OWNERS_FILE",
    "PERSON_ROUTED",
    "assign_owners",
    "cross_partition_halo",
    "find_partition_candidates",
    "global_store",
    "halo_rows_folder",
    "keep_findings",
    "link_province_deaths",
    "month_work",
    "owner_table",
    "partition_halo",
    "partition_history",
    "partition_names",
    "partition_runs",
    "partition_store",
    "partitions_root",
    "person_key",
    "previous_rows",
    "project_partition",
    "province_findings",
    "record_halo",
    "record_owners",
    "route_rows",
    "send_halo_rows",
    "split_drop",
    "update_owners",
]
