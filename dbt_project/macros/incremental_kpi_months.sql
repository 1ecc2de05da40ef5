{#- Incremental KPI marts by month.

    `sfe build` passes `kpi_changed_months` (run_var: env SFE_RUN_KPI_CHANGED_MONTHS): the months ('YYYY-MM') of every file that is
    new, gone or changed since the last successful build (sfe/build_months.py). It passes none
    when it cannot bound the change (first build, a file without a period such as a master
    snapshot, a changed project, seed or var): then, like with rebuild_all_months or
    --full-refresh, every month is rebuilt. By hand, without the var, a KPI mart rebuilds all
    months (correct, just not faster).

    A mart declares how far a month's inputs reach forward (its horizon):
      after=n          months m+1 .. m+n read month m too (rolling windows, a quarter's grades)
      rest_of_year     months m+1 .. December read month m (year-to-date figures)
    and how far back its rebuilt months read (`kpi_months_read_from(back=n, year_start=...)`),
    so the inputs it scans are bounded by the months rebuilt, not by the history kept.

    Config (portable): `materialized='incremental'`, `incremental_strategy=
    kpi_month_strategy()`, `unique_key='month'`, and the pre-hook
    `kpi_delete_rebuilt_months(...)` empties the rebuilt months first, so a month whose rows all
    went away loses them on every adapter (delete+insert deletes only months it inserts; Spark's
    insert_overwrite only partitions it writes). -#}

{#- The incremental strategy for month-partitioned marts: delete+insert on DuckDB (and any
    adapter that has it); Spark overwrites the month partitions it writes. -#}
{% macro kpi_month_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}


{#- The changed months on this run, or none when every month is rebuilt. -#}
{% macro kpi_changed_months() -%}
    {#- the var first: unit tests (no var) never reach is_incremental(), which needs `this` -#}
    {%- set months = changed_months_of_vars() -%}
    {{ return(none if months is none or not is_incremental() else months) }}
{%- endmacro %}


{#- The months the vars name (a list, also from 'a, b' text), or none when every month is
    built: no var, or rebuild_all_months. Tests read this (they take no is_incremental()). -#}
{% macro changed_months_of_vars() -%}
    {%- set months = run_var('kpi_changed_months') -%}
    {%- if months is none or run_var('rebuild_all_months', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if months is string -%}
        {%- set months = months.split(',') | map('trim') | reject('equalto', '') | list -%}
    {%- endif -%}
    {{ return(months | list) }}
{%- endmacro %}


{#- 'YYYY-MM' → a month number (year * 12 + month - 1) and back. -#}
{% macro _kpi_month_index(month) -%}
    {{ return((month[:4] | int) * 12 + (month[5:7] | int) - 1) }}
{%- endmacro %}

{% macro _kpi_month_label(index) -%}
    {{ return('%04d-%02d' | format(index // 12, index % 12 + 1)) }}
{%- endmacro %}


{#- The months this run rebuilds: the changed months plus the months that read them. None:
    all. -#}
{% macro kpi_rebuilt_months(after=0, rest_of_year=false) -%}
    {%- set changed = kpi_changed_months() -%}
    {%- if changed is none -%}{{ return(none) }}{%- endif -%}
    {%- set out = [] -%}
    {%- for month in changed -%}
        {%- set first = _kpi_month_index(month) -%}
        {%- set last = first + after -%}
        {%- if rest_of_year -%}
            {%- set last = [last, first - first % 12 + 11] | max -%}
        {%- endif -%}
        {%- for index in range(first, last + 1) -%}
            {%- set label = _kpi_month_label(index) -%}
            {%- if label not in out -%}{%- do out.append(label) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(out | sort) }}
{%- endmacro %}


{#- A predicate: `column` is a rebuilt month (true when all are). `or_where`: a predicate
    naming further months (e.g. those graded on a changed quarter), for dependencies a fixed
    horizon cannot bound. -#}
{% macro kpi_months_where(column, after=0, rest_of_year=false, or_where=none) -%}
    {%- set months = kpi_rebuilt_months(after, rest_of_year) -%}
    {%- if months is none -%}
        (1 = 1)
    {%- elif months | length == 0 -%}
        (1 = 0)
    {%- else -%}
        ({{ column }} in ({% for m in months %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %})
        {%- if or_where is not none %} or {{ or_where }}{% endif %})
    {%- endif -%}
{%- endmacro %}


{#- The quarter ('YYYY-Qn') of the first changed month, or none. A quarter's customer grades
    read its calls and the 12 months of sell-out up to its end, so a change in month m can
    move the grades of quarter(m) and later ones only. -#}
{% macro kpi_first_changed_quarter() -%}
    {%- set changed = kpi_changed_months() -%}
    {%- if changed is none or changed | length == 0 -%}{{ return(none) }}{%- endif -%}
    {%- set first = (changed | sort)[0] -%}
    {{ return(first[:4] ~ '-Q' ~ (((first[5:7] | int) - 1) // 3 + 1)) }}
{%- endmacro %}


{#- Months whose coverage targets come from grades a change can move: those graded on the
    first changed quarter or later (kpi_coverage_target_basis owns the grade in force). -#}
{% macro kpi_months_graded_since_change(column) -%}
    {%- set quarter = kpi_first_changed_quarter() -%}
    {%- if quarter is none -%}
        (1 = 0)
    {%- else -%}
        {{ column }} in (select month from {{ ref('kpi_coverage_target_basis') }}
                         where grade_quarter >= '{{ quarter }}')
    {%- endif -%}
{%- endmacro %}


{#- A predicate bounding the inputs a mart reads: `column` (a 'YYYY-MM' month) is at or after
    the first month any rebuilt month needs — `back` months before it, or 1 January of its year
    with year_start. True when all months are rebuilt. -#}
{% macro kpi_months_read_from(column, after=0, rest_of_year=false, back=0, year_start=false) -%}
    {%- set months = kpi_rebuilt_months(after, rest_of_year) -%}
    {%- if months is none or months | length == 0 -%}
        (1 = 1)
    {%- else -%}
        {%- set first = _kpi_month_index(months[0]) -%}
        {%- set first = first - first % 12 if year_start else first - back -%}
        {{ column }} >= '{{ _kpi_month_label(first) }}'
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook: on an incremental run, empty the months this run rebuilds (all of them when
    none are given). -#}
{% macro kpi_delete_rebuilt_months(after=0, rest_of_year=false, or_where=none) -%}
    {%- if is_incremental() -%}
    {{ kpi_empty_periods('month', kpi_months_where('month', after, rest_of_year, or_where)) }}
    {%- endif -%}
{%- endmacro %}


{#- Empty the rows of {{ this }} whose `column` (the mart's unique_key: 'month' or 'quarter')
    the predicate names, before the rebuilt periods are inserted. A rebuilt period with no new
    rows must end empty, not keep its old rows: DuckDB deletes them; Spark (Parquet, no row
    DELETE; insert_overwrite replaces only the partitions its new rows fall in) drops their
    partitions, the table being partitioned by that column (spark__partition_cols). -#}
{% macro kpi_empty_periods(column, predicate) -%}
    {{ return(adapter.dispatch('kpi_empty_periods')(column, predicate)) }}
{%- endmacro %}

{% macro default__kpi_empty_periods(column, predicate) -%}
    delete from {{ this }} where {{ predicate }}
{%- endmacro %}

{% macro spark__kpi_empty_periods(column, predicate) -%}
    {{ spark_drop_partitions(this, column, predicate) }}
{%- endmacro %}


{#- `where: __changed_months__` on a data test that needs no whole-table scan (a key unique
    and not null within each month; the model has a `month` column): on a build with var
    kpi_changed_months it tests those months only (the others passed on the build that made
    them); on every other build, all rows. Tests take no is_incremental(), so this reads the
    vars only. dbt allows no macro in a test's `where`, hence the placeholder, replaced in
    get_where_subquery below (dbt's documented override). -#}
{% macro changed_months_test_where(column) -%}
    {%- set months = changed_months_of_vars() -%}
    {%- if months is none -%}
        1 = 1
    {%- elif months | length == 0 -%}
        1 = 0
    {%- else -%}
        {{ column }} in ({% for m in months %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}


{#- The same months as a range of `date_col` (one `>= first day and < next month's first day`
    per run of consecutive months): a month label computed from a date (month_key) hides the
    date from the scan, so a month filter alone reads every row group of the history; a date
    range prunes them (DuckDB zone maps, Spark partition/file stats). `1 = 1` when all months
    are tested, `1 = 0` when none. Callers keep rows without a date themselves. -#}
{% macro changed_months_date_where(date_col) -%}
    {%- set months = changed_months_of_vars() -%}
    {%- if months is none -%}
        1 = 1
    {%- elif months | length == 0 -%}
        1 = 0
    {%- else -%}
        {%- set runs = [] -%}
        {%- for month in months | sort -%}
            {%- set index = _kpi_month_index(month) | int -%}
            {%- if runs and runs[-1]['last'] + 1 >= index -%}
                {%- do runs[-1].update({'last': [runs[-1]['last'], index] | max}) -%}
            {%- else -%}
                {%- do runs.append({'first': index, 'last': index}) -%}
            {%- endif -%}
        {%- endfor -%}
        {#- the span first: DuckDB pushes a plain range into the scan of both sides of a join
            (an OR of ranges reaches one side only) -#}
        ({{ date_col }} >= cast('{{ _kpi_month_label(runs[0]['first']) }}-01' as date)
            and {{ date_col }} < cast('{{ _kpi_month_label(runs[-1]['last'] + 1) }}-01' as date)
        {%- if runs | length > 1 %}
            and ({% for run in runs %}({{ date_col }} >= cast('{{ _kpi_month_label(run['first']) }}-01' as date)
                and {{ date_col }} < cast('{{ _kpi_month_label(run['last'] + 1) }}-01' as date))
                {%- if not loop.last %} or {% endif %}{% endfor %})
        {%- endif %})
    {%- endif -%}
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__changed_months__' in where -%}
            {%- set where = where | replace('__changed_months__',
                                            changed_months_test_where('month')) -%}
        {%- endif -%}
        {#- `__changed_dates(col)__`: the same months as a range of date column `col` -#}
        {%- set ns = namespace(where=where) -%}
        {%- for col in modules.re.findall('__changed_dates[(](\\w+)[)]__', where) -%}
            {%- set ns.where = ns.where | replace('__changed_dates(' ~ col ~ ')__',
                                                  changed_months_date_where(col)) -%}
        {%- endfor -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ ns.where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#- Months graded on the first changed quarter or later, without reading a table: every month
    from the first month after that quarter (a month is graded on the latest quarter ended
    before it). A superset of kpi_months_graded_since_change, for marts whose unit tests must
    not need kpi_coverage_target_basis as an input. -#}
{% macro kpi_months_after_changed_quarter(column) -%}
    {%- set changed = kpi_changed_months() -%}
    {%- if changed is none or changed | length == 0 -%}
        (1 = 0)
    {%- else -%}
        {%- set first = _kpi_month_index((changed | sort)[0]) -%}
        {{ column }} >= '{{ _kpi_month_label(first - first % 3 + 3) }}'
    {%- endif -%}
{%- endmacro %}


{#- Quarter-grained marts (kpi_customer_grade): the quarters ('YYYY-Qn') of the rebuilt months
    (changed months widened by `after`). None: all. -#}
{% macro kpi_rebuilt_quarters(after=0) -%}
    {%- set months = kpi_rebuilt_months(after) -%}
    {%- if months is none -%}{{ return(none) }}{%- endif -%}
    {%- set out = [] -%}
    {%- for month in months -%}
        {%- set quarter = month[:4] ~ '-Q' ~ (((month[5:7] | int) - 1) // 3 + 1) -%}
        {%- if quarter not in out -%}{%- do out.append(quarter) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(out | sort) }}
{%- endmacro %}


{#- A predicate: `column` (a 'YYYY-Qn' quarter) is rebuilt on this run (true when all are). -#}
{% macro kpi_quarters_where(column, after=0) -%}
    {%- set quarters = kpi_rebuilt_quarters(after) -%}
    {%- if quarters is none -%}
        (1 = 1)
    {%- elif quarters | length == 0 -%}
        (1 = 0)
    {%- else -%}
        {{ column }} in ({% for q in quarters %}'{{ q }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}


{#- A predicate bounding the inputs of rebuilt quarters: `column` (a 'YYYY-MM' month) is at or
    after `back` months before the first month of the first rebuilt quarter. -#}
{% macro kpi_quarters_read_from(column, after=0, back=0) -%}
    {%- set quarters = kpi_rebuilt_quarters(after) -%}
    {%- if quarters is none or quarters | length == 0 -%}
        (1 = 1)
    {%- else -%}
        {%- set first = (quarters[0][:4] | int) * 12 + ((quarters[0][6:] | int) - 1) * 3 -%}
        {{ column }} >= '{{ _kpi_month_label(first - back) }}'
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of a quarter-grained mart: empty the rebuilt quarters. -#}
{% macro kpi_delete_rebuilt_quarters(after=0) -%}
    {%- if is_incremental() -%}
    {{ kpi_empty_periods('quarter', kpi_quarters_where('quarter', after)) }}
    {%- endif -%}
{%- endmacro %}


{#- Marts carrying a running balance (kpi_channel_inventory): a change in month m can move
    every later month, so the run rebuilds every month from the first changed one, starting
    from the stored rows of the months just before it. None: all months. -#}
{% macro kpi_first_rebuilt_month() -%}
    {%- set changed = kpi_changed_months() -%}
    {%- if changed is none -%}{{ return(none) }}{%- endif -%}
    {%- if changed | length == 0 -%}{{ return('9999-12') }}{%- endif -%}
    {{ return((changed | sort)[0]) }}
{%- endmacro %}


{#- A predicate: `column` is at or after the first rebuilt month, `back` months earlier. -#}
{% macro kpi_months_since_first_change(column, back=0) -%}
    {%- set first = kpi_first_rebuilt_month() -%}
    {%- if first is none -%}
        (1 = 1)
    {%- elif first == '9999-12' -%}
        (1 = 0)
    {%- else -%}
        {{ column }} >= '{{ _kpi_month_label(_kpi_month_index(first) - back) }}'
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of a running-balance mart: empty every month from the first changed one. -#}
{% macro kpi_delete_months_since_first_change() -%}
    {%- if is_incremental() -%}
    {{ kpi_empty_periods('month', kpi_months_since_first_change('month')) }}
    {%- endif -%}
{%- endmacro %}
