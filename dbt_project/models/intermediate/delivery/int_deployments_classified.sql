-- The successful production deployments of each repository + environment in order
-- (deployed_at, ties to the larger id as the later), and their rollback status:
-- - a retry (the sha just deployed, again) is neither a rollback nor rolled back;
-- - right after a rollback (the latest earlier non-retry deployment is one), a deployment is
--   a rollback only if its task or description says so: a roll-forward is not one;
-- - otherwise it is a rollback when its sha was deployed before, or it says rollback.
-- Rolled back: the non-rollback, non-retry deployments after the latest earlier deployment of
-- a rollback's sha and before the rollback; for an explicit rollback to a sha never deployed
-- here, the latest earlier non-retry deployment, unless it is itself a rollback.
with

deployments as (

    select * from {{ ref('int_deployments_unioned') }}

),

ordered as (

    select
        deployment_id,
        repo,
        team,
        environment,
        sha,
        task,
        description,
        created_at,
        deployed_at,
        row_number() over (
            partition by repo, environment order by deployed_at, deployment_id
        ) as deployment_position,
        lag(sha) over (
            partition by repo, environment order by deployed_at, deployment_id
        ) as previous_sha,
        lag(deployment_id) over (
            partition by repo, environment order by deployed_at, deployment_id
        ) as previous_deployment_id
    from deployments
    where succeeded

),

neighbours as (

    select
        *,
        -- The latest earlier deployment of the same sha (NULL when there is none).
        case
            when sha is not null
                then lag(deployment_position) over (
                        partition by repo, environment, sha order by deployment_position
                    )
        end as same_sha_position,
        coalesce(sha = previous_sha, false) as is_retry,
        coalesce(lower(task) like '%rollback%', false)
        or coalesce(lower(description) like '%rollback%', false) as says_rollback
    from ordered

),

sequenced as (

    select
        *,
        max(case when not is_retry then deployment_position end) over (
            partition by repo, environment order by deployment_position
            rows between unbounded preceding and 1 preceding
        ) as previous_non_retry_position
    from neighbours

),

-- Whether a non-retry deployment is a rollback depends on the latest earlier non-retry one
-- only when its sha was deployed before and it does not say rollback (a chain link):
-- one that says rollback always is one, one of a new sha that does not say so never is.
-- Each chain link flips its predecessor's status, so it is a rollback when an odd number of
-- links separate it from the latest earlier deployment of fixed status (its anchor) and
-- that anchor is not a rollback, or an even number and it is. The first deployment of a
-- repository + environment is always an anchor.
non_retries as (

    select
        repo,
        environment,
        deployment_position,
        says_rollback,
        says_rollback or same_sha_position is null as is_anchor
    from sequenced
    where not is_retry

),

anchored as (

    select
        *,
        sum(case when is_anchor then 1 else 0 end) over (
            partition by repo, environment order by deployment_position
            rows between unbounded preceding and current row
        ) as anchor_number
    from non_retries

),

chained as (

    select
        *,
        row_number() over (
            partition by repo, environment, anchor_number order by deployment_position
        ) - 1 as links_since_anchor,
        first_value(says_rollback) over (
            partition by repo, environment, anchor_number order by deployment_position
        ) as anchor_is_rollback
    from anchored

),

classified as (

    select
        sequenced.*,
        coalesce(
            case
                when chained.is_anchor then chained.says_rollback
                else (mod(chained.links_since_anchor, 2) = 1) != chained.anchor_is_rollback
            end,
            false
        ) as is_rollback
    from sequenced
    left join chained
        on
            sequenced.repo = chained.repo
            and sequenced.environment = chained.environment
            and sequenced.deployment_position = chained.deployment_position

),

-- The positions each rollback rolls back lie strictly between these two.
rollback_spans as (

    select
        deployment_id as rollback_deployment_id,
        repo,
        environment,
        coalesce(same_sha_position, previous_non_retry_position - 1) as after_position,
        deployment_position as before_position
    from classified
    where is_rollback

),

rolled_back as (

    select
        classified.deployment_id,
        min(rollback_spans.rollback_deployment_id) as rolled_back_by_deployment_id
    from classified
    inner join rollback_spans
        on
            classified.repo = rollback_spans.repo
            and classified.environment = rollback_spans.environment
            and classified.deployment_position > rollback_spans.after_position
            and classified.deployment_position < rollback_spans.before_position
    where not classified.is_rollback and not classified.is_retry
    group by classified.deployment_id

),

final as (

    select
        classified.*,
        rolled_back.deployment_id is not null as rolled_back,
        rolled_back.rolled_back_by_deployment_id
    from classified
    left join rolled_back
        on classified.deployment_id = rolled_back.deployment_id

)

select * from final
