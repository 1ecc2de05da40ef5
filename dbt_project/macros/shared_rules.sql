{#- SQL rules more than one model applies: each has its one owner here. -#}

{#- The master data in force: the rows of the latest snapshot of a master source (a re-sent
    master replaces the whole list; older snapshots are history). matching/sources.py applies
    the same rule to the raw tables before dbt runs (tests/dbt pin the two to agree). -#}
{% macro latest_snapshot(relation) -%}
    select * from {{ relation }}
    where snapshot_date = (select max(snapshot_date) from {{ relation }})
{%- endmacro %}

{#- The buyer key a flow line and its customer_source_map row join on: a missing buyer code
    is '' (not NULL, which joins nothing). -#}
{% macro buyer_key(column='buyer_code') -%}
    coalesce({{ column }}, '')
{%- endmacro %}

{#- Year to date: the running total of `column` over the months of the row's year, per
    `partition_by` (the rows must carry `year` and `month`). -#}
{% macro year_to_date(column, partition_by) -%}
    sum({{ column }}) over (
            partition by {{ partition_by }}, year
            order by month
            rows between unbounded preceding and current row
        )
{%- endmacro %}
