-- every territory paired with itself and each territory above it: joining a leaf-level fact
-- to this and grouping by ancestor_territory_id rolls it up to every level at once
with territories as (
    select * from {{ ref('stg_master__territories') }}
),

pairs as (
    select territory_id, territory_id as ancestor_territory_id, 0 as distance
    from territories
    union all
    select t.territory_id, p1.territory_id, 1
    from territories as t
    inner join territories as p1 on t.parent_id = p1.territory_id
    union all
    select t.territory_id, p2.territory_id, 2
    from territories as t
    inner join territories as p1 on t.parent_id = p1.territory_id
    inner join territories as p2 on p1.parent_id = p2.territory_id
    union all
    select t.territory_id, p3.territory_id, 3
    from territories as t
    inner join territories as p1 on t.parent_id = p1.territory_id
    inner join territories as p2 on p1.parent_id = p2.territory_id
    inner join territories as p3 on p2.parent_id = p3.territory_id
)

select * from pairs
