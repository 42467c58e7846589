"""Machine-readable descriptions of the published datasets, projected from the schema registry:
the key-value metadata every published Parquet file carries, and the Frictionless Data Package
descriptor (``datapackage.json``) of a published version (pure; no I/O).

The files carry no ``ARROW:schema`` (readers would decode the dictionary-encoded strings as
dictionaries, pandas categoricals), so the descriptions travel as Parquet key-value metadata:
``nianbao`` (JSON: the dataset, its description, each field's type, nullability, allowed values and
description) and ``pandas`` (the nullable integer columns, so that ``pd.read_parquet`` gives
``Int64`` where DuckDB and polars give BIGINT / Int64; strings and floats keep their defaults).
Both are deterministic: they depend only on the registry, never on library versions.
"""
from __future__ import annotations

import json
from functools import lru_cache

import pyarrow as pa

from transforms import schema as registry

METADATA_KEY = b"nianbao"
PANDAS_KEY = b"pandas"
DATAPACKAGE_PROFILE = "tabular-data-package"
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"

# Arrow type -> Frictionless Table Schema type (https://specs.frictionlessdata.io/table-schema/#types-and-formats)
_TABLE_SCHEMA_TYPES = {
    pa.string(): "string",
    pa.float64(): "number",
    pa.int64(): "integer",
    pa.int32(): "integer",
    pa.bool_(): "boolean",
    pa.list_(pa.string()): "array",
}


def type_name(arrow: pa.DataType) -> str:
    """The Arrow type as written in the file metadata (``string``, ``int64``, ``list<string>`` …)."""
    return "list<string>" if arrow == pa.list_(pa.string()) else str(arrow)


def field_records(dataset: str) -> list[dict]:
    out = []
    for f in registry.fields(dataset):
        r = {"name": f.name, "type": type_name(f.arrow), "nullable": f.nullable, "description": f.description}
        if f.allowed:
            r["allowed"] = list(f.allowed)
        out.append(r)
    return out


@lru_cache(maxsize=None)
def _file_metadata(dataset: str) -> tuple[tuple[bytes, bytes], ...]:
    described = {"dataset": dataset, "description": registry.DESCRIPTIONS.get(dataset, ""),
                 "parser_version": registry.PARSER_VERSION, "fields": field_records(dataset),
                 "datapackage": "datapackage.json"}
    # the subset of pandas' own metadata that pyarrow reads back: the extension dtype of each column
    # whose registry pandas dtype is one (pandas' default for int64 with nulls would be float64)
    nullable = [{"name": f.name, "field_name": f.name, "pandas_type": _pandas_type(f.pandas_dtype),
                 "numpy_type": f.pandas_dtype, "metadata": None}
                for f in registry.fields(dataset) if f.pandas_dtype in ("Int64", "boolean")]
    pandas = {"index_columns": [], "column_indexes": [], "columns": nullable, "attributes": {},
              "creator": {"library": "nianbao"}}
    return ((METADATA_KEY, _json(described)), (PANDAS_KEY, _json(pandas)))


def _pandas_type(dtype: str) -> str:
    return {"Int64": "int64", "boolean": "bool"}[dtype]


def _json(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def file_metadata(dataset: str) -> dict[bytes, bytes]:
    """Key-value metadata of a published Parquet file of ``dataset``."""
    return dict(_file_metadata(dataset))


def read_descriptions(kv: dict[bytes, bytes] | None) -> dict[str, str]:
    """Field name -> description from a file's key-value metadata (empty when it has none)."""
    raw = (kv or {}).get(METADATA_KEY)
    return {f["name"]: f["description"] for f in json.loads(raw)["fields"]} if raw else {}


def table_schema(dataset: str, partition_key: str | None = None) -> dict:
    """Frictionless Table Schema of a dataset (field types, descriptions, required and enum
    constraints; arrays of allowed items in the description, Table Schema has no item constraint)."""
    fields = []
    for f in registry.fields(dataset):
        d = {"name": f.name, "type": _TABLE_SCHEMA_TYPES[f.arrow], "description": f.description}
        constraints = {}
        if not f.nullable:
            constraints["required"] = True
        if f.allowed and d["type"] != "array":
            constraints["enum"] = list(f.allowed)
        elif f.allowed:
            d["description"] += " Items: " + ", ".join(f.allowed) + "."
        if constraints:
            d["constraints"] = constraints
        fields.append(d)
    return {"fields": fields, "missingValues": [""]}


def datapackage(files: dict[str, list[str]], *, title: str = "nianbao", version: str | None = None) -> dict:
    """The Data Package descriptor of a published version: one tabular resource per dataset in
    ``files`` (dataset -> its Parquet files, POSIX paths relative to the descriptor), in registry order."""
    resources = []
    for name in registry.DATASETS:
        if name not in files:
            continue
        paths = sorted(files[name])
        resources.append({
            "name": name,
            "profile": "tabular-data-resource",
            "path": paths if len(paths) != 1 else paths[0],
            "format": "parquet",
            "mediatype": PARQUET_MEDIATYPE,
            "description": registry.DESCRIPTIONS.get(name, ""),
            "schema": table_schema(name),
        })
    pkg = {"profile": DATAPACKAGE_PROFILE, "name": "nianbao",
           "title": f"{title}: government information-disclosure annual reports (政府信息公开工作年度报告)",
           "description": "Statutory tables 二, 三 and 四 of the annual reports as tidy long-format datasets, "
                          "one row per printed cell with its text, flags and provenance, plus one row per "
                          "report, the quality checks and the files that could not be read. Every column is "
                          "described in docs/data_dictionary.md and in each file's key-value metadata.",
           "resources": resources}
    if version:
        pkg["version"] = version
    return pkg
