-- One row per production deployment, failed or not, from either deployment signal.
with

deployments as (

    select * from {{ ref('int_deployments_joined') }}

),

final as (

    select
        cast(deployment_id as bigint) as deployment_id,
        repo,
        team,
        environment,
        sha,
        deployment_signal,
        {{ utc_timestamptz('created_at') }} as created_at,
        {{ utc_timestamptz('deployed_at') }} as deployed_at,
        succeeded,
        is_rollback,
        is_retry,
        rolled_back,
        cast(rolled_back_by_deployment_id as bigint) as rolled_back_by_deployment_id,
        incident_id,
        failure_reason,
        is_compare_linked,
        cast(shipped_commits as bigint) as shipped_commits
    from deployments

)

select * from final
