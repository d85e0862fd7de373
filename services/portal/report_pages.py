"""HTML of the analyst area: the protected tables and charts of one network's year."""
from __future__ import annotations

from urllib.parse import quote

from netsterk.catalogue import CATALOGUE
from netsterk.i18n import both
from services.portal.pages import e, layout

CHARTS = ("referrals_per_month", "referrals_by_category", "stages", "declines_by_reason",
          "gaps_by_reason", "outcomes_per_offer")
SECTIONS = (
    ("referrals", ("referrals_per_month", "referrals_by_neighbourhood", "referrals_by_category",
                   "referrals_by_school_level", "referrals_by_age_band", "referrals_by_channel")),
    ("direct", ("referrals_by_source", "referrals_by_repeat")),
    ("stages", ("stages", "partner_response")),
    ("declines", ("declines_by_reason", "declines_by_organisation")),
    ("gaps", ("gaps_need_where", "gaps_by_reason", "gaps_by_neighbourhood", "gaps_by_age_band",
              "gaps_by_school_level")),
    ("outcomes", ("outcomes_per_offer",)),
)


def word(code) -> str:
    code = str(code)
    for prefix in ("reporting.label.", "state.", "category."):
        if prefix + code in CATALOGUE:
            return both(prefix + code)
    return code


def table_html(table: dict) -> str:
    extras = [name for name in ("mean_days", "mean_days_late") if name in table["extra"]]
    head = "".join(f"<th>{e(word(c))}</th>" for c in table["cols"])
    head += f"<th>{e(both('reporting.label.total'))}</th>"
    head += "".join(f"<th>{e(word(name))}</th>" for name in extras)
    body = []
    for r, row in enumerate(table["rows"]):
        cells = "".join(f"<td>{e(v)}</td>" for v in table["cells"][r])
        cells += f"<td><strong>{e(table['row_totals'][r])}</strong></td>"
        cells += "".join(f"<td>{e(table['extra'][name][r])}</td>" for name in extras)
        body.append(f"<tr><th>{e(word(row))}</th>{cells}</tr>")
    if table["col_totals"] is not None and table["rows"]:
        cells = "".join(f"<td><strong>{e(v)}</strong></td>" for v in table["col_totals"])
        body.append(f"<tr><th>{e(both('reporting.label.total'))}</th>{cells}"
                    f"<td><strong>{e(table['grand_total'])}</strong></td>{'<td></td>' * len(extras)}</tr>")
    if not table["rows"]:
        body.append(f'<tr><td colspan="{len(table["cols"]) + 2}">{e(both("reporting.no_data"))}</td></tr>')
    return (f'<div class="card report-table"><table id="{e(table["id"])}"><caption>'
            f'<strong>{e(both("reporting.table." + table["id"]))}</strong></caption>'
            f'<thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def reports_page(user, report: dict) -> str:
    year = report["year"]
    query = f"?year={quote(str(year))}"
    years = sorted(set(report.get("years") or []) | {year})
    options = "".join(f'<option value="{y}"{" selected" if y == year else ""}>{y}</option>' for y in years)
    tables = {table["id"]: table for table in report["tables"]}
    parts = [
        f'<p class="info">{e(both("reporting.rules"))}</p>',
        f'<form method="get" action="/reports" class="card inline-form"><label>{e(both("reporting.page.year"))}'
        f'<select name="year">{options}</select></label>'
        f'<button type="submit">{e(both("reporting.page.show"))}</button></form>',
        '<p class="downloads">'
        f'<a href="/reports/periodic.html{query}">{e(both("reporting.page.download_report"))}</a> · '
        f'<a href="/reports/export.csv{query}">{e(both("reporting.page.download_csv"))}</a> · '
        f'<a href="/reports/export.parquet{query}">{e(both("reporting.page.download_parquet"))}</a></p>',
    ]
    for name in CHARTS:
        parts.append(f'<figure class="card"><img src="/reports/charts/{name}.svg{query}" '
                     f'alt="{e(both("reporting.table." + name))}" width="720"></figure>')
    for _section, ids in SECTIONS:
        parts += [table_html(tables[i]) for i in ids if i in tables]
    title = f'{both("reporting.page.title")} · {user.network} · {year}'
    return layout(title, "".join(parts), user=user)
