{#- Incremental facts are replaced month by month (delete+insert, unique_key='month').
    On an incremental run a model keeps only the months touched by files loaded at or after the
    newest load already in {{ this }}; those months are deleted from the target and rebuilt in
    full, so a re-sent (superseding) file replaces its period exactly and running twice changes
    nothing. Set var rebuild_all_months (or --full-refresh) to rebuild everything.

    date_col:  the fact's date column in `relation_sql`
    lines:     a relation holding (file_id, <date_col>) for every current source row -#}
{% macro months_touched_since_last_build(date_col, lines) -%}
    {%- if is_incremental() and not var('rebuild_all_months', false) -%}
    month in (
        select distinct {{ month_key('changed.' ~ date_col) }}
        from {{ lines }} as changed
        inner join {{ ref('stg_audit__file_registry') }} as changed_files
            on changed.file_id = changed_files.file_id
        where changed_files.loaded_at >= (
            select coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
            from {{ this }}
        )
    )
    {%- else -%}
    1 = 1
    {%- endif -%}
{%- endmacro %}
