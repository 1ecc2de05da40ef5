-- one row per marketing activity: net sell-out of its product to its customer in the window
-- (var roi_window_days, default 90) before start_date and after end_date, and the return
with activities as (
    select * from {{ ref('stg_marketing__activities') }}
),

sell_out as (
    select * from {{ ref('fct_sell_out') }}
    where buyer_kind = 'terminal'
        and crm_customer_id is not null
),

last_sale as (
    select max(sale_date) as last_sale_date from {{ ref('fct_sell_out') }}
),

windows as (
    select
        activities.*,
        cast({{ dbt.dateadd('day', -1 * var('roi_window_days'), 'activities.start_date') }} as date)
            as pre_from,
        cast({{ dbt.dateadd('day', var('roi_window_days'), 'activities.end_date') }} as date)
            as post_to
    from activities
),

amounts as (
    select
        windows.activity_id,
        sum(case
            when sell_out.sale_date >= windows.pre_from
                and sell_out.sale_date < windows.start_date then sell_out.amount
            else 0
        end) as pre_amount,
        sum(case
            when sell_out.sale_date > windows.end_date
                and sell_out.sale_date <= windows.post_to then sell_out.amount
            else 0
        end) as post_amount
    from windows
    inner join sell_out
        on windows.crm_customer_id = sell_out.crm_customer_id
        and windows.product_id = sell_out.product_id
        and sell_out.sale_date >= windows.pre_from
        and sell_out.sale_date <= windows.post_to
    group by windows.activity_id
),

final as (
    select
        windows.activity_id,
        windows.crm_customer_id,
        windows.product_id,
        cast(windows.cost as double) as cost,
        cast(coalesce(amounts.pre_amount, 0) as double) as pre_amount,
        cast(coalesce(amounts.post_amount, 0) as double) as post_amount,
        cast(coalesce(amounts.post_amount, 0) - coalesce(amounts.pre_amount, 0) as double)
            as incremental_amount,
        {{ safe_divide('coalesce(amounts.post_amount, 0) - coalesce(amounts.pre_amount, 0)',
                       'windows.cost') }} as roi,
        windows.activity_type,
        windows.start_date,
        windows.end_date,
        windows.territory_id,
        coalesce(last_sale.last_sale_date >= windows.post_to, false) as is_post_window_complete
    from windows
    left join amounts on windows.activity_id = amounts.activity_id
    cross join last_sale
)

select * from final
