"""The role-node rule (docs/model.md, "People and roles"), written once (pure).

A person named on a record in a role (``recordedBy``, ``identifiedBy``, ``georeferencedBy``,
``measuredBy``...) is a role node under the activity (or entity) the record describes: it names
the agent, the role, the order, the name as written and, when the name was split from a longer
string, that whole verbatim string; 'et al.' is a comment on the node; a value that names no one ('Anon.', '?') is an unknown agent of its own;
the identifiers of the matching ``...ID`` column are ``dwciri`` shortcuts on the specimen, and
are paired with the name only when one name meets identifiers that can all be one person's.

:func:`agent_roles` applies the rule to a verbatim string (the core record, the identification
history, the measurements); :func:`role_node` and :func:`unknown_agent` are the node itself, for
mappers whose agents come from tables (Darwin Core Data Packages).

Nothing is written that PROV-O entails from what is (docs/model.md, "Specimens, events,
identifications"): an activity's role node is typed by the range of ``prov:qualifiedAssociation``
and its ``prov:wasAssociatedWith`` shortcut follows from ``prov:qualifiedAssociation/prov:agent``,
so neither is written; ``col:verbatimAgentString`` is written only where it differs from
``col:nameAsWritten`` (readers take ``COALESCE(?verbatim, ?nameAsWritten)``).
"""

from __future__ import annotations

from itertools import islice

from collectomics.iri import slug
from collectomics.mapping.agentids import identifier_iri, split_identifiers
from collectomics.mapping.common import (
    NAME_CACHE,
    Context,
    Mapped,
    NameEntry,
    Triple,
    publisher_match,
)
from collectomics.mapping.names import display_form, is_organisation, normalise, read_agents
from collectomics.mapping.verbatim import identifier
from collectomics.model import IRI, XSD, Literal, quoted
from collectomics.vocab import COL, FOAF, PROV, RDF, RDFS, ROLE, SCHEMA

#: agentRole words (lower case, no spaces, hyphens or underscores) -> our role
ROLE_WORDS: dict[str, IRI] = {
    **dict.fromkeys(
        "collector collectors recordedby recorder collectedby leg legit".split(), ROLE.collector
    ),
    **dict.fromkeys(
        "determiner identifiedby identifier determinedby det identification".split(),
        ROLE.determiner,
    ),
    **dict.fromkeys("preparator preparer preparedby preparation".split(), ROLE.preparator),
    **dict.fromkeys("georeferencer georeferencedby".split(), ROLE.georeferencer),
    **dict.fromkeys("transcriber transcribedby".split(), ROLE.transcriber),
    **dict.fromkeys("cataloguer cataloger catalogedby cataloguedby".split(), ROLE.cataloguer),
    **dict.fromkeys("verifier verifiedby validator".split(), ROLE.verifier),
    **dict.fromkeys("labelwriter labelauthor handwriting".split(), ROLE.labelWriter),
    **dict.fromkeys("photographer".split(), ROLE.photographer),
    **dict.fromkeys("creator author".split(), ROLE.creator),
    **dict.fromkeys("measurer measuredby".split(), ROLE.measurer),
    **dict.fromkeys("guide".split(), ROLE.guide),
    **dict.fromkeys("informant".split(), ROLE.informant),
    **dict.fromkeys("donor".split(), ROLE.donor),
    **dict.fromkeys("owner".split(), ROLE.owner),
    **dict.fromkeys("member memberof".split(), ROLE.member),
    # EML's and ISO 19115's party roles (associatedParty, personnel)
    **dict.fromkeys(
        "contact pointofcontact administrativepointofcontact technicalpointofcontact".split(),
        ROLE.contact,
    ),
    **dict.fromkeys("metadataprovider metadataauthor".split(), ROLE.metadataProvider),
    **dict.fromkeys("originator".split(), ROLE.creator),
}
_OUR_ROLES = {str(v) for v in ROLE_WORDS.values()}


def role_for(word: str, iri: str) -> tuple[IRI, str | None]:
    """Our role for an agentRole and agentRoleIRI, and the source's word when the scheme has
    no such role (then ``role:otherRole``)."""
    if iri and iri in _OUR_ROLES:
        return IRI(iri), None
    key = "".join(ch for ch in word.lower() if ch.isalnum())
    found = ROLE_WORDS.get(key)
    if found is None and iri:
        found = ROLE_WORDS.get(iri.rstrip("/").rsplit("/", 1)[-1].lower())
    return (found, None) if found is not None else (ROLE.otherRole, word or iri)


_POSITIVE_INTEGER = XSD + "positiveInteger"
#: col:order literals 1..16, made once (most records name one to four agents)
_ORDERS = [Literal(str(n), _POSITIVE_INTEGER) for n in range(17)]
_ET_AL = Literal("the source names further agents ('et al.')")
# predicates in N-Triples, for the role nodes written as text (Context.ntriples)
_N3_QUALIFIED = PROV.qualifiedAssociation.n3()
_N3_AGENT = PROV.agent.n3()
_N3_ROLE = PROV.hadRole.n3()
_N3_ORDER = COL.order.n3()
_N3_WRITTEN = COL.nameAsWritten.n3()
_N3_VERBATIM = COL.verbatimAgentString.n3()
_N3_COMMENT = RDFS.comment.n3()
_N3_ET_AL = _ET_AL.n3()
_ORDERS_N3 = [o.n3() for o in _ORDERS]


def order_literal(order: int) -> Literal:
    """The ``col:order`` of a role node: an ``xsd:positiveInteger``."""
    return _ORDERS[order] if 0 < order < 17 else Literal(str(order), _POSITIVE_INTEGER)


def role_node_iri(activity: IRI, role: IRI, order: int) -> IRI:
    """The role node of the ``order``-th agent playing ``role`` in ``activity`` (or towards an
    entity): ``{activity}/{role word}/{order}``, so the same input always yields the same IRI."""
    return IRI(f"{activity}/{slug(role.rsplit('/', 1)[-1])}/{order}")


def role_node(
    out: Mapped,
    activity: IRI,
    node: IRI,
    agent: IRI,
    role: IRI,
    order: int,
    written: Literal | None = None,
    verbatim: Literal | None = None,
    *,
    entity: bool = False,
    et_al: bool = False,
) -> None:
    """The role node ``node``: ``activity`` qualified by it, naming the agent, its role, its
    order, the name as written and the verbatim string where it differs from that name (and
    'et al.' when the source said so). An activity's node is a ``prov:Association`` by the range
    of ``prov:qualifiedAssociation``, with ``prov:wasAssociatedWith`` entailed: neither is
    written. ``entity``: a thing, not an activity (a specimen, a medium), so the node is a
    ``prov:Attribution``, typed, with the ``prov:wasAttributedTo`` shortcut (labels, hands,
    photographs and EML contacts: a handful per record, read by their own queries)."""
    add = out.triples.append
    if entity:
        add((activity, PROV.qualifiedAttribution, node))
        add((activity, PROV.wasAttributedTo, agent))
        add((node, RDF.type, PROV.Attribution))
    else:
        add((activity, PROV.qualifiedAssociation, node))
    add((node, PROV.agent, agent))
    add((node, PROV.hadRole, role))
    add((node, COL.order, order_literal(order)))
    if written is not None:
        add((node, COL.nameAsWritten, written))
    if verbatim is not None and verbatim != written:
        add((node, COL.verbatimAgentString, verbatim))
    if et_al:
        add((node, RDFS.comment, _ET_AL))


def _role_node_text(
    act: str, node: str, agent: str, role: str, order: int, written: str, verbatim: str, et_al: bool
) -> str:
    """:func:`role_node` of an activity as N-Triples text, from the terms in N-Triples: the
    encoding the ingest asks for (Context.ntriples); tests hold the two to the same graph."""
    return (
        f"{act} {_N3_QUALIFIED} {node} .\n{node} {_N3_AGENT} {agent} .\n"
        f"{node} {_N3_ROLE} {role} .\n{node} {_N3_ORDER} {_order_n3(order)} .\n"
        f"{node} {_N3_WRITTEN} {written} .\n"
        + (f"{node} {_N3_VERBATIM} {verbatim} .\n" if verbatim != written else "")
        + (f"{node} {_N3_COMMENT} {_N3_ET_AL} .\n" if et_al else "")
    )


def _order_n3(order: int) -> str:
    return _ORDERS_N3[order] if 0 < order < 17 else order_literal(order).n3()


def unknown_agent(
    out: Mapped, activity: IRI, node: IRI, role: IRI, order: Literal, written: Literal
) -> None:
    """A role played by an agent the value does not name ('Anon.', 's.coll.', '?'): its own
    col:UnknownAgent, minted under the role node (two records' 'Anon.' are not one person),
    with the value as written (the whole value: no verbatim string besides it); no dwciri
    shortcut, so it is never a collector to link."""
    agent = IRI(f"{node}/agent")
    out.unknown_agents += 1
    out.triples.extend(
        [
            (activity, PROV.qualifiedAssociation, node),
            (node, PROV.agent, agent),
            (node, PROV.hadRole, role),
            (node, COL.order, order),
            (node, COL.nameAsWritten, written),
            (agent, RDF.type, COL.UnknownAgent),
            (agent, RDF.type, PROV.Agent),
            (agent, RDFS.label, written),
        ]
    )


def _name(ctx: Context, written: str) -> NameEntry:
    """A name as written -> (its name-string agent, or organisation agent when
    :func:`is_organisation`, the triples describing the agent, the name as a literal, the agent
    and the literal in N-Triples), memoised on the context: names repeat on many records of a
    dataset."""
    found = ctx.names.get(written)
    if found is None:
        if len(ctx.names) >= NAME_CACHE:  # forget the older half (dicts keep insertion order)
            for old in list(islice(ctx.names, NAME_CACHE // 2)):
                del ctx.names[old]
        agent = ctx.minter.agent(ctx.dataset_id, normalise(written))
        described: tuple[Triple, ...] = (
            (
                # an organisation ('Botanical Survey of India') is no name-string agent, so
                # linking and reconciliation never propose a person for it; its name as written
                (agent, RDF.type, FOAF.Organization),
                (agent, RDF.type, PROV.Agent),
                (agent, FOAF.name, Literal(written)),
                (agent, SCHEMA.includedInDataSet, ctx.dataset),
            )
            if is_organisation(written)
            else (
                (agent, RDF.type, COL.NameStringAgent),
                (agent, RDF.type, PROV.Agent),
                (agent, FOAF.name, Literal(display_form(written))),
                (agent, SCHEMA.includedInDataSet, ctx.dataset),
            )
        )
        literal = Literal(written)
        found = ctx.names[written] = (agent, described, literal, agent.n3(), literal.n3())
    return found


def agent_roles(
    out: Mapped,
    ctx: Context,
    activity: IRI,
    specimen: IRI,
    value: str,
    column: str,
    role: IRI,
    shortcut: IRI,
    ids_value: str = "",
) -> None:
    """The role-node rule for one verbatim agent string ``value`` of ``column`` (``recordedBy``,
    ``identifiedBy``...) on ``activity``: a role node per name, in order, each with the name as
    written and ``value`` whole; ``shortcut`` (``dwciri:recordedBy``...) from ``specimen`` to
    each agent and to each identifier of ``ids_value`` (the ``...ID`` column), which is paired
    with the name (an accepted identity match) only when one name meets identifiers that can
    all be one person's; otherwise a comment on ``activity`` says they were not paired."""
    names = read_agents(value)
    if names and names[0].unknown:
        out.warn(column, f"no agent name found in {value!r}")
    ids = _agent_ids(out, ids_value, column + "ID") if ids_value else []
    if ids_value and len(ids) < len(split_identifiers(ids_value)):  # kept whole, as written
        identifier(out, activity, column + "ID", ids_value.strip())
    for iri in ids:  # the publisher says this agent played the role: true whatever the pairing
        out.triples.append((specimen, shortcut, iri))
    paired = len(names) == 1 and not names[0].unknown and one_person(ids)
    if ids and not paired:
        out.add(
            activity,
            RDFS.comment,
            Literal(
                f"{column}ID gives {len(ids)} identifier(s) for {len(names)} name(s) in {column}; "
                "they are not paired with names, since Darwin Core gives their order no meaning "
                "(one name is paired with its identifiers when no two come from one authority)"
            ),
        )
    verbatim = Literal(value.strip())
    lines = out.lines
    if lines is not None:  # the role nodes as N-Triples text (Context.ntriples), same triples
        act = activity.n3()
        act_open = act[:-1]  # role nodes are minted under the activity: nothing to escape
        word = slug(role.rsplit("/", 1)[-1])
        role_n3 = role.n3()
        verbatim_n3 = quoted(verbatim.value)
        short = f"{specimen.n3()} {shortcut.n3()} "
    for order, name in enumerate(names, start=1):
        if name.unknown:
            node = role_node_iri(activity, role, order)
            unknown_agent(out, activity, node, role, _ORDERS[1], verbatim)
            continue
        agent, described, written, agent_n3, written_n3 = _name(ctx, name.written)
        out.once.extend(described)
        out.organisation_agents += name.organisation
        if lines is None:
            node = role_node_iri(activity, role, order)
            role_node(out, activity, node, agent, role, order, written, verbatim, et_al=name.et_al)
            out.triples.append((specimen, shortcut, agent))
        else:
            node_n3 = f"{act_open}/{word}/{order}>"
            lines.append(
                _role_node_text(
                    act, node_n3, agent_n3, role_n3, order, written_n3, verbatim_n3, name.et_al
                )
                + f"{short}{agent_n3} .\n"
            )
        if paired:
            for iri in ids:
                match = ctx.minter.part(agent, "match", iri)
                publisher_match(
                    out, ctx, agent, iri, match, f"asserted by the publisher in dwc:{column}ID"
                )


def one_person(ids: list[IRI]) -> bool:
    """True when ``ids`` can all be one person's: at least one, and no two from one authority
    (two ORCIDs, or two Wikidata items, are two people)."""
    hosts = [i.partition("://")[2].split("/", 1)[0].lower().removeprefix("www.") for i in ids]
    return bool(ids) and len(set(hosts)) == len(hosts)


def _agent_ids(out: Mapped, value: str, column: str) -> list[IRI]:
    """The identifiers of an ``...ID`` value as IRIs, each once; a part that is none is warned
    about (the value is then kept whole, as written, by :func:`agent_roles`)."""
    ids: list[IRI] = []
    for part in split_identifiers(value):
        iri = identifier_iri(part)
        if iri is None:
            out.warn(
                column,
                f"{part!r} is not an identifier (an IRI, QID, ORCID...); no link made, "
                "kept as written",
            )
        elif iri not in ids:
            ids.append(iri)
    return ids
