{#- Master values as a CRM/MDM export writes them (Chinese or English) → the canonical codes the
    marts expect. Canonical inputs come out unchanged; a value that is not recognised is kept as
    written (trimmed), so the accepted-values tests on the staging models show it. Empty → NULL. -#}

{#- lower case, no spaces, underscores or hyphens: 'Retail Pharmacy' → 'retailpharmacy' -#}
{% macro master_value_key(column) -%}
    replace(replace(replace(lower(trim({{ column }})), ' ', ''), '_', ''), '-', '')
{%- endmacro %}

{#- hospital | pharmacy | clinic | distributor_outlet. Chinese by what the name holds (a 社区医院
    is a clinic, a 医院药房 a pharmacy), English by exact name. -#}
{% macro normalise_customer_type(column) -%}
    {%- set key = master_value_key(column) -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        when {{ key }} in ('hospital', 'hosp', 'publichospital', 'privatehospital',
                           'generalhospital', 'specialisthospital', 'specialtyhospital')
            then 'hospital'
        when {{ key }} in ('pharmacy', 'retailpharmacy', 'chainpharmacy', 'drugstore', 'retail',
                           'dtp', 'dtppharmacy', 'otc')
            then 'pharmacy'
        when {{ key }} in ('clinic', 'communityhealthcenter', 'communityhealthcentre', 'chc',
                           'primarycare', 'townshiphospital')
            then 'clinic'
        when {{ key }} in ('distributoroutlet', 'distributor', 'dealer', 'wholesaler',
                           'commercial')
            then 'distributor_outlet'
        when {{ key }} like '%商业%' or {{ key }} like '%经销%' or {{ key }} like '%配送%'
            or {{ key }} like '%分销%' or {{ key }} like '%批发%' or {{ key }} like '%医药公司%'
            then 'distributor_outlet'
        when {{ key }} like '%药店%' or {{ key }} like '%药房%' or {{ key }} like '%零售%'
            then 'pharmacy'
        when {{ key }} like '%卫生服务%' or {{ key }} like '%卫生院%' or {{ key }} like '%卫生室%'
            or {{ key }} like '%卫生所%' or {{ key }} like '%社区医院%' or {{ key }} like '%诊所%'
            or {{ key }} like '%门诊部%' or {{ key }} like '%基层%'
            then 'clinic'
        when {{ key }} like '%医院%' or {{ key }} like '%保健院%' then 'hospital'
        else trim({{ column }})
    end
{%- endmacro %}

{#- Hospital level as the marts write it: 三甲 三乙 三丙 二甲 二乙 二丙 一级 未定级.
    三级甲等 / 3级甲等 / 3甲 / 3A / 三级甲等医院 → 三甲; 一级甲等 / 一级 / 1级 → 一级. -#}
{% macro normalise_hospital_level(column) -%}
    {%- set key -%}
        translate(replace(replace(replace(replace(upper(trim({{ column }})), ' ', ''), '医院', ''),
                                  '级', ''), '等', ''),
                  '123ABC', '一二三甲乙丙')
    {%- endset -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        when {{ key }} in ('三甲', '三乙', '三丙', '二甲', '二乙', '二丙') then {{ key }}
        when {{ key }} in ('一', '一甲', '一乙', '一丙') then '一级'
        when {{ key }} in ('未定', '未评', '未分', '未定等', '无') then '未定级'
        else trim({{ column }})
    end
{%- endmacro %}

{#- HCP grade A-D: 'a', 'A类', 'A级', 'A 类医生' → A; anything else kept as written, upper case. -#}
{% macro normalise_hcp_grade(column) -%}
    {%- set key = "upper(replace(trim(" ~ column ~ "), ' ', ''))" -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        when {{ regexp_matches(key, "'^[ABCD](类|级|档|等)?(医生|客户|专家)?$'") }}
            then left({{ key }}, 1)
        else upper(trim({{ column }}))
    end
{%- endmacro %}

{#- Territory level nation | region | district | territory from 全国 / 大区 / 地区 / 辖区. -#}
{% macro normalise_territory_level(column) -%}
    {%- set key = master_value_key(column) -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        when {{ key }} in ('全国', '国家', '总部', 'national', 'country') then 'nation'
        when {{ key }} in ('大区', 'regional') then 'region'
        when {{ key }} in ('地区', '片区', '省区', 'area') then 'district'
        when {{ key }} in ('辖区', '岗位', '代表区域', 'terr') then 'territory'
        else lower(trim({{ column }}))
    end
{%- endmacro %}
