"""Local stand-ins for Wikidata and ORCID that speak their protocols, fed with real records.

Wikidata: ``/w/api.php`` (``wbsearchentities``, ``wbgetentities``) and ``/sparql`` (the query
service, over the truthy ``wdt:`` statements), with entities built from the IPNI author records
joined to their QIDs (``ipni-authors-wikidata``): label, aliases, P31 human, P428 abbreviation,
P586 IPNI id, P496 ORCID (where IPNI notes one), P569/P570/P1317 with the precision of the IPNI
dates, P27 the IPNI countries, P101 botany or mycology. ORCID: ``/v3.0/search``,
``/v3.0/{id}/person``, ``/v3.0/{id}/employments``, ``/v3.0/{id}/works`` from the recorded public
API responses in ``rorcid-orcid-v3/extracted``. Servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import bisect
import gzip
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collectomics.errors import InputError
from collectomics.linking.matcher import fold
from collectomics.mapping.countries import COUNTRIES

HOST = "127.0.0.1"
_COUNTRY_BY_NAME = {name.casefold(): qid for _code, (qid, name) in COUNTRIES.items()}
_COUNTRY_BY_NAME.update(
    {"united states": "Q30", "usa": "Q30", "russia": "Q159", "united kingdom": "Q145"}
)
_GROUP_FIELD = {"Mycology": "Q7148"}  # anything else IPNI lists is botany (Q441)
_ORCID_RE = re.compile(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]")
_VIAF_RE = re.compile(r"viaf(?:\.org/viaf/|-)(\d+)", re.I)
_YEAR = r"(c\.\s*|ca\.\s*)?(\d{3,4})(\??)"


def _time(year: int, precision: int) -> dict[str, Any]:
    return {
        "time": f"+{year:04d}-00-00T00:00:00Z",
        "timezone": 0,
        "before": 0,
        "after": 0,
        "precision": precision,
        "calendarmodel": "http://www.wikidata.org/entity/Q1985727",
    }


def ipni_dates(text: str) -> dict[str, list[tuple[int, int]]]:
    """IPNI ``dates`` as Wikidata properties with precision: '1834-1920', 'fl. 1994', 'c. 1850-'."""
    text = (text or "").strip()
    out: dict[str, list[tuple[int, int]]] = {}
    fl = re.fullmatch(rf"fl\.?\s*{_YEAR}(?:\s*-\s*{_YEAR})?", text)
    if fl:
        out["P1317"] = [(int(fl[2]), 8 if fl[1] or fl[3] else 9)]
        if fl[5]:
            out["P1317"].append((int(fl[5]), 8 if fl[4] or fl[6] else 9))
        return out
    m = re.fullmatch(rf"(?:b\.\s*)?(?:{_YEAR})?\s*-\s*(?:{_YEAR})?|(?:b\.\s*){_YEAR}", text)
    if m and (m[2] or m[5]):
        if m[2]:
            out["P569"] = [(int(m[2]), 8 if m[1] or m[3] else 9)]
        if m[5]:
            out["P570"] = [(int(m[5]), 8 if m[4] or m[6] else 9)]
    elif m and m[8]:
        out["P569"] = [(int(m[8]), 8 if m[7] or m[9] else 9)]
    return out


def usual_names(forename: str) -> tuple[str, list[str]]:
    """IPNI's forename without its bracketed forms, and each full forename with one bracketed
    form in place of the name before it: 'Carlo Pietro Stefano (Stephen)' -> ('Carlo Pietro
    Stefano', ['Carlo Pietro Stephen']); "Winsome Fanny ('Buddy')" -> ('Winsome Fanny',
    ['Winsome Buddy'])."""
    if "(" not in forename:
        return forename, []
    words: list[tuple[str, list[str]]] = []
    for token in re.findall(r"\([^)]*\)|[^\s()]+", forename):
        if token.startswith("(") and words:
            forms = [f.strip(" '\"‘’“”") for f in re.split(r"[,;]", token[1:-1])]
            words[-1][1].extend(f for f in forms if f)
        elif not token.startswith("("):
            words.append((token, []))
    plain = " ".join(w for w, _ in words)
    out: list[str] = []
    for k, (_w, forms) in enumerate(words):
        for form in forms:
            variant = " ".join(form if i == k else w for i, (w, _f) in enumerate(words))
            if variant not in out and variant != plain:
                out.append(variant)
    return plain, out


def _claim(prop: str, value: Any, kind: str) -> dict[str, Any]:
    datatypes = {"string": "external-id", "time": "time", "wikibase-entityid": "wikibase-item"}
    return {
        "mainsnak": {
            "snaktype": "value",
            "property": prop,
            "datavalue": {"value": value, "type": kind},
            "datatype": "string" if prop == "P428" else datatypes[kind],
        },
        "type": "statement",
        "rank": "normal",
    }


def _item(qid: str) -> dict[str, Any]:
    return {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid}


def entity_from_ipni(qid: str, rec: dict[str, Any]) -> dict[str, Any]:
    """A Wikidata-shaped entity from one IPNI author record."""
    written, surname = (rec.get("forename") or "").strip(), (rec.get("surname") or "").strip()
    # IPNI brackets the usual or other form of a given name: 'Carlo Pietro Stefano (Stephen)',
    # "Winsome Fanny ('Buddy')": the label drops them, each becomes an alias
    forename, usual = usual_names(written)
    label = " ".join(p for p in (forename, surname) if p) or rec.get("standardForm", qid)
    aliases: list[str] = []
    if forename and surname:
        aliases.append(f"{surname}, {forename}")
    aliases += [f"{u} {surname}" for u in usual if surname and f"{u} {surname}" != label]
    for alt in re.split(r"\s*;\s*", rec.get("alternativeNames") or ""):
        if alt and alt not in aliases and alt != label:
            aliases.append(alt)
    claims: dict[str, list[dict[str, Any]]] = {
        "P31": [_claim("P31", _item("Q5"), "wikibase-entityid")]
    }
    abbrevs = [rec.get("standardForm") or ""] + [
        re.sub(r"\s+From\s+.*$", "", a).strip()
        for a in (rec.get("alternativeAbbreviations") or "").split(";")
    ]
    seen: list[str] = []
    for a in abbrevs:
        if a and a not in seen:
            seen.append(a)
    claims["P428"] = [_claim("P428", a, "string") for a in seen]
    claims["P586"] = [_claim("P586", rec["id"], "string")]
    orcids = _ORCID_RE.findall(rec.get("notes") or "")
    if orcids:
        claims["P496"] = [_claim("P496", orcids[0], "string")]
    viaf = _VIAF_RE.findall(" ".join(str(rec.get(k) or "") for k in ("notes", "source")))
    if viaf:  # where IPNI's notes or source cite a VIAF cluster
        claims["P214"] = [_claim("P214", viaf[0], "string")]
    for prop, values in ipni_dates(rec.get("dates") or "").items():
        claims[prop] = [_claim(prop, _time(y, p), "time") for y, p in values]
    countries = [
        _COUNTRY_BY_NAME[c.strip().casefold()]
        for c in (rec.get("isoCountries") or "").split(",")
        if c.strip().casefold() in _COUNTRY_BY_NAME
    ]
    if countries:
        claims["P27"] = [
            _claim("P27", _item(q), "wikibase-entityid") for q in dict.fromkeys(countries)
        ]
    groups = [g.strip() for g in (rec.get("taxonGroups") or "").split(",") if g.strip()]
    fields = dict.fromkeys(_GROUP_FIELD.get(g, "Q441") for g in groups)
    if fields:
        claims["P101"] = [_claim("P101", _item(q), "wikibase-entityid") for q in fields]
    dates = f" ({rec['dates']})" if rec.get("dates") else ""
    what = "mycologist" if fields and "Q7148" in fields and len(fields) == 1 else "botanist"
    return {
        "type": "item",
        "id": qid,
        "labels": {"en": {"language": "en", "value": label}},
        "descriptions": {"en": {"language": "en", "value": f"{what}{dates}"}},
        "aliases": {"en": [{"language": "en", "value": a} for a in aliases]} if aliases else {},
        "claims": claims,
    }


def _open_text(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


class WikidataData:
    """The entities, a word-prefix index of labels and aliases, and (lazily) a SPARQL store."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        tsv = folder / "wikidata_P586_ipni_author.tsv"
        jsonl = next(
            (
                p
                for p in (folder / "ipni_authors.jsonl.gz", folder / "ipni_authors.jsonl")
                if p.is_file()
            ),
            None,
        )
        if not tsv.is_file() or jsonl is None:
            raise InputError("not an ipni-authors-wikidata folder", file=str(folder))
        qid_of: dict[str, str] = {}
        for line in _open_text(tsv):
            qid, _, ipni = line.rstrip("\n").partition("\t")
            if qid.startswith("Q") and ipni:
                qid_of.setdefault(ipni, qid)
        self.entities: dict[str, dict[str, Any]] = {}
        for line in _open_text(jsonl):
            rec = json.loads(line)
            found = qid_of.get(rec.get("id", ""))
            if found and not rec.get("suppressed") and found not in self.entities:
                self.entities[found] = entity_from_ipni(found, rec)
        index: list[tuple[str, int, str, str]] = []
        for qid, e in self.entities.items():
            names = [(e["labels"]["en"]["value"], "label")]
            names += [(a["value"], "alias") for a in e["aliases"].get("en", [])]
            names += [
                (c["mainsnak"]["datavalue"]["value"], "alias") for c in e["claims"].get("P428", [])
            ]
            for text, kind in names:
                words = fold(text).split()
                for k in range(len(words)):
                    index.append((" ".join(words[k:]), k, qid, f"{kind}\t{text}"))
        index.sort()
        self.index = index
        self._keys = [row[0] for row in index]
        self._store: Any = None
        self._lock = threading.Lock()

    def search(self, text: str) -> list[tuple[str, str, str]]:
        """(qid, match type, matched text), best first: exact before prefix, labels before aliases."""
        key = fold(text)
        if not key:
            return []
        start = bisect.bisect_left(self._keys, key)
        hits: dict[str, tuple[int, str, str]] = {}
        for i in range(start, len(self._keys)):
            if not self._keys[i].startswith(key):
                break
            term, offset, qid, kindtext = self.index[i]
            kind, _, matched = kindtext.partition("\t")
            rank = (
                (0 if term == key else 2)
                + (0 if offset == 0 else 1)
                + (0 if kind == "label" else 4)
            )
            if qid not in hits or rank < hits[qid][0]:
                hits[qid] = (rank, kind, matched)
        ordered = sorted(hits.items(), key=lambda kv: (kv[1][0], int(kv[0][1:])))
        return [(qid, kind, matched) for qid, (_r, kind, matched) in ordered]

    def store(self) -> Any:
        """An in-memory store of the truthy statements, built on the first SPARQL request."""
        with self._lock:
            if self._store is None:
                from collectomics.store import OxigraphStore

                lines = []
                for qid, e in self.entities.items():
                    s = f"<http://www.wikidata.org/entity/{qid}>"
                    label = json.dumps(e["labels"]["en"]["value"], ensure_ascii=False)
                    lines.append(f"{s} <http://www.w3.org/2000/01/rdf-schema#label> {label}@en .\n")
                    for prop, claims in e["claims"].items():
                        p = f"<http://www.wikidata.org/prop/direct/{prop}>"
                        for c in claims:
                            v = c["mainsnak"]["datavalue"]["value"]
                            if isinstance(v, str):
                                o = json.dumps(v, ensure_ascii=False)
                            elif "id" in v:
                                o = f"<http://www.wikidata.org/entity/{v['id']}>"
                            else:
                                year = int(v["time"][1:5])
                                o = f'"{year:04d}-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>'
                            lines.append(f"{s} {p} {o} .\n")
                store = OxigraphStore()
                store.replace_graph("urn:collectomics:standin", "".join(lines), "ntriples")
                self._store = store
            return self._store


class OrcidData:
    """Recorded ORCID v3.0 responses: person records, works, and search pages."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        if not (folder / "person").is_dir():
            raise InputError("not an rorcid-orcid-v3/extracted folder", file=str(folder))
        self.persons: dict[str, dict[str, Any]] = {}
        for path in sorted((folder / "person").glob("*.json")):
            self.persons[path.stem] = json.loads(path.read_text("utf-8"))["response"]
        self.works: dict[str, Any] = {}
        for path in sorted((folder / "works").glob("*.json")):
            self.works[path.stem] = json.loads(path.read_text("utf-8"))["response"]
        self.searches: dict[tuple[str, str, str], dict[str, Any]] = {}
        for path in sorted((folder / "search").glob("*.json")):
            rec = json.loads(path.read_text("utf-8"))
            q = parse_qs(urlsplit(rec["_request_uri"]).query)
            key = (q.get("q", [""])[0], q.get("rows", [""])[0], q.get("start", [""])[0])
            self.searches[key] = rec["response"]

    def _names(self, orcid: str) -> dict[str, str]:
        p = self.persons[orcid]
        name = p.get("name") or {}
        given = ((name.get("given-names") or {}).get("value")) or ""
        family = ((name.get("family-name") or {}).get("value")) or ""
        others = " ".join(
            o.get("content", "") for o in (p.get("other-names") or {}).get("other-name", [])
        )
        return {
            "given-names": fold(given),
            "family-name": fold(family),
            "other-names": fold(others),
        }

    def search(self, q: str, rows: int, start: int) -> dict[str, Any]:
        """A search answer: the recorded one for this exact request, else run over the persons."""
        recorded = self.searches.get(
            (q, str(rows) if rows != 1000 else "", str(start) if start else "")
        )
        if recorded is not None:
            return recorded
        clauses = [c for c in re.split(r"\s+AND\s+", q.strip()) if c]
        found = []
        for orcid in self.persons:
            names = self._names(orcid)
            ok = True
            for clause in clauses:
                field, sep, value = clause.partition(":")
                value = fold(value.strip('"')) if sep else fold(clause)
                if sep and field in names:
                    ok = value in names[field].split() or value == names[field]
                else:
                    ok = all(w in " ".join(names.values()).split() for w in value.split())
                if not ok:
                    break
            if ok:
                found.append(orcid)
        page = found[start : start + rows]
        return {
            "result": [
                {
                    "orcid-identifier": {
                        "uri": f"https://orcid.org/{o}",
                        "path": o,
                        "host": "orcid.org",
                    }
                }
                for o in page
            ],
            "num-found": len(found),
        }


def _handler(kind: str, data: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"collectomics-standin-{kind}"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        def _send(self, status: int, body: Any, ctype: str = "application/json") -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype + "; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                if kind == "wikidata":
                    self._wikidata(url.path, params)
                else:
                    self._orcid(url.path, params)
            except (ValueError, KeyError) as exc:
                self._send(400, {"error": {"code": "badvalue", "info": str(exc)}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            params = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if kind == "wikidata":
                self._wikidata(urlsplit(self.path).path, params)
            else:
                self._send(405, {"error": "GET only"})

        def _wikidata(self, path: str, params: dict[str, str]) -> None:
            if path == "/sparql":
                from collectomics.errors import QueryError

                try:
                    result = data.store().query(params.get("query", ""))
                except QueryError as exc:
                    self._send(400, str(exc).encode(), "text/plain")
                    return
                self._send(200, result.serialize("json"), "application/sparql-results+json")
                return
            if path != "/w/api.php":
                self._send(404, {"error": "not found"})
                return
            action = params.get("action")
            if action == "wbsearchentities":
                limit = min(int(params.get("limit", 7)), 50)
                offset = int(params.get("continue", 0))
                hits = data.search(params.get("search", ""))
                page = hits[offset : offset + limit]
                answer: dict[str, Any] = {
                    "searchinfo": {"search": params.get("search", "")},
                    "search": [
                        _search_hit(data.entities[q], kind_, text) for q, kind_, text in page
                    ],
                    "success": 1,
                }
                if offset + limit < len(hits):
                    answer["search-continue"] = offset + limit
                self._send(200, answer)
            elif action == "wbgetentities":
                ids = [i for i in params.get("ids", "").split("|") if i]
                if len(ids) > 50:
                    raise ValueError("too many ids (at most 50)")
                entities = {i: data.entities.get(i, {"id": i, "missing": ""}) for i in ids}
                self._send(200, {"entities": entities, "success": 1})
            else:
                self._send(
                    400, {"error": {"code": "badvalue", "info": f"unknown action {action!r}"}}
                )

        def _orcid(self, path: str, params: dict[str, str]) -> None:
            parts = [p for p in path.split("/") if p]
            if parts[:1] != ["v3.0"]:
                self._send(404, {"error": "not found"})
                return
            if parts[1:] == ["search"]:
                rows = int(params.get("rows", 1000))
                self._send(200, data.search(params.get("q", ""), rows, int(params.get("start", 0))))
                return
            if len(parts) == 3 and parts[1] in data.persons:
                orcid, what = parts[1], parts[2]
                if what == "person":
                    self._send(200, data.persons[orcid])
                    return
                if what == "employments":  # none recorded: an empty list, as ORCID answers
                    body: dict[str, Any] = {
                        "last-modified-date": None,
                        "affiliation-group": [],
                        "path": f"/{orcid}/employments",
                    }
                    self._send(200, body)
                    return
                if what == "works" and orcid in data.works:
                    self._send(200, data.works[orcid])
                    return
            self._send(404, {"response-code": 404, "developer-message": f"not found: {path}"})

    return Handler


def _search_hit(entity: dict[str, Any], kind: str, text: str) -> dict[str, Any]:
    qid = entity["id"]
    label = entity["labels"]["en"]["value"]
    hit = {
        "id": qid,
        "title": qid,
        "repository": "wikidata",
        "url": f"//www.wikidata.org/wiki/{qid}",
        "concepturi": f"http://www.wikidata.org/entity/{qid}",
        "display": {"label": {"value": label, "language": "en"}},
        "label": label,
        "description": entity["descriptions"]["en"]["value"],
        "match": {"type": kind, "language": "en", "text": text},
    }
    if kind == "alias":
        hit["aliases"] = [text]
    return hit


def load(kind: str, data_dir: str | Path) -> Any:
    """The stand-in's content from the corpus folder (tests/data/real in a checkout) (or a subset with the same layout)."""
    root = Path(data_dir)
    if kind == "wikidata":
        return WikidataData(root / "ipni-authors-wikidata")
    if kind == "orcid":
        return OrcidData(root / "rorcid-orcid-v3" / "extracted")
    raise InputError(f"no stand-in for {kind!r}; choose wikidata or orcid")


def make_server(kind: str, data: Any, port: int = 0) -> ThreadingHTTPServer:
    """A server for a stand-in on 127.0.0.1 (``port`` 0: any free port)."""
    server = ThreadingHTTPServer((HOST, port), _handler(kind, data))
    server.daemon_threads = True
    return server


def urls(kind: str, server: ThreadingHTTPServer) -> dict[str, str]:
    """The settings that point the clients at a running stand-in."""
    base = f"http://{HOST}:{server.server_address[1]}"
    if kind == "wikidata":
        return {"wikidata_api_url": base + "/w/api.php", "wikidata_sparql_url": base + "/sparql"}
    return {"orcid_api_url": base + "/v3.0"}


@contextmanager
def running(kind: str, data: Any) -> Iterator[dict[str, str]]:
    """Run a stand-in in a background thread for the duration of a ``with`` block."""
    server = make_server(kind, data)
    thread = threading.Thread(target=server.serve_forever, name=f"standin-{kind}", daemon=True)
    thread.start()
    try:
        yield urls(kind, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
