{#- Incremental facts are replaced month by month (delete+insert, unique_key='month').
    On an incremental run a model keeps only the months touched by files loaded at or after the
    newest load already in {{ this }}; those months are deleted from the target and rebuilt in
    full, so a re-sent (superseding) file replaces its period exactly and running twice changes
    nothing. Set var rebuild_all_months (or --full-refresh) to rebuild everything, e.g. after
    steward decisions that change the matches of old months.
    The model checks is_incremental() and var('rebuild_all_months') itself (so unit tests can
    override both) and renders this predicate inside
    `{% if is_incremental() and not var('rebuild_all_months', false) %} where ... {% endif %}`.
    `sfe build` sets rebuild_all_months when matching results or master snapshots changed.

    date_col: the date column of `lines`
    lines:    a relation holding (file_id, <date_col>) for every current source row -#}
{% macro months_touched_since_last_build(date_col, lines) -%}
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
{%- endmacro %}
