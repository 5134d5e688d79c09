-- Every scorecard KPI's value per period and team, read from the marts that already compute
-- it (no KPI rule is written again here): per week and team from the weekly delivery,
-- incident and capacity marts, per month org-wide ('all') from the scorecard. A capacity
-- share is 0 in a week where the team had effort but none in that category; a week without
-- effort has no capacity row, hence no share. The bets ledger compares windows of these.
with

delivery as (

    select * from {{ ref('kpi_delivery_weekly') }}

),

incidents as (

    select * from {{ ref('kpi_incidents_weekly') }}

),

capacity as (

    select * from {{ ref('mart_capacity_allocation') }}

),

scorecard as (

    select * from {{ ref('kpi_scorecard') }}

),

capacity_shares as (

    select
        week_start,
        team,
        sum(case when category = 'roadmap' then share else 0 end) as roadmap_share,
        sum(case when category = 'platform' then share else 0 end) as platform_share,
        sum(case when category = 'unplanned' then share else 0 end) as unplanned_share,
        bool_and(is_complete) as is_complete
    from capacity
    group by week_start, team

),

-- One row per week, team and weekly KPI (the relation, then the KPI columns it holds).
{%- set weekly = [
    ('delivery', ['lead_time_p50_hours', 'lead_time_p95_hours', 'deployments',
                  'rollback_rate', 'change_failure_rate']),
    ('incidents', ['incidents', 'mttr_hours']),
    ('capacity_shares', ['roadmap_share', 'platform_share', 'unplanned_share']),
] %}
unpivoted as (

    {% for relation, kpis in weekly %}
        {% for kpi in kpis %}
            select
                'week' as period,
                week_start as period_start,
                team,
                '{{ kpi }}' as kpi,
                cast({{ kpi }} as double precision) as kpi_value,
                is_complete
            from {{ relation }}
            union all
        {% endfor %}
    {% endfor %}
    select
        'month' as period,
        month_start as period_start,
        'all' as team,
        kpi,
        cast(value as double precision) as kpi_value,
        is_complete
    from scorecard

),

final as (

    select * from unpivoted

)

select * from final
