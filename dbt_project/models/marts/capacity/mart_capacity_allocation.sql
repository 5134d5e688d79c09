-- Where engineering capacity went, in FTE-weeks, per ISO week, team and work category: the
-- effort model summed over each team's engineers ('unassigned': PR authors and responders
-- outside the catalog; 'all': every engineer), its share of the team's week, the budget's
-- target share (team override, else the default; 'all' and 'unassigned' take the default;
-- 0 for unclassified) and the variance in percentage points. Rows only where fte_weeks > 0.
-- is_complete: the week ended at or before the data's as-of time.
with

efforts as (

    select * from {{ ref('int_engineer_efforts_allocated') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

budget as (

    select * from {{ ref('stg_catalog__budget') }}

),

-- Every engineer's effort once under their team and once under 'all'.
efforts_by_team as (

    select
        week_start,
        team,
        category,
        fte_weeks
    from efforts
    union all
    select
        week_start,
        'all' as team,
        category,
        fte_weeks
    from efforts

),

team_efforts as (

    select
        week_start,
        team,
        category,
        sum(fte_weeks) as fte_weeks
    from efforts_by_team
    group by week_start, team, category

),

shares as (

    select
        *,
        fte_weeks / sum(fte_weeks) over (partition by week_start, team) as team_share
    from team_efforts

),

targets as (

    select
        shares.*,
        case
            when shares.category = 'unclassified' then 0.0
            else coalesce(team_budget.target_share, default_budget.target_share, 0.0)
        end as target_share,
        {{ period_is_complete('shares.week_start', 'week') }} as is_complete
    from shares
    cross join as_of
    left join budget as team_budget
        on
            shares.team = team_budget.team
            and shares.category = team_budget.category
    left join budget as default_budget
        on
            default_budget.team = '*'
            and shares.category = default_budget.category

),

final as (

    select
        week_start,
        team,
        category,
        cast(fte_weeks as double precision) as fte_weeks,
        cast(team_share as double precision) as share,  -- noqa: RF04
        cast(target_share as double precision) as target_share,
        cast((team_share - target_share) * 100 as double precision) as variance_pp,
        is_complete
    from targets

)

select * from final
