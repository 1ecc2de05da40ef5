-- the hierarchy is at most four levels deep (nation > region > district > territory), so plain
-- self-joins flatten it portably (no recursive CTE needed)
with territories as (
    select * from {{ ref('stg_master__territories') }}
),

joined as (
    select
        t.territory_id,
        t.territory_name,
        t.territory_level,
        t.parent_id,
        p1.territory_id as p1_id,
        p1.territory_level as p1_level,
        p2.territory_id as p2_id,
        p2.territory_level as p2_level,
        p3.territory_id as p3_id,
        p3.territory_level as p3_level
    from territories as t
    left join territories as p1 on t.parent_id = p1.territory_id
    left join territories as p2 on p1.parent_id = p2.territory_id
    left join territories as p3 on p2.parent_id = p3.territory_id
),

final as (
    select
        territory_id,
        territory_name,
        territory_level,
        parent_id,
        {{ dbt.concat([
            "coalesce(" ~ dbt.concat(["p3_id", "'/'"]) ~ ", '')",
            "coalesce(" ~ dbt.concat(["p2_id", "'/'"]) ~ ", '')",
            "coalesce(" ~ dbt.concat(["p1_id", "'/'"]) ~ ", '')",
            "territory_id"
        ]) }} as territory_path,
        case
            when territory_level = 'region' then territory_id
            when p1_level = 'region' then p1_id
            when p2_level = 'region' then p2_id
            when p3_level = 'region' then p3_id
        end as region_id,
        case
            when territory_level = 'district' then territory_id
            when p1_level = 'district' then p1_id
            when p2_level = 'district' then p2_id
            when p3_level = 'district' then p3_id
        end as district_id,
        case
            when p3_id is not null then 3
            when p2_id is not null then 2
            when p1_id is not null then 1
            else 0
        end as depth
    from joined
)

select * from final
