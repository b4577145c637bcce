"""Map one row of the groups template: a group or expedition as an agent, and one membership.

A group is a ``foaf:Group, prov:Organization`` (``dcterms:type`` group, expedition or
organization) with its dates; each membership is a ``schema:OrganizationRole`` (the schema.org
role pattern: ``group schema:member role . role schema:member person``) with start and end
dates and a role name, plus the ``foaf:member`` shortcut.
"""

from __future__ import annotations

from collections.abc import Mapping

from collectomics.mapping.annotations import add_date, mark_illustrative, typed_date
from collectomics.mapping.common import Context, Mapped, getter, text
from collectomics.mapping.people import add_identity, external_id
from collectomics.mapping.refs import RefError, Refs
from collectomics.vocab import DCTERMS, FOAF, PROV, RDF, RDFS, SCHEMA

#: The columns of the groups template, in order (docs/templates.md documents each).
GROUP_COLUMNS = (
    "group_id name kind start_date end_date description wikidata member member_from member_to "
    "member_role illustrative"
).split()
GROUP_KINDS = ("group", "expedition", "organization")


def map_group(record: Mapping[str, str], ctx: Context, refs: Refs) -> Mapped:
    """Map one groups-template row; reject it when it has no group_id."""
    out = Mapped()
    get = getter(record)
    group_id = get("group_id")
    if not group_id:
        return out.reject("group_id", "group_id is empty")
    g = ctx.minter.mint("group", group_id)
    out.subject = g
    out.add(g, RDF.type, FOAF.Group)
    out.add(g, RDF.type, PROV.Organization)
    out.add(g, SCHEMA.includedInDataSet, ctx.dataset)
    out.add(g, FOAF.name, text(get("name")))
    out.add(g, DCTERMS.description, text(get("description")))
    kind = get("kind").lower()
    if kind:
        if kind in GROUP_KINDS:
            out.add(g, DCTERMS.type, text(kind))
        else:
            out.warn("kind", f"{get('kind')!r} is not group, expedition or organization; left out")
    if get("start_date") or get("end_date"):
        span = "/".join(v for v in (get("start_date"), get("end_date")) if v)
        if get("start_date") and get("end_date"):
            add_date(out, g, span, "start_date", DCTERMS.date)
        else:
            add_date(out, g, span, "start_date" if get("start_date") else "end_date")
        for column, prop in (("start_date", SCHEMA.startDate), ("end_date", SCHEMA.endDate)):
            out.add(g, prop, typed_date(get(column)) if get(column) else None)
    if get("wikidata"):
        target = external_id("wikidata", get("wikidata"))
        if target is None:
            out.warn("wikidata", f"{get('wikidata')!r} is not a wikidata identifier; left out")
        else:
            add_identity(out, ctx, g, "wikidata", target, "asserted by the publisher of the table")
    nodes = [g]
    if get("member"):
        try:
            person = refs.resolve(get("member"), default_kind="person")
        except RefError as exc:
            return out.reject("member", str(exc))
        role = ctx.minter.part(g, "member", person.rsplit("/", 1)[-1])
        nodes.append(role)
        out.add(g, FOAF.member, person)
        out.add(g, SCHEMA.member, role)
        out.add(role, RDF.type, SCHEMA.OrganizationRole)
        out.add(role, SCHEMA.member, person)
        out.add(role, SCHEMA.roleName, text(get("member_role")))
        for column, prop in (("member_from", SCHEMA.startDate), ("member_to", SCHEMA.endDate)):
            value = get(column)
            if value:
                lit = typed_date(value)
                if lit is None:
                    out.warn(column, f"{value!r} is not an ISO date (YYYY, YYYY-MM, YYYY-MM-DD)")
                out.add(role, prop, lit)
        start, end = get("member_from"), get("member_to")
        if start and end and typed_date(start) and typed_date(end) and end < start:
            out.warn("member_to", f"membership ends ({end}) before it starts ({start})")
        out.add(role, RDFS.label, text(f"{get('member')} in {group_id}"))
    else:
        for column in ("member_from", "member_to", "member_role"):
            if get(column):
                out.warn(column, f"{column} given without a member; left out")
    mark_illustrative(out, get("illustrative"), nodes)
    return out
