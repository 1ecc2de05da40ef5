{#- incremental by month: a month's coverage reads its own sell-out and alignment, and the
    grades in force, which a change in month m can move from quarter(m) on; those months are
    rebuilt too (macros/incremental_kpi_months.sql) -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months(or_where=kpi_months_graded_since_change('month')) }}"
) }}
-- one row per month, territory (every level) and own product: target customers (hospital or
-- pharmacy aligned at month end, graded A-C in the latest quarter ended before the month, or
-- 三甲/三乙 when no quarter was graded yet) and how many bought the product (net > 0)
with months as (
    select * from {{ ref('int_months_with_data') }}
    where {{ kpi_months_read_from('month') }}
),

customers as (
    select * from {{ ref('stg_master__customers') }}
    where customer_type in ('hospital', 'pharmacy')
),

grades as (
    select * from {{ ref('kpi_customer_grade') }}
),

alignments as (
    select * from {{ ref('int_customer_alignments_monthly') }}
    where {{ kpi_months_read_from('month') }}
),

product_lines as (
    select * from {{ ref('int_products_lines_matched') }}
),

own_products as (
    select product_id from {{ ref('stg_master__products') }}
    where is_own
),

territories as (
    select territory_id from {{ ref('stg_master__territories') }}
),

ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

sell_out as (
    select * from {{ ref('fct_sell_out') }}
    where {{ kpi_months_read_from('month') }}
),

-- the grading in force in a month (the latest quarter ended before it): one owner,
-- kpi_coverage_target_basis
grade_quarter_of_month as (
    select month, grade_quarter from {{ ref('kpi_coverage_target_basis') }}
    where {{ kpi_months_read_from('month') }}
),

eligible as (
    select
        grade_quarter_of_month.month,
        customers.crm_customer_id
    from grade_quarter_of_month
    cross join customers
    left join grades
        on grade_quarter_of_month.grade_quarter = grades.quarter
        and customers.crm_customer_id = grades.crm_customer_id
    where (grade_quarter_of_month.grade_quarter is null and customers.level in ('三甲', '三乙'))
        or (grade_quarter_of_month.grade_quarter is not null and grades.grade in ('A', 'B', 'C'))
),

aligned as (
    select month, crm_customer_id, product_id, territory_id
    from (
        select
            alignments.month,
            alignments.crm_customer_id,
            product_lines.product_id,
            alignments.territory_id,
            row_number() over (
                partition by alignments.month, alignments.crm_customer_id,
                    product_lines.product_id
                order by product_lines.specificity, alignments.territory_id
            ) as preference
        from alignments
        inner join product_lines on alignments.product_line = product_lines.product_line
        inner join own_products on product_lines.product_id = own_products.product_id
    ) as ranked
    where preference = 1
),

covered as (
    select month, crm_customer_id, product_id
    from sell_out
    where buyer_kind = 'terminal'
        and crm_customer_id is not null
    group by month, crm_customer_id, product_id
    having sum(qty_boxes) > 0
),

targets as (
    select
        aligned.month,
        aligned.product_id,
        aligned.territory_id,
        aligned.crm_customer_id,
        covered.crm_customer_id is not null as is_covered
    from aligned
    inner join eligible
        on aligned.month = eligible.month
        and aligned.crm_customer_id = eligible.crm_customer_id
    left join covered
        on aligned.month = covered.month
        and aligned.crm_customer_id = covered.crm_customer_id
        and aligned.product_id = covered.product_id
),

rolled_up as (
    select
        targets.month,
        ancestors.ancestor_territory_id as territory_id,
        targets.product_id,
        count(distinct targets.crm_customer_id) as target_customers,
        count(distinct case when targets.is_covered then targets.crm_customer_id end)
            as covered_customers
    from targets
    inner join ancestors on targets.territory_id = ancestors.territory_id
    group by targets.month, ancestors.ancestor_territory_id, targets.product_id
),

scaffold as (
    select months.month, territories.territory_id, own_products.product_id
    from months
    cross join territories
    cross join own_products
),

final as (
    select
        scaffold.month,
        scaffold.territory_id,
        scaffold.product_id,
        cast(coalesce(rolled_up.target_customers, 0) as bigint) as target_customers,
        cast(coalesce(rolled_up.covered_customers, 0) as bigint) as covered_customers,
        {{ safe_divide('rolled_up.covered_customers', 'rolled_up.target_customers') }}
            as coverage_rate
    from scaffold
    left join rolled_up
        on scaffold.month = rolled_up.month
        and scaffold.territory_id = rolled_up.territory_id
        and scaffold.product_id = rolled_up.product_id
    where {{ kpi_months_where('scaffold.month',
                              or_where=kpi_months_graded_since_change('scaffold.month')) }}
)

select * from final
