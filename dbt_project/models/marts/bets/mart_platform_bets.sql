-- The bets ledger: for each bet of the catalog, its KPI before and after the ship date.
-- The period is the KPI's own (weeks for delivery, incident and capacity KPIs, read from the
-- team's or 'all' row; months for support and cost KPIs). The baseline is the
-- baseline_periods periods just before the period containing shipped_on, the evaluation the
-- evaluation_periods periods just after it; the ship period belongs to neither. Each side's
-- value is the mean of its periods' values; a period counts when it has a value and is
-- complete (a period still in progress would read as a drop). The change is judged against
-- twice the standard error of the difference of the two means.
with

bets as (

    select * from {{ ref('stg_catalog__bets') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

kpi_values as (

    select * from {{ ref('int_kpi_values_by_period') }}

),

ship_periods as (

    select
        *,
        case
            when period = 'week' then {{ period_start_of('shipped_on', 'week') }}
            else {{ period_start_of('shipped_on', 'month') }}
        end as ship_period_start
    from bets

),

-- Window bounds are period starts: baseline_end is the first day of the baseline's last
-- period, evaluation_end the first day of the evaluation's last period.
windows as (

    select
        *,
        case
            when period = 'week'
                then {{ shift_periods('ship_period_start', '-baseline_periods', 'week') }}
            else {{ shift_periods('ship_period_start', '-baseline_periods', 'month') }}
        end as baseline_start,
        case
            when period = 'week' then {{ shift_periods('ship_period_start', -1, 'week') }}
            else {{ shift_periods('ship_period_start', -1, 'month') }}
        end as baseline_end,
        case
            when period = 'week' then {{ shift_periods('ship_period_start', 1, 'week') }}
            else {{ shift_periods('ship_period_start', 1, 'month') }}
        end as evaluation_start,
        case
            when period = 'week'
                then {{ shift_periods('ship_period_start', 'evaluation_periods', 'week') }}
            else {{ shift_periods('ship_period_start', 'evaluation_periods', 'month') }}
        end as evaluation_end
    from ship_periods

),

measured as (

    select
        windows.bet_id,
        kpi_values.period_start,
        kpi_values.kpi_value,
        kpi_values.period_start <= windows.baseline_end as is_baseline
    from windows
    inner join kpi_values
        on
            windows.kpi = kpi_values.kpi
            and windows.period = kpi_values.period
            and windows.team = kpi_values.team
            and kpi_values.period_start between windows.baseline_start and windows.evaluation_end
            and windows.ship_period_start != kpi_values.period_start
    where kpi_values.kpi_value is not null and kpi_values.is_complete

),

sides as (

    select
        bet_id,
        avg(case when is_baseline then kpi_value end) as before_value,
        avg(case when not is_baseline then kpi_value end) as after_value,
        count(case when is_baseline then kpi_value end) as n_before,
        count(case when not is_baseline then kpi_value end) as n_after,
        var_samp(case when is_baseline then kpi_value end) as variance_before,
        var_samp(case when not is_baseline then kpi_value end) as variance_after
    from measured
    group by bet_id

),

-- The first period holding a value of the bet's KPI for its team: a baseline starting
-- earlier reaches before the data (the gate warns).
first_periods as (

    select
        windows.bet_id,
        min(kpi_values.period_start) as first_period_with_data
    from windows
    inner join kpi_values
        on
            windows.kpi = kpi_values.kpi
            and windows.period = kpi_values.period
            and windows.team = kpi_values.team
    where kpi_values.kpi_value is not null
    group by windows.bet_id

),

compared as (

    select
        windows.*,
        sides.before_value,
        sides.after_value,
        sides.after_value - sides.before_value as change,  -- noqa: RF04
        coalesce(sides.n_before, 0) as n_before,
        coalesce(sides.n_after, 0) as n_after,
        case
            when sides.n_before >= 2 and sides.n_after >= 2
                then sqrt(
                        sides.variance_before / sides.n_before
                        + sides.variance_after / sides.n_after
                    )
        end as standard_error,
        first_periods.first_period_with_data,
        case
            when windows.period = 'week'
                then {{ period_is_complete('windows.evaluation_end', 'week') }}
            else {{ period_is_complete('windows.evaluation_end', 'month') }}
        end as is_evaluated
    from windows
    cross join as_of
    left join sides
        on windows.bet_id = sides.bet_id
    left join first_periods
        on windows.bet_id = first_periods.bet_id

),

final as (

    select
        bet_id,
        team,
        kpi,
        direction,
        cast(shipped_on as date) as shipped_on,
        baseline_start,
        baseline_end,
        evaluation_start,
        evaluation_end,
        cast(before_value as double precision) as before_value,
        cast(after_value as double precision) as after_value,
        cast(change as double precision) as change,  -- noqa: RF04
        {{ safe_divide('change * 100', 'before_value') }} as change_pct,
        cast(n_before as bigint) as n_before,
        cast(n_after as bigint) as n_after,
        cast(standard_error as double precision) as standard_error,
        case
            when not is_evaluated then 'in_progress'
            when n_before < 3 or n_after < 3 then 'insufficient_data'
            when abs(change) <= 2 * standard_error then 'inconclusive'
            when (direction = 'down' and change < 0) or (direction = 'up' and change > 0)
                then 'improved'
            else 'worsened'
        end as verdict,
        constraint_text,
        bet_text,
        first_period_with_data
    from compared

)

select * from final
