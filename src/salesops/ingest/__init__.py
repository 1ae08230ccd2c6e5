"""Import CRM exports (Salesforce, HubSpot, Maven, any CSV with a mapping) and export it all."""

from salesops.ingest.export import export_database, restore
from salesops.ingest.mapping import Mapping, load_mapping, parse_mapping
from salesops.ingest.service import run_import
from salesops.ingest.summary import ImportSummary, TableCounts

__all__ = [
    "ImportSummary",
    "Mapping",
    "TableCounts",
    "export_database",
    "load_mapping",
    "parse_mapping",
    "restore",
    "run_import",
]
