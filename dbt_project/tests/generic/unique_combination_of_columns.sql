{#- The grain test: no two rows share the same values in `combination` (a list of columns). -#}
{% test unique_combination_of_columns(model, combination) %}

select {{ combination | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1

{% endtest %}
