-- one row per distributor of the latest master snapshot, with the region it counts in: the
-- master's region_id (a region's territory_id, else its name) where given, else the region
-- whose customers bought the largest net amount from it in its last three months with sales
-- credited to a region (ties: lowest region_id); NULL with region_source 'none' otherwise
with distributors as (
    select * from {{ ref('stg_master__distributors') }}
),

regions as (
    select territory_id as region_id, territory_name
    from {{ ref('stg_master__territories') }}
    where territory_level = 'region'
),

regions_by_name as (
    -- a name two regions share names neither
    select territory_name, min(region_id) as region_id
    from regions
    group by territory_name
    having count(*) = 1
),

given as (
    select
        distributors.distributor_code,
        coalesce(by_id.region_id, by_name.region_id) as region_id
    from distributors
    left join regions as by_id on distributors.region_id = by_id.region_id
    left join regions_by_name as by_name on distributors.region_id = by_name.territory_name
    where distributors.region_id is not null
),

region_sales_monthly as (
    select * from {{ ref('int_distributor_region_sales_monthly') }}
),

recent_months as (
    select
        distributor_code,
        month,
        dense_rank() over (partition by distributor_code order by month desc) as recency
    from region_sales_monthly
),

recent_region_amounts as (
    select
        region_sales_monthly.distributor_code,
        region_sales_monthly.region_id,
        sum(region_sales_monthly.amount) as amount
    from region_sales_monthly
    inner join (select distinct distributor_code, month from recent_months where recency <= 3)
        as last_three
        on region_sales_monthly.distributor_code = last_three.distributor_code
        and region_sales_monthly.month = last_three.month
    group by region_sales_monthly.distributor_code, region_sales_monthly.region_id
),

derived as (
    select distributor_code, region_id
    from recent_region_amounts
    qualify row_number() over (
        partition by distributor_code order by amount desc nulls last, region_id
    ) = 1
),

final as (
    select
        distributors.distributor_code,
        distributors.distributor_name as name,
        distributors.tier,
        distributors.province,
        distributors.is_flow_required as flow_required,
        distributors.city,
        distributors.aliases,
        coalesce(given.region_id, derived.region_id) as region_id,
        case
            when given.region_id is not null then 'given'
            when derived.region_id is not null then 'derived'
            else 'none'
        end as region_source,
        distributors.region_id as given_region
    from distributors
    left join given on distributors.distributor_code = given.distributor_code
    left join derived on distributors.distributor_code = derived.distributor_code
)

select * from final
