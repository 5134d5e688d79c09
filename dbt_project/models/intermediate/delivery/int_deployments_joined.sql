-- Every production deployment, failed or not, with its rollback status, its incident and its
-- compare: what fct_deployments publishes and kpi_delivery_weekly counts.
with

deployments as (

    select * from {{ ref('int_deployments_unioned') }}

),

classified as (

    select * from {{ ref('int_deployments_classified') }}

),

incidents_attributed as (

    select * from {{ ref('int_incidents_attributed') }}

),

commits_shipped as (

    select * from {{ ref('int_commits_shipped') }}

),

compares as (

    select * from {{ ref('stg_github__compares') }}

),

-- A deployment's incident is the earliest one attributed to it (created_at, then id).
first_incidents as (

    select
        deployment_id,
        incident_id,
        row_number() over (
            partition by deployment_id order by created_at, incident_id
        ) as incident_rank
    from incidents_attributed

),

shipped_counts as (

    select
        deployment_id,
        count(*) as shipped_commits
    from commits_shipped
    group by deployment_id

),

joined as (

    select
        deployments.deployment_id,
        deployments.repo,
        deployments.team,
        deployments.environment,
        deployments.sha,
        deployments.deployment_signal,
        deployments.created_at,
        deployments.deployed_at,
        deployments.succeeded,
        coalesce(classified.is_rollback, false) as is_rollback,
        coalesce(classified.is_retry, false) as is_retry,
        coalesce(classified.rolled_back, false) as rolled_back,
        classified.rolled_back_by_deployment_id,
        first_incidents.incident_id,
        -- Linked: it has a previous deployment and GitHub answered the compare (even with no
        -- commits, as for a retry or a rollback).
        coalesce(compares.is_available, false) as is_compare_linked,
        coalesce(shipped_counts.shipped_commits, 0) as shipped_commits
    from deployments
    left join classified
        on deployments.deployment_id = classified.deployment_id
    left join first_incidents
        on
            deployments.deployment_id = first_incidents.deployment_id
            and first_incidents.incident_rank = 1
    left join shipped_counts
        on deployments.deployment_id = shipped_counts.deployment_id
    left join compares
        on
            classified.repo = compares.repo
            and classified.previous_sha = compares.base_sha
            and classified.sha = compares.head_sha

),

final as (

    select
        *,
        case
            when rolled_back and incident_id is not null then 'rollback_and_incident'
            when rolled_back then 'rollback'
            when incident_id is not null then 'incident'
        end as failure_reason
    from joined

)

select * from final
