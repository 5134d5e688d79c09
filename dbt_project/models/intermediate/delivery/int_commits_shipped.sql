-- The commits each successful production deployment shipped: GitHub's compare from the
-- previous successful production deployment of its repository + environment to it. The first
-- deployment, and one whose compare GitHub could not answer, ship none.
with

deployments as (

    select * from {{ ref('int_deployments_classified') }}

),

compare_commits as (

    select * from {{ ref('stg_github__compare_commits') }}

),

shipped as (

    select
        deployments.deployment_id,
        deployments.repo,
        deployments.environment,
        deployments.deployed_at,
        compare_commits.commit_position,
        compare_commits.commit_sha
    from deployments
    inner join compare_commits
        on
            deployments.repo = compare_commits.repo
            and deployments.previous_sha = compare_commits.base_sha
            and deployments.sha = compare_commits.head_sha

),

final as (

    select * from shipped

)

select * from final
