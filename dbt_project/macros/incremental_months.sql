{#- Incremental facts are replaced month by month (delete+insert, unique_key='month').
    On an incremental run a model keeps only the months touched by files loaded at or after the
    newest load already in {{ this }}; those months are deleted from the target and rebuilt in
    full, so a re-sent (superseding) file replaces its period exactly and running twice changes
    nothing. Months of files those new files replaced count as touched too: their rows are gone
    from raw, so delete+insert alone (which deletes only months it inserts) would leave them in
    the facts; `delete_months_of_replaced_files` (a pre-hook) empties those months first.
    Set var rebuild_all_months (or --full-refresh) to rebuild everything, e.g. after
    steward decisions that change the matches of old months (`run_var`: --vars or sfe's env).
    The model checks is_incremental() and run_var('rebuild_all_months') itself (so unit tests can
    override both) and renders this predicate inside
    `{% if is_incremental() and not run_var('rebuild_all_months', false) %} where ... {% endif %}`.
    `sfe build` sets rebuild_all_months when matching results or master snapshots changed.

    date_col:      the date column of `lines`
    lines:         a relation holding (file_id, <date_col>) for every current source row
    source_system: the registry's `source` of those files (flow, sellin, calls), for replaced
                   files; none when files of that source are never replaced -#}
{% macro months_touched_since_last_build(date_col, lines, source_system=none) -%}
    month in (
        select distinct {{ month_key('changed.' ~ date_col) }}
        from {{ lines }} as changed
        inner join {{ ref('stg_audit__file_registry') }} as changed_files
            on changed.file_id = changed_files.file_id
        where changed_files.loaded_at >= {{ last_build_watermark() }}
            -- sfe build's changed months hold those files' months: prunes the scan of history
            and {{ changed_months_date_where('changed.' ~ date_col) }}
    )
    {%- if source_system is not none %}
    or {{ months_of_replaced_files(source_system) }}
    {%- endif %}
{%- endmacro %}


{#- The newest load the target already holds (1900 when empty). -#}
{% macro last_build_watermark() -%}
    (
        select coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }}
    )
{%- endmacro %}


{#- Every month of the period of each file superseded by a file loaded since the last build
    (the registry keeps a replaced file's period; its rows are deleted from raw). -#}
{% macro months_of_replaced_files(source_system) -%}
    month in (
        select distinct {{ month_key(dbt.dateadd('month', 'month_offsets.n',
                                                 'replaced.first_month')) }}
        from (
            select
                cast({{ dbt.date_trunc('month', 'old_files.period_start') }} as date)
                    as first_month,
                old_files.period_end
            from {{ ref('stg_audit__file_registry') }} as old_files
            inner join {{ ref('stg_audit__file_registry') }} as new_files
                on old_files.superseded_by = new_files.file_id
            where old_files.file_status = 'superseded'
                and old_files.source_system = '{{ source_system }}'
                and old_files.period_start is not null
                and new_files.loaded_at >= {{ last_build_watermark() }}
        ) as replaced
        cross join (
            -- 0..999 months: any period a file can cover
            select ones.d + 10 * tens.d + 100 * hundreds.d as n
            from {{ digits_0_to_9() }} as ones
            cross join {{ digits_0_to_9() }} as tens
            cross join {{ digits_0_to_9() }} as hundreds
        ) as month_offsets
        where {{ dbt.dateadd('month', 'month_offsets.n', 'replaced.first_month') }}
            <= replaced.period_end
    )
{%- endmacro %}


{% macro digits_0_to_9() -%}
    (select 0 as d union all select 1 union all select 2 union all select 3
     union all select 4 union all select 5 union all select 6 union all select 7
     union all select 8 union all select 9)
{%- endmacro %}


{#- Pre-hook of an incremental fact: on an incremental run, empty the months of replaced files
    (the model then re-inserts whatever rows those months still have), or every month when
    rebuild_all_months is set (a month whose rows all went away must not keep old ones). -#}
{% macro delete_months_of_replaced_files(source_system) -%}
    {{ return(adapter.dispatch('delete_months_of_replaced_files')(source_system)) }}
{%- endmacro %}

{% macro default__delete_months_of_replaced_files(source_system) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {% if run_var('rebuild_all_months', false) %}true{% else %}{{
        months_of_replaced_files(source_system) }}{% endif %}
    {%- endif -%}
{%- endmacro %}
