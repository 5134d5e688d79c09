{#
    Select the expected columns of a relation, each cast to its type; a column the relation
    lacks (an older raw file, a source not yet extracted) comes out as a typed NULL, so schema
    drift is tolerated and visible rather than fatal. `expected`: a list of [name, type].
#}
{% macro columns_or_null(relation, expected) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for name, type in expected %}
        {% if not execute or name in present -%}
            cast({{ name }} as {{ type }})
        {%- else -%}
            cast(null as {{ type }})
        {%- endif %} as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#
    The latest version of every record of a raw table: the row with the largest ingest_id of
    its record_key. Renders a subquery for a FROM clause:
        select * from {{ latest_versions(source('github', 'deployments')) }}

    Incremental staging models (materialized 'incremental', unique_key '_record_key', strategy
    delete+insert) carry the raw record_key and ingest_id as _record_key and _ingest_id. On an
    incremental run only the raw rows above the model's largest _ingest_id are read: a new
    version always has a larger ingest_id than every stored one, so the latest version of a key
    among them is its latest overall, and delete+insert on _record_key replaces the rows of
    exactly those keys.
#}
{% macro latest_versions(relation) -%}
    {%- set since = ingest_watermark(relation) if is_incremental() else none -%}
    (
        select * from {{ relation }}
        where
            {% if since is not none -%} ingest_id > {{ since }} and {% endif -%}
            ingest_id in (
                select max(ingest_id) from {{ relation }}
                {% if since is not none -%} where ingest_id > {{ since }} {% endif -%}
                group by record_key
            )
    ) as latest_versions
{%- endmacro %}

{#
    The largest _ingest_id of the incremental model being built, checked against the raw table
    it reads; none when the model is empty (then everything is read). A raw layer rebuilt since
    the last run (a DuckDB file deleted and synced again, a schema re-created) numbers its rows
    afresh, and reading above the old watermark would silently miss rows. So when the model's
    latest row is no longer in the raw table under the same ingest_id and record_key (which
    covers a raw maximum below the model's), the run fails and asks for a full refresh; so does
    a model built before it became incremental (no _ingest_id column).
#}
{% macro ingest_watermark(relation) -%}
    {%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name')
        | map('lower') | list -%}
    {%- if '_ingest_id' not in built_columns -%}
        {{ exceptions.raise_compiler_error(
            this.identifier ~ " was built before it became incremental (it has no _ingest_id "
            ~ "column). Rebuild it once with `dbt build --full-refresh --select "
            ~ this.identifier ~ "`.") }}
    {%- endif -%}
    {%- set query -%}
        select
            built._ingest_id,
            built._record_key,
            raw_row.ingest_id is not null as is_in_raw,
            (select max(ingest_id) from {{ relation }}) as raw_max
        from (
            select _ingest_id, _record_key from {{ this }}
            order by _ingest_id desc limit 1
        ) as built
        left join {{ relation }} as raw_row
            on raw_row.ingest_id = built._ingest_id and raw_row.record_key = built._record_key
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set watermark, record_key, is_in_raw, raw_max = rows[0] -%}
    {%- if not is_in_raw -%}
        {{ exceptions.raise_compiler_error(
            this.identifier ~ " was built from " ~ relation ~ " up to ingest_id "
            ~ (watermark | int) ~ " (key " ~ record_key ~ "), but the raw table no longer "
            ~ "holds that row (its largest ingest_id is " ~ raw_max ~ "): the raw layer was "
            ~ "rebuilt, and an incremental run would miss rows. Rebuild the model with "
            ~ "`dbt build --full-refresh --select " ~ this.identifier ~ "`.") }}
    {%- endif -%}
    {{ return(watermark | int) }}
{%- endmacro %}

{#
    Pre-hook of an incremental model with several rows per raw record (a ticket's tags, a
    compare's commits): delete the rows of every record that has a newer raw version.
    delete+insert replaces only the keys the new rows name, and a new version with no children
    (all tags removed) has none; without this its old children would stay.
#}
{% macro delete_superseded(relation) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where _record_key in (
            select record_key from {{ relation }}
            where ingest_id > (select max(_ingest_id) from {{ this }})
        )
    {%- endif -%}
{%- endmacro %}
