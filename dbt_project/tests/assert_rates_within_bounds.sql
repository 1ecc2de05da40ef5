-- rates that are shares must lie in [0, 1]; ratios that may exceed 1 must not be negative
{% set shares = [
    ('kpi_coverage', 'coverage_rate'),
    ('kpi_call_activity', 'reach_rate'),
    ('kpi_call_activity', 'plan_adherence'),
    ('kpi_call_activity', 'report_on_time_rate'),
    ('kpi_flow_completeness', 'match_rate'),
    ('kpi_flow_completeness', 'received_rate'),
    ('kpi_flow_completeness', 'on_time_rate'),
    ('kpi_flow_completeness_region', 'completeness_rate'),
    ('kpi_flow_completeness_region', 'on_time_rate'),
    ('kpi_flow_completeness_region', 'match_rate'),
    ('kpi_tender', 'win_rate'),
    ('scorecard_weekly', 'coverage_rate'),
    ('scorecard_weekly', 'plan_adherence'),
    ('scorecard_weekly', 'flow_completeness_rate'),
] %}
{% set non_negative = [
    ('kpi_call_activity', 'frequency'),
    ('kpi_customer_grade', 'score'),
] %}
{% for model, column in shares %}
select '{{ model }}' as model_name, '{{ column }}' as column_name, {{ column }} as value
from {{ ref(model) }}
where {{ column }} < 0 or {{ column }} > 1
union all
{% endfor %}
{% for model, column in non_negative %}
select '{{ model }}', '{{ column }}', {{ column }}
from {{ ref(model) }}
where {{ column }} < 0
{% if not loop.last %}union all{% endif %}
{% endfor %}
