-- Scorecard values that moved after they were first published complete: late data (an
-- incident resolved later, a ticket deleted) restating a month readers already saw. Only
-- the first publication of a (month, KPI) counts, and only when it was complete then; a
-- month published while still open is expected to move. The current value is this build's
-- (the one about to be published); a (month, KPI) no longer in the scorecard is restated
-- to NULL.
with

publications as (

    select * from {{ ref('stg_history__publications') }}

),

snapshots as (

    select * from {{ ref('stg_history__scorecard_snapshots') }}

),

scorecard as (

    select * from {{ ref('kpi_scorecard') }}

),

published as (

    select
        snapshots.month_start,
        snapshots.kpi,
        snapshots.value,
        snapshots.is_complete,
        publications.published_at,
        row_number() over (
            partition by snapshots.month_start, snapshots.kpi
            order by publications.published_at, publications.publication_id
        ) as publication_rank
    from snapshots
    inner join publications
        on snapshots.publication_id = publications.publication_id

),

first_complete as (

    select
        month_start,
        kpi,
        value as first_value,
        published_at as first_published_at
    from published
    where publication_rank = 1 and is_complete

),

compared as (

    select
        first_complete.month_start,
        first_complete.kpi,
        first_complete.first_published_at,
        first_complete.first_value,
        scorecard.value as current_value
    from first_complete
    left join scorecard
        on
            first_complete.month_start = scorecard.month_start
            and first_complete.kpi = scorecard.kpi

),

final as (

    select
        month_start,
        kpi,
        {{ utc_timestamptz('first_published_at') }} as first_published_at,
        first_value,
        current_value,
        current_value - first_value as change  -- noqa: RF04
    from compared
    where
        (first_value is null) != (current_value is null)
        or abs(current_value - first_value) > 1e-9

)

select * from final
