"""The SPARQL 1.1 Graph Store Protocol at ``/rdf-graph-store?graph=IRI`` (indirect
identification), answered only when updates are enabled and the request carries the token."""

from __future__ import annotations

from flask import Blueprint, Response, request

from collectomics.analysis import identity
from collectomics.errors import StoreError
from collectomics.ingest.duplicates import remove_dataset
from collectomics.iri import Minter
from collectomics.services.sparqlcheck import INTERNAL
from collectomics.store import RDF_FORMATS, Store, check_dataset_name, count_statements
from collectomics.web.negotiate import ALIASES, choose
from collectomics.web.sparql import RDF_MEDIA, ProtocolError, check_token, media_type, state

bp = Blueprint("graphstore", __name__)
_BY_MEDIA = {media: name for name, (_, media) in RDF_FORMATS.items()} | ALIASES


def _graph() -> str:
    settings = state().settings
    if not (settings.allow_updates and settings.update_token):
        raise ProtocolError(403, "the Graph Store Protocol is off: this endpoint is read-only")
    check_token()
    if "default" in request.args:
        raise ProtocolError(
            400, "the default graph is the union of the named graphs: name one with ?graph=IRI"
        )
    graph = request.args.get("graph", "")
    if "://" not in graph and not graph.startswith("urn:"):
        raise ProtocolError(400, "name the graph with ?graph=IRI (an absolute IRI)")
    if graph.startswith(INTERNAL):
        raise ProtocolError(
            403, f"{graph} is the store's own catalog of datasets: the Graph Store cannot touch it"
        )
    try:
        check_dataset_name(graph)  # d/v1 would be read as a version of d
    except StoreError as exc:
        raise ProtocolError(400, exc.message) from None
    return graph


def _body_format() -> str:
    fmt = _BY_MEDIA.get(request.mimetype)
    if fmt is None or fmt not in RDF_FORMATS:
        raise ProtocolError(415, f"send RDF as one of {', '.join(RDF_MEDIA.values())}")
    return fmt


@bp.route("/rdf-graph-store", methods=["GET", "PUT", "POST", "DELETE"])
def graph_store() -> Response:
    graph = _graph()
    if request.method == "GET":
        store = state().store()
        if graph not in store.graphs():
            raise ProtocolError(404, f"no graph {graph}")
        fmt = choose(request.headers.get("Accept"), RDF_MEDIA, "turtle")
        if fmt is None:
            raise ProtocolError(406, f"graphs are served as {', '.join(RDF_MEDIA.values())}")
        body = store.query("CONSTRUCT WHERE { ?s ?p ?o }", default_graphs=[graph]).serialize(fmt)
        return Response(body, content_type=media_type(fmt), headers={"Vary": "Accept"})
    if request.method == "DELETE":
        minter = Minter(state().settings.base_iri)
        if not state().write(lambda store: remove_dataset(store, minter, graph)):
            raise ProtocolError(404, f"no graph {graph}")
        return Response(status=204)
    fmt = _body_format()
    data = request.get_data()
    try:  # parsed before anything is written: a bad body is the client's error
        count_statements(data, fmt)
    except StoreError as exc:
        raise ProtocolError(400, f"the body is refused, nothing was written: {exc}") from None
    existed = graph in state().store().graphs()
    minter = Minter(state().settings.base_iri)
    put = request.method == "PUT"

    def write(store: Store) -> None:
        if put:
            store.replace_graph(graph, data, fmt)
            identity.refresh(store, minter)  # the graph may hold agents, people or links
        else:
            store.add(graph, data, fmt)
            # added in place: the graph keeps its version, which the freshness stamp reads
            identity.refresh(store, minter, force=True)

    state().write(write)
    return Response(status=204 if existed else 201)
