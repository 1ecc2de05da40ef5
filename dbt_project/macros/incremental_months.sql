{#- Incremental facts are replaced month by month (delete+insert, unique_key='month').
    On an incremental run a model keeps only the months touched by files loaded at or after the
    newest load already in {{ this }}; those months are deleted from the target and rebuilt in
    full, so a re-sent (superseding) file replaces its period exactly and running twice changes
    nothing. Set var rebuild_all_months (or --full-refresh) to rebuild everything, e.g. after
    steward decisions that change the matches of old months.
    The model calls is_incremental() itself (so unit tests can override it) and renders this
    predicate inside `{% if is_incremental() %} where ... {% endif %}`.

    date_col: the date column of `lines`
    lines:    a relation holding (file_id, <date_col>) for every current source row -#}
{% macro months_touched_since_last_build(date_col, lines) -%}
    {%- if var('rebuild_all_months', false) -%}
    1 = 1
    {%- else -%}
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
    {%- endif -%}
{%- endmacro %}
