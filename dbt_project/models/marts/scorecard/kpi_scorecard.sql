-- The organisation's monthly scorecard: the 13 headline KPIs and one per ticket theme, each
-- computed over the month's own events exactly as its weekly or monthly definition
-- (percentiles over the month's deployed changes, rates over the month's deployments, MTTR
-- over the month's resolved incidents, capacity shares over the weeks starting in the
-- month), with the previous month's value and the relative change (NULL for a month not yet
-- complete). One row per month of the shared monthly range and KPI.
with

months as (

    select * from {{ ref('int_months') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

deployments as (

    select * from {{ ref('fct_deployments') }}

),

changes as (

    select * from {{ ref('fct_changes') }}

),

incidents as (

    select * from {{ ref('int_incidents_timed') }}

),

support as (

    select * from {{ ref('kpi_support_monthly') }}

),

support_themes as (

    select * from {{ ref('kpi_support_themes_monthly') }}

),

cost_to_serve as (

    select * from {{ ref('kpi_cost_to_serve_monthly') }}

),

capacity as (

    select * from {{ ref('mart_capacity_allocation') }}

),

deployment_stats as (

    select
        {{ month_start(to_utc_timestamp('deployed_at')) }} as month_start,
        count(*) as deployments,
        sum(case when is_rollback then 0 else 1 end) as non_rollback_deployments,
        sum(case when rolled_back then 1 else 0 end) as rolled_back_deployments,
        sum(
            case
                when not is_rollback and (rolled_back or incident_id is not null) then 1
                else 0
            end
        ) as change_failures
    from deployments
    where succeeded
    group by {{ month_start(to_utc_timestamp('deployed_at')) }}

),

change_stats as (

    select
        {{ month_start(to_utc_timestamp('deployed_at')) }} as month_start,
        count(*) as changes,
        {{ percentile_cont('lead_time_hours', 0.5) }} as lead_time_p50_hours,
        {{ percentile_cont('lead_time_hours', 0.95) }} as lead_time_p95_hours
    from changes
    where deployed_at is not null
    group by {{ month_start(to_utc_timestamp('deployed_at')) }}

),

incident_stats as (

    select
        {{ month_start('created_at') }} as month_start,
        count(*) as incidents,
        count(time_to_resolve_hours) as resolved_incidents,
        avg(time_to_resolve_hours) as mttr_hours
    from incidents
    group by {{ month_start('created_at') }}

),

capacity_stats as (

    select
        {{ month_start('week_start') }} as month_start,
        sum(fte_weeks) as fte_weeks,
        sum(case when category = 'roadmap' then fte_weeks else 0 end) as roadmap_fte_weeks,
        sum(case when category = 'platform' then fte_weeks else 0 end) as platform_fte_weeks,
        sum(case when category = 'unplanned' then fte_weeks else 0 end) as unplanned_fte_weeks
    from capacity
    where team = 'all'
    group by {{ month_start('week_start') }}

),

monthly as (

    select
        months.month_start,
        coalesce(deployment_stats.deployments, 0) as deployments,
        coalesce(deployment_stats.non_rollback_deployments, 0) as non_rollback_deployments,
        deployment_stats.rolled_back_deployments,
        deployment_stats.change_failures,
        coalesce(change_stats.changes, 0) as changes,
        change_stats.lead_time_p50_hours,
        change_stats.lead_time_p95_hours,
        coalesce(incident_stats.incidents, 0) as incidents,
        coalesce(incident_stats.resolved_incidents, 0) as resolved_incidents,
        incident_stats.mttr_hours,
        coalesce(support.tickets, 0) as tickets,
        support.tickets_per_1k_customers,
        cost_to_serve.cost_per_customer,
        cost_to_serve.ops_cost_per_customer,
        capacity_stats.fte_weeks,
        capacity_stats.roadmap_fte_weeks,
        capacity_stats.platform_fte_weeks,
        capacity_stats.unplanned_fte_weeks,
        {{ period_is_complete('months.month_start', 'month') }} as is_complete
    from months
    cross join as_of
    left join deployment_stats
        on months.month_start = deployment_stats.month_start
    left join change_stats
        on months.month_start = change_stats.month_start
    left join incident_stats
        on months.month_start = incident_stats.month_start
    left join support
        on months.month_start = support.month_start
    left join cost_to_serve
        on months.month_start = cost_to_serve.month_start
    left join capacity_stats
        on months.month_start = capacity_stats.month_start

),

monthly_values as (

    select
        month_start,
        lead_time_p50_hours,
        lead_time_p95_hours,
        changes,
        deployments,
        {{ safe_divide('rolled_back_deployments', 'non_rollback_deployments') }}
            as rollback_rate,
        {{ safe_divide('change_failures', 'non_rollback_deployments') }}
            as change_failure_rate,
        non_rollback_deployments,
        incidents,
        mttr_hours,
        resolved_incidents,
        tickets_per_1k_customers,
        tickets,
        cost_per_customer,
        ops_cost_per_customer,
        {{ safe_divide('roadmap_fte_weeks', 'fte_weeks') }} as roadmap_share,
        {{ safe_divide('platform_fte_weeks', 'fte_weeks') }} as platform_share,
        {{ safe_divide('unplanned_fte_weeks', 'fte_weeks') }} as unplanned_share,
        is_complete
    from monthly

),

-- One row per month and KPI: (KPI column, the column counting the events behind it), then
-- one KPI per ticket theme, <theme>_tickets_per_1k_customers (n: the theme's tickets).
{%- set kpis = [
    ('lead_time_p50_hours', 'changes'),
    ('lead_time_p95_hours', 'changes'),
    ('deployments', 'deployments'),
    ('rollback_rate', 'non_rollback_deployments'),
    ('change_failure_rate', 'non_rollback_deployments'),
    ('incidents', 'incidents'),
    ('mttr_hours', 'resolved_incidents'),
    ('tickets_per_1k_customers', 'tickets'),
    ('cost_per_customer', none),
    ('ops_cost_per_customer', none),
    ('roadmap_share', none),
    ('platform_share', none),
    ('unplanned_share', none),
] %}
kpi_values as (

    {% for kpi, n in kpis %}
        select
            month_start,
            '{{ kpi }}' as kpi,
            cast({{ kpi }} as double precision) as kpi_value,
            cast({{ n or 'null' }} as bigint) as n,
            is_complete
        from monthly_values
        union all
    {% endfor %}
    select
        support_themes.month_start,
        support_themes.theme || '_tickets_per_1k_customers' as kpi,
        cast(support_themes.tickets_per_1k_customers as double precision) as kpi_value,
        cast(support_themes.tickets as bigint) as n,
        monthly_values.is_complete
    from support_themes
    inner join monthly_values
        on support_themes.month_start = monthly_values.month_start

),

compared as (

    select
        month_start,
        kpi,
        kpi_value,
        lag(kpi_value) over (partition by kpi order by month_start) as previous_value,
        n,
        is_complete
    from kpi_values

),

final as (

    select
        month_start,
        kpi,
        kpi_value as value,  -- noqa: RF04
        previous_value,
        -- A month still in progress is not compared: its partial value would read as a drop.
        case
            when is_complete
                then {{ safe_divide('(kpi_value - previous_value) * 100', 'previous_value') }}
        end as change_pct,
        n,
        is_complete
    from compared

)

select * from final
