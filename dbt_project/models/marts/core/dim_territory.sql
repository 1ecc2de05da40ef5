-- one row per territory node at every level (nation, region, district, territory)
with territories as (
    select * from {{ ref('int_territories_flattened') }}
),

final as (
    select
        territory_id,
        territory_name as name,
        territory_level as level,
        territory_path,
        region_id,
        district_id,
        parent_id,
        depth
    from territories
)

select * from final
