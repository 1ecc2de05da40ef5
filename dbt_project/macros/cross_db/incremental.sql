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
        {%- if run_var('rebuild_all_months', false) -%}
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

{#- dbt-spark's partition clause, with one default: an incremental model replaced by month or
    quarter (unique_key 'month' or 'quarter', strategy insert_overwrite: the KPI marts'
    kpi_month_strategy()) is partitioned by that key on Spark even without a partition_by of its
    own. Unpartitioned, insert_overwrite would replace the whole table with the periods one run
    rebuilt. -#}
{% macro spark__partition_cols(label, required=false) -%}
    {%- set cols = config.get('partition_by', validator=validation.any[list, basestring]) -%}
    {%- if cols is none and config.get('materialized') == 'incremental'
          and config.get('incremental_strategy') == 'insert_overwrite'
          and config.get('unique_key') in ('month', 'quarter') -%}
        {%- set cols = [config.get('unique_key')] -%}
    {%- endif -%}
    {%- if cols is not none -%}
        {%- if cols is string -%}{%- set cols = [cols] -%}{%- endif %}
    {{ label }} ({{ cols | join(', ') }})
    {%- endif %}
{%- endmacro %}

{#- Spark's DELETE of the periods a predicate names (Parquet tables have no row DELETE): drop
    the partitions of `column` (the table's partition column) holding them. Returns a no-op
    statement for the hook. A table not partitioned by `column` (built as a full table by an
    earlier version) cannot be replaced by period: the build stops and says how to rebuild. -#}
{% macro spark_drop_partitions(relation, column, predicate) -%}
    {%- if execute -%}
        {%- if column not in spark_partition_columns(relation) -%}
            {{ exceptions.raise_compiler_error(
                relation ~ ' on Spark is not partitioned by ' ~ column ~ ' (an earlier version'
                ~ ' built it as a full table), so its rebuilt periods cannot replace their old'
                ~ ' rows: run `sfe build --force --engine spark` once to rebuild every table') }}
        {%- endif -%}
        {%- set values = run_query('select distinct ' ~ column ~ ' from ' ~ relation
                                   ~ ' where ' ~ predicate) -%}
        {%- for value in values.columns[0].values() -%}
            {%- do run_query('alter table ' ~ relation ~ ' drop if exists partition ('
                             ~ column ~ " = '" ~ value ~ "')") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- The partition columns of a Spark table (the rows after '# Partition Information' in
    `describe table`). -#}
{% macro spark_partition_columns(relation) -%}
    {%- set rows = run_query('describe table ' ~ relation).columns[0].values() -%}
    {%- set seen = [] -%}
    {%- set out = [] -%}
    {%- for name in rows -%}
        {%- if name == '# Partition Information' -%}
            {%- do seen.append(name) -%}
        {%- elif seen and name and not name.startswith('#') -%}
            {%- do out.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}
