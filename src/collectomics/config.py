"""One settings table, read in the order defaults < collectomics.toml < COLLECTOMICS_* < CLI flags.

Every setting is declared once in :data:`SETTINGS`; the CLI flags, ``docs/settings.md`` and a
test that every setting is documented all derive from this table.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectomics.errors import ConfigError

ENV_PREFIX = "COLLECTOMICS_"
CONFIG_FILE = "collectomics.toml"


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default, type and the help text shown in the CLI and docs."""

    name: str
    default: Any
    help: str
    type: type = str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, value: Any, source: str) -> Any:
        """Coerce a raw value (from TOML, the environment or a flag) to this setting's type."""
        if (
            value is None
            or isinstance(value, self.type)
            and not (self.type is int and isinstance(value, bool))
        ):
            return value
        text = str(value).strip()
        try:
            if self.type is bool:
                low = text.lower()
                if low in {"1", "true", "yes", "on"}:
                    return True
                if low in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(text)
            if self.type is int:
                return int(text)
            if self.type is float:
                return float(text)
        except ValueError:
            raise ConfigError(
                f"setting {self.name!r} expects {self.type.__name__}, got {text!r}", source=source
            ) from None
        return text


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "store",
        "collectomics.db",
        "Path of the on-disk Oxigraph store (a directory), or a remote SPARQL server's query "
        "endpoint as `sparql+http://HOST:PORT/query` (or `sparql+https://`).",
    ),
    Setting(
        "store_update_url",
        "",
        "SPARQL Update endpoint of a remote store (empty: `/update` beside a `/query` endpoint, "
        "else the query endpoint itself).",
    ),
    Setting(
        "store_graph_store_url",
        "",
        "Graph Store Protocol endpoint of a remote store, for bulk loads (empty: `/store` beside "
        "a `/query` endpoint; for Virtuoso, `http://HOST:PORT/sparql-graph-crud`).",
    ),
    Setting(
        "store_bulk_loader",
        "graph-store",
        "How `load` puts shards into a remote store: `graph-store` (Graph Store POSTs, any "
        "server) or `virtuoso` (Virtuoso's own bulk loader, `ld_add` + `rdf_loader_run()` "
        "through isql on `store_sql`; the server reads the files, from a folder in its "
        "`DirsAllowed`).",
    ),
    Setting(
        "store_sql",
        "",
        "Virtuoso's SQL port as `HOST:PORT`, for the `virtuoso` bulk loader (empty: the store's "
        "host, port 1111).",
    ),
    Setting("store_sql_user", "dba", "Account the `virtuoso` bulk loader logs in to isql as."),
    Setting(
        "store_sql_password",
        "",
        "Password of `store_sql_user` (better in the environment than in a settings file).",
    ),
    Setting(
        "store_bulk_dir",
        "",
        "Folder where `load` writes the N-Triples files a bulk loader reads, one per shard and "
        "graph, removed after the load (empty: beside the shards); for Virtuoso, on the "
        "server's file system and in its `DirsAllowed`.",
    ),
    Setting(
        "store_bulk_loaders",
        2,
        "Sessions of `rdf_loader_run()` the `virtuoso` bulk loader runs at once (Virtuoso's "
        "advice: about the server's cores divided by 2.5).",
        int,
    ),
    Setting(
        "base_iri",
        "https://w3id.org/collectomics/",
        "Base under which every IRI the graph mints is placed; must end with '/' or '#'.",
    ),
    Setting("host", "127.0.0.1", "Address `serve` and `demo` listen on."),
    Setting("port", 8000, "Port `serve` and `demo` listen on.", int),
    Setting(
        "threads",
        8,
        "Most queries one HTTP worker process of `serve` runs at once (Linux); elsewhere, the "
        "HTTP server's threads. Also the most page reads (entity pages, views, reconciliation) a "
        "process runs at once under their time budget.",
        int,
    ),
    Setting(
        "demo_store",
        "collectomics-demo.db",
        "Where `demo` builds the demo graph; rebuilt from scratch on every run.",
    ),
    Setting(
        "queries_dir",
        "",
        "Extra folder of canned `.rq` queries, searched before the bundled `queries/`.",
    ),
    Setting(
        "working_age",
        10,
        "Youngest plausible age (years) to collect, identify or write a label; `infer` flags "
        "records dated earlier in an agent's life and starts label-writer bounds there.",
        int,
    ),
    Setting(
        "workers",
        2,
        "HTTP worker processes of `serve` (Linux), each answering requests and running queries "
        "on its own read-only handle on the store, with as many worker processes of its own "
        "for page sections; elsewhere, the worker processes of queries and page sections.",
        int,
    ),
    Setting(
        "query_timeout",
        30.0,
        "Seconds a query, or any page that reads the store (entity pages, views, reconciliation, "
        "VoID), may run before the client gets a 503 and the process running it is replaced "
        "(0: none).",
        float,
    ),
    Setting(
        "section_timeout",
        5.0,
        "Seconds one section of an entity page may take, in a worker process that is killed "
        "past it; the section then says it is too large to show and links its query, while the "
        "rest of the page is shown (0: none; the page as a whole keeps `query_timeout`).",
        float,
    ),
    Setting(
        "max_rows",
        100000,
        "Most rows a SELECT answers through the endpoint (0: no cap); answers name the cap in a "
        "`Collectomics-Max-Rows` header.",
        int,
    ),
    Setting(
        "max_request_bytes",
        1048576,
        "Largest request body and query string the endpoint accepts, in bytes.",
        int,
    ),
    Setting(
        "federation_endpoints",
        "",
        "SPARQL endpoints a query may call with `SERVICE`, as IRIs separated by spaces (empty: "
        "SERVICE is refused before any request is made, so that the server never fetches a URL "
        "a client names).",
    ),
    Setting(
        "max_line_bytes",
        4194304,
        "Longest line of a data file (CSV/TSV, archive member), in bytes; a longer line stops "
        "that ingest with an error naming the file and line, before it is held in memory.",
        int,
    ),
    Setting(
        "max_field_bytes",
        4194304,
        "Longest record a quoted field may make across lines, in characters; a longer one is "
        "rejected as a quote that never closes (pyoxigraph refuses N-Triples lines over 16 MiB).",
        int,
    ),
    Setting(
        "max_blank_lines",
        100000,
        "Most blank lines in a row a data file may hold; more stops that ingest.",
        int,
    ),
    Setting(
        "max_problems_per_file",
        1000,
        "Problems (errors and warnings) an ingest report keeps for each file; the rest are "
        "counted, not kept, so reports and memory stay small (0: keep all).",
        int,
    ),
    Setting(
        "max_member_bytes",
        17179869184,
        "Largest decompressed size of one member of a zip archive, in bytes (0: no limit).",
        int,
    ),
    Setting(
        "max_compression_ratio",
        100,
        "Largest ratio of decompressed to compressed size of a zip member over 1 MiB "
        "(real archives measured here: at most 14; a zip bomb: about 1,000) (0: no limit).",
        int,
    ),
    Setting(
        "max_unpaired_rows",
        50000,
        "Most rows of a GBIF download's `occurrence.txt` and `verbatim.txt` held while waiting "
        "for their partner in the other file (GBIF writes both in the same order: none wait).",
        int,
    ),
    Setting(
        "max_xml_bytes",
        16777216,
        "Largest `meta.xml` or EML document, in bytes; both are also refused when they declare "
        "DTD entities or nest elements deeper than 100.",
        int,
    ),
    Setting(
        "max_json_bytes",
        67108864,
        "Largest JSON file (documents template, IIIF manifest) `ingest` reads, in bytes.",
        int,
    ),
    Setting(
        "max_query_depth",
        64,
        "Deepest nesting of `{`, `(` and `[` a query or update may have; deeper ones get a 400 "
        "before the SPARQL parser sees them (whose stack they would overflow). 0: no limit.",
        int,
    ),
    Setting(
        "max_query_patterns",
        200,
        "Most triple patterns, path steps, group keywords and operators a query or update may "
        "hold (`VALUES` data and literals do not count); more get a 400 before the parser sees "
        "them. 0: no limit.",
        int,
    ),
    Setting(
        "allow_updates",
        False,
        "Accept SPARQL updates at /sparql (with the `update_token` as a bearer token).",
        bool,
    ),
    Setting(
        "update_token",
        "",
        "The bearer token an update must carry; updates stay refused while it is empty.",
    ),
    Setting(
        "materialise_after_load",
        True,
        "After `ingest`, `link`, `review` and `infer`, rebuild the facets graph and its caches "
        "when they are stale (as `materialise --if-stale`); off to defer it over several loads.",
        bool,
    ),
    Setting(
        "itinerary_speeds",
        "1900:100 1950:500 *:1500",
        "Fastest plausible travel (km a day) by period, as `BEFORE_YEAR:KM` pairs and `*:KM` for "
        "later; `itinerary` flags consecutive collecting events that imply a faster journey.",
    ),
    Setting(
        "wikidata_api_url",
        "https://www.wikidata.org/w/api.php",
        "Wikidata's MediaWiki API (`wbsearchentities`, `wbgetentities`) used by `link`.",
    ),
    Setting(
        "wikidata_sparql_url",
        "https://query.wikidata.org/sparql",
        "Wikidata's query service (SPARQL) used by `link`.",
    ),
    Setting(
        "orcid_api_url", "https://pub.orcid.org/v3.0", "The ORCID public API v3.0 used by `link`."
    ),
    Setting(
        "linking_cache",
        "linking-cache",
        "Folder where answers from Wikidata and ORCID are cached (empty: no cache).",
    ),
    Setting(
        "linking_offline",
        False,
        "Answer Wikidata and ORCID requests from the cache only; a miss is an error.",
        bool,
    ),
    Setting(
        "linking_rate",
        5.0,
        "Most requests per second to Wikidata or ORCID (0: no limit, for stand-ins).",
        float,
    ),
    Setting(
        "linking_date_tolerance",
        5,
        "Years a record may fall outside a candidate's life (widened by each date's precision) "
        "before `link` vetoes the candidate.",
        int,
    ),
    Setting(
        "standin_data",
        "tests/data/real",
        "Folder holding `ipni-authors-wikidata/` and `rorcid-orcid-v3/` for `stand-in`.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass
class Settings:
    """Resolved settings with where each value came from (default, file, env or flag)."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **overrides: Any) -> Settings:
        """A copy with some values overridden (as CLI flags would)."""
        new = Settings(dict(self.values), dict(self.sources))
        for name, value in overrides.items():
            if value is None:
                continue
            new.values[name] = _setting(name).parse(value, "argument")
            new.sources[name] = "argument"
        return new


def default(name: str) -> Any:
    """The default value of the setting ``name`` (one place for it: ReadLimits and the query
    limits take theirs from here)."""
    return _BY_NAME[name].default


@dataclass(frozen=True)
class ReadLimits:
    """The bounds every reader of ``ingest`` enforces (see the ``max_*`` settings): what one
    input may cost in memory and time. The defaults are the settings' defaults."""

    max_line_bytes: int = default("max_line_bytes")
    max_field_bytes: int = default("max_field_bytes")
    max_blank_lines: int = default("max_blank_lines")
    max_problems_per_file: int = default("max_problems_per_file")
    max_member_bytes: int = default("max_member_bytes")
    max_compression_ratio: int = default("max_compression_ratio")
    max_unpaired_rows: int = default("max_unpaired_rows")
    max_xml_bytes: int = default("max_xml_bytes")
    max_json_bytes: int = default("max_json_bytes")

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        """The limits the resolved ``settings`` name."""
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


def _setting(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown setting {name!r}", known=", ".join(_BY_NAME)) from None


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: defaults < TOML file < environment < ``overrides`` (CLI flags).

    ``config_file`` defaults to ``collectomics.toml`` in the working directory, if present
    (or the file named by ``COLLECTOMICS_CONFIG``).
    """
    env = os.environ if environ is None else environ
    settings = Settings(
        {s.name: s.default for s in SETTINGS}, {s.name: "default" for s in SETTINGS}
    )

    path = Path(config_file) if config_file else Path(env.get(ENV_PREFIX + "CONFIG", CONFIG_FILE))
    explicit = config_file is not None or ENV_PREFIX + "CONFIG" in env
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read configuration: {exc}", file=str(path)) from None
        table = data.get("collectomics", data)
        for name, value in table.items():
            if isinstance(value, dict):
                continue
            setting = _setting(name)
            settings.values[name] = setting.parse(value, str(path))
            settings.sources[name] = str(path)
    elif explicit:
        raise ConfigError("configuration file not found", file=str(path))

    for setting in SETTINGS:
        if setting.env in env:
            settings.values[setting.name] = setting.parse(env[setting.env], setting.env)
            settings.sources[setting.name] = setting.env

    for name, value in (overrides or {}).items():
        if value is None:
            continue
        settings.values[name] = _setting(name).parse(value, "argument")
        settings.sources[name] = "argument"

    base = settings.values["base_iri"]
    if not base.endswith(("/", "#")) or "://" not in base:
        raise ConfigError(
            f"base_iri must be an absolute IRI ending in '/' or '#', got {base!r}",
            source=settings.sources["base_iri"],
        )
    return settings
