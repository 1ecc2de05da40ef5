{#- CRM and marketing codes as the systems' exports write them (Chinese or English) → the codes
    of sources.md. Canonical inputs come out unchanged; an unrecognised value is kept as written
    (trimmed) so the accepted-values tests on the staging models warn about it. Empty → NULL. -#}

{#- face_to_face | remote | meeting. A meeting first: 线上会议 is a meeting held online. -#}
{% macro normalise_call_channel(column) -%}
    {%- set key = master_value_key(column) -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        when {{ key }} in ('facetoface', 'f2f', 'visit', 'inperson', 'offline', 'detailing')
            then 'face_to_face'
        when {{ key }} in ('remote', 'online', 'phone', 'telephone', 'video', 'wechat', 'email',
                           'virtual', 'edetail', 'edetailing', 'remotedetailing')
            then 'remote'
        when {{ key }} in ('meeting', 'event', 'conference', 'groupmeeting') then 'meeting'
        when {{ key }} like '%会%' then 'meeting'
        when {{ key }} like '%线上%' or {{ key }} like '%远程%' or {{ key }} like '%电话%'
            or {{ key }} like '%微信%' or {{ key }} like '%视频%' or {{ key }} like '%网络%'
            or {{ key }} like '%邮件%'
            then 'remote'
        when {{ key }} like '%面访%' or {{ key }} like '%拜访%' or {{ key }} like '%面对面%'
            or {{ key }} like '%当面%' or {{ key }} like '%线下%' or {{ key }} like '%上门%'
            then 'face_to_face'
        else trim({{ column }})
    end
{%- endmacro %}

{#- academic_meeting | department_meeting | sponsorship | other. 科室会 and 赞助 before the
    other meetings (会议赞助 sponsors a meeting; a 科室会 is a meeting too). -#}
{% macro normalise_activity_type(column) -%}
    {%- set key = master_value_key(column) -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        when {{ key }} in ('academicmeeting', 'symposium', 'conference', 'congress')
            then 'academic_meeting'
        when {{ key }} in ('departmentmeeting', 'deptmeeting', 'departmentalmeeting',
                           'hospitalmeeting')
            then 'department_meeting'
        when {{ key }} in ('sponsorship', 'sponsor') then 'sponsorship'
        when {{ key }} = 'other' then 'other'
        when {{ key }} like '%科室会%' or {{ key }} like '%院内会%' then 'department_meeting'
        when {{ key }} like '%赞助%' then 'sponsorship'
        when {{ key }} like '%学术%' or {{ key }} like '%研讨会%' or {{ key }} like '%大会%'
            or {{ key }} like '%年会%' or {{ key }} like '%会议%'
            then 'academic_meeting'
        when {{ key }} in ('其他', '其它') then 'other'
        else trim({{ column }})
    end
{%- endmacro %}
