"""Exports of a protected dashboard: CSV, Parquet (pyarrow) and the periodic HTML report a
coordinator downloads. Only protected figures go out (views.long_rows)."""
from __future__ import annotations

import csv
import io
from html import escape

from netsterk.catalogue import CATALOGUE
from netsterk.i18n import t
from services.reporting import charts, views

COLUMNS = ("network", "year", "table", "row", "column", "value", "count")


class InvalidExport(ValueError):
    """An export format that does not exist."""


def label(code, lang: str = "nl") -> str:
    """The catalogue's words for a row/column code; codes without words stay as they are."""
    code = str(code)
    for prefix in ("reporting.label.", "state.", "category."):
        if prefix + code in CATALOGUE:
            return t(prefix + code, lang)
    return code


def labels(report: dict, lang: str) -> dict:
    codes = {"all"}
    for table in report["tables"]:
        codes |= {str(c) for c in table["rows"]} | {str(c) for c in table["cols"]}
    return {code: label(code, lang) for code in codes}


def rows(report: dict) -> list[dict]:
    out = []
    for row in views.long_rows(report):
        count = row["count"]
        out.append(dict(row, count=float(count) if count is not None else None))
    return out


def to_csv(report: dict) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(report))
    return buffer.getvalue()


def to_parquet(report: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("network", pa.string()), ("year", pa.int32()), ("table", pa.string()),
                        ("row", pa.string()), ("column", pa.string()), ("value", pa.string()),
                        ("count", pa.float64())])
    table = pa.Table.from_pylist(rows(report), schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def export(report: dict, fmt: str):
    if fmt == "csv":
        return to_csv(report)
    if fmt == "parquet":
        return to_parquet(report)
    raise InvalidExport("format must be csv or parquet")


def chart_svg(report: dict, name: str, lang: str = "nl") -> str:
    if name not in charts.CHARTS:
        raise charts.UnknownChart(f"chart must be one of {', '.join(charts.CHARTS)}")
    return charts.chart(report, name, t(f"reporting.table.{name}", lang), labels(report, lang))


def table_html(table: dict, lang: str) -> str:
    """One protected table as HTML (used by the periodic report and the portal)."""
    names = labels({"tables": [table]}, lang)
    head = "".join(f"<th>{escape(names.get(str(c), str(c)))}</th>" for c in table["cols"])
    extras = [name for name in ("mean_days", "mean_days_late") if name in table["extra"]]
    head += f"<th>{escape(t('reporting.label.total', lang))}</th>"
    head += "".join(f"<th>{escape(t(f'reporting.label.{name}', lang))}</th>" for name in extras)
    body = []
    for r, row in enumerate(table["rows"]):
        cells = "".join(f"<td>{escape(str(v))}</td>" for v in table["cells"][r])
        cells += f"<td><strong>{escape(str(table['row_totals'][r]))}</strong></td>"
        cells += "".join(f"<td>{escape(str(table['extra'][name][r] if table['extra'][name][r] is not None else ''))}</td>"
                         for name in extras)
        body.append(f"<tr><th>{escape(names.get(str(row), str(row)))}</th>{cells}</tr>")
    if table["col_totals"] is not None:
        cells = "".join(f"<td><strong>{escape(str(v))}</strong></td>" for v in table["col_totals"])
        body.append(f"<tr><th>{escape(t('reporting.label.total', lang))}</th>{cells}"
                    f"<td><strong>{escape(str(table['grand_total']))}</strong></td>"
                    + "<td></td>" * len(extras) + "</tr>")
    if not table["rows"]:
        body.append(f'<tr><td colspan="{len(table["cols"]) + 2}">{escape(t("reporting.no_data", lang))}</td></tr>')
    return (f'<table class="report" id="{escape(table["id"])}"><caption>'
            f'{escape(t("reporting.table." + table["id"], lang))}</caption>'
            f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def periodic_report(report: dict, lang: str = "nl") -> str:
    """A self-contained HTML file: every chart and table of the year, with the rules."""
    sections = [f'<figure>{chart_svg(report, name, lang)}</figure>' for name in charts.CHARTS]
    sections += [table_html(table, lang) for table in report["tables"]]
    title = t("reporting.report.title", lang, network=report["network"], year=report["year"])
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        "<style>body{font-family:sans-serif;margin:2em;max-width:60em}table.report{border-collapse:"
        "collapse;margin:1.5em 0;font-size:.9em}table.report td,table.report th{border:1px solid #ccc;"
        "padding:.2em .5em;text-align:right}caption{font-weight:bold;text-align:left;padding:.3em 0}"
        "figure{margin:1em 0}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(t('reporting.rules', lang))}</p>"
        + "".join(sections) + "</body></html>")
