-- Snapshots count only for publications that happened: the publish step writes a
-- publication's row after its snapshots, so a publish killed midway leaves orphans here.
with

source as (

    select * from {{ source('history', 'scorecard_snapshots') }}

),

publications as (

    select publication_id from {{ source('history', 'publications') }}

),

final as (

    select
        source.publication_id,
        source.month_start,
        source.kpi,
        source.value,
        source.is_complete,
        source.n
    from source
    inner join publications
        on source.publication_id = publications.publication_id

)

select * from final
