{#- Incremental facts (fct_*) are replaced month by month on both engines:
    DuckDB   delete+insert on unique_key 'month';
    Spark    insert_overwrite of Parquet partitioned by month (dynamic partition overwrite: the
             months a run selects replace theirs, the others stay). Parquet has no DELETE, so
             `delete_months_of_replaced_files` drops partitions instead. -#}
{% macro incremental_months_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}

{% macro incremental_months_partition() -%}
    {{ return(['month'] if target.type == 'spark' else none) }}
{%- endmacro %}

{% macro spark__delete_months_of_replaced_files(source_system) -%}
    {%- if is_incremental() and execute -%}
        {%- if var('rebuild_all_months', false) -%}
            truncate table {{ this }}
        {%- else -%}
            {%- set months = run_query('select distinct month from ' ~ this ~ ' where '
                                       ~ months_of_replaced_files(source_system)) -%}
            {%- for month in months.columns[0].values() -%}
                {%- do run_query('alter table ' ~ this ~ " drop if exists partition (month = '"
                                 ~ month ~ "')") -%}
            {%- endfor -%}
            select 1
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- dbt-spark's partition clause, with one default: an incremental model replaced by month
    (unique_key 'month', strategy insert_overwrite: the KPI marts' kpi_month_strategy()) is
    partitioned by month on Spark even without a partition_by of its own. Unpartitioned,
    insert_overwrite would replace the whole table with the months one run rebuilt. -#}
{% macro spark__partition_cols(label, required=false) -%}
    {%- set cols = config.get('partition_by', validator=validation.any[list, basestring]) -%}
    {%- if cols is none and config.get('materialized') == 'incremental'
          and config.get('incremental_strategy') == 'insert_overwrite'
          and config.get('unique_key') == 'month' -%}
        {%- set cols = ['month'] -%}
    {%- endif -%}
    {%- if cols is not none -%}
        {%- if cols is string -%}{%- set cols = [cols] -%}{%- endif %}
    {{ label }} ({{ cols | join(', ') }})
    {%- endif %}
{%- endmacro %}

{#- Spark's DELETE of the months a predicate names (Parquet tables have no row DELETE): drop
    their partitions. Returns a no-op statement for the hook. -#}
{% macro spark_drop_months(relation, predicate) -%}
    {%- if execute -%}
        {%- set months = run_query('select distinct month from ' ~ relation ~ ' where '
                                   ~ predicate) -%}
        {%- for month in months.columns[0].values() -%}
            {%- do run_query('alter table ' ~ relation ~ " drop if exists partition (month = '"
                             ~ month ~ "')") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
