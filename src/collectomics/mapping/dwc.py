"""Darwin Core term names: recognise a column header as a Darwin Core term.

Headers may be bare (``recordedBy``), prefixed (``dwc:recordedBy``), full IRIs, or differ in
case (``RecordedBy``). Legacy Darwin Core 1.4 names that differ from today's are mapped too.
"""

from __future__ import annotations

DWC_NS = "http://rs.tdwg.org/dwc/terms/"
DC_NS = "http://purl.org/dc/terms/"

#: Darwin Core terms this mapping understands, by group.
RECORD_TERMS = (
    "occurrenceID recordedByID identifiedByID catalogNumber otherCatalogNumbers institutionCode collectionCode basisOfRecord "
    "recordNumber preparations typeStatus disposition sex lifeStage individualCount "
    "occurrenceRemarks associatedMedia associatedReferences ownerInstitutionCode "
    "datasetName informationWithheld dataGeneralizations"
).split()
TAXON_TERMS = (
    "scientificName scientificNameAuthorship kingdom phylum class order family subfamily genus "
    "specificEpithet infraspecificEpithet taxonRank vernacularName acceptedNameUsage"
).split()
EVENT_TERMS = (
    "eventDate verbatimEventDate year month day startDayOfYear endDayOfYear eventTime "
    "recordedBy fieldNumber fieldNotes habitat samplingProtocol eventRemarks"
).split()
LOCATION_TERMS = (
    "continent waterBody islandGroup island country countryCode stateProvince county "
    "municipality locality verbatimLocality higherGeography decimalLatitude decimalLongitude "
    "geodeticDatum coordinateUncertaintyInMeters coordinatePrecision verbatimCoordinates "
    "verbatimLatitude verbatimLongitude minimumElevationInMeters maximumElevationInMeters "
    "verbatimElevation minimumDepthInMeters maximumDepthInMeters locationRemarks georeferenceRemarks"
).split()
IDENTIFICATION_TERMS = (
    "identifiedBy dateIdentified identificationQualifier identificationRemarks "
    "verbatimIdentification identificationReferences"
).split()
#: terms with a place of their own beyond the groups above: an agent term made a role, label
#: text made a label transcription, GBIF's issue flags made annotations (mapping.verbatim)
OTHER_TERMS = "georeferencedBy georeferencedByID verbatimLabel issue".split()
#: dcterms terms that Darwin Core records carry as columns
DC_TERMS = (
    "license rightsHolder accessRights bibliographicCitation references modified language "
    "identifier"
).split()

ALL_TERMS = RECORD_TERMS + TAXON_TERMS + EVENT_TERMS + LOCATION_TERMS + IDENTIFICATION_TERMS

_LEGACY = {
    "collector": "recordedBy",
    "catalognumbertext": "catalogNumber",
    "cataloguenumber": "catalogNumber",
    "scientificnameauthor": "scientificNameAuthorship",
    "latitude": "decimalLatitude",
    "longitude": "decimalLongitude",
    "collectornumber": "recordNumber",
    "fieldnumber": "fieldNumber",
    "earliestdatecollected": "eventDate",
}

#: GBIF terms found in GBIF downloads
GBIF_TERMS = ["gbifID", "datasetKey"]

_BY_LOWER = {t.lower(): t for t in ALL_TERMS + DC_TERMS + GBIF_TERMS + OTHER_TERMS}


def canonical_term(header: str) -> str | None:
    """The Darwin Core (or Dublin Core) term a column header names, or None."""
    name = header.strip().lstrip("\ufeff")
    for prefix in (
        DWC_NS,
        DC_NS,
        "http://rs.gbif.org/terms/1.0/",
        "dwc:",
        "dcterms:",
        "dc:",
        "gbif:",
    ):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    low = name.lower()
    return _BY_LOWER.get(low) or _LEGACY.get(low)
