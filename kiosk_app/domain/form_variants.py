"""Which pages of a service's form apply to the variant the citizen chose on its first page.

The KK change, e-KTP reprint and pindah forms hold the pages of every variant; a page whose fields
all belong to other variants can be skipped (the session may use `skipped_pages`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from kiosk_app.domain import akta_kematian, kia, kk_change, ktp_reprint, pindah
from kiosk_app.domain.formkit import FormRules
from kiosk_app.domain.forms import FormSpec

# What a kiosk adds to the form's values when it sends them: who assisted the citizen.
ASSISTED_BY, ASSISTED_KIND = "assisted_by", "assisted_kind"
STAMPS = frozenset({ASSISTED_BY, ASSISTED_KIND})

RULES: dict[str, FormRules] = {
    "akta_kematian": akta_kematian.RULES,
    "perubahan_kk": kk_change.RULES,
    "cetak_ulang_ktp": ktp_reprint.RULES,
    "kia": kia.RULES,
    "pindah": pindah.RULES,
}


def applicable_fields(service: str, values: Mapping[str, str]) -> frozenset[str] | None:
    """Fields of the service's own pages that apply to the values given; None: all of them."""
    rules = RULES.get(service)
    return rules.applicable(values) if rules is not None else None


def hidden_fields(service: str, values: Mapping[str, str]) -> frozenset[str]:
    """Rows of a list the values leave out (the form does not show them)."""
    rules = RULES.get(service)
    return rules.hidden(values) if rules is not None else frozenset()


def required_now(service: str, name: str, values: Mapping[str, str], default: bool) -> bool:
    """Whether field `name` must be filled for the variant chosen so far (`default` otherwise)."""
    rules = RULES.get(service)
    if rules is None or name not in rules.fields:
        return default
    return name in rules.required(values)


def skipped_pages(service: str, form: FormSpec, values: Mapping[str, str]) -> frozenset[int]:
    """Indexes of the pages none of whose fields apply to the chosen variant."""
    rules = RULES.get(service)
    if rules is None:
        return frozenset()
    own = rules.fields
    applicable = rules.applicable(values)
    return frozenset(
        index
        for index, page in enumerate(form.pages)
        if page.fields
        and all(f.name in own for f in page.fields)
        and not any(f.name in applicable for f in page.fields)
    )


def outside_variant(
    service: str, names: Collection[str], values: Mapping[str, str]
) -> frozenset[str]:
    """Of `names`, the service's own fields that do not apply to the variant (and list rows)
    the values choose."""
    rules = RULES.get(service)
    if rules is None:
        return frozenset()
    applicable = rules.applicable(values)
    return frozenset(n for n in names if n in rules.fields and n not in applicable)


def submitted_values(service: str, values: Mapping[str, str]) -> dict[str, str]:
    """The values to send: those typed for another variant (then changed) are left out."""
    other = outside_variant(service, values.keys(), values)
    return {k: v for k, v in values.items() if k not in other}
