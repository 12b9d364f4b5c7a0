"""The bundled audit extractions of the seed papers (files in ``bayes_anlo/audit/bundled/``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: name -> (file name, citation of the audited paper)
BUNDLED_AUDITS: dict[str, tuple[str, str]] = {
    "npc_qin2025": (
        "npc_qin2025.csv",
        "Qin GJ, Su YX, Liang Y, et al. Anlotinib monotherapy in recurrent or metastatic "
        "nasopharyngeal carcinoma: a multicenter case-series analysis. Radiol Oncol 2025; "
        "59(4): 617-623 (seed 000).",
    ),
    "sarcoma_cai2022": (
        "sarcoma_cai2022.csv",
        "Cai M, Zhu J, Zhou G. Efficacy and safety of treating refractory bone and soft tissue "
        "sarcoma with anlotinib in different treatment patterns. Published 11 August 2022 "
        "(the seed text does not name the journal) (seed 003).",
    ),
    "sarcoma_meta_li2025": (
        "sarcoma_meta_li2025.csv",
        "Li Z, Fang P, Shen S, Zhang L, Xie R, Li C. Efficacy and safety of anlotinib for the "
        "treatment of advanced bone and soft tissue sarcomas: a systematic review and "
        "meta-analysis. Front Oncol 2025; 15: 1703261 (seed 004).",
    ),
}


def list_bundled_audits() -> list[str]:
    """Names of the bundled audit extractions, sorted."""
    return sorted(BUNDLED_AUDITS)


def bundled_audit_path(name: str) -> Path:
    """Path of a bundled audit extraction CSV; ``KeyError`` lists the names when unknown."""
    if name not in BUNDLED_AUDITS:
        raise KeyError(f"no bundled audit {name!r}; choose from {', '.join(list_bundled_audits())}")
    ref = resources.files("bayes_anlo.audit").joinpath("bundled", BUNDLED_AUDITS[name][0])
    return Path(str(ref))


def bundled_audit_citation(name: str) -> str:
    """The citation of the paper a bundled audit extraction comes from."""
    bundled_audit_path(name)  # raises for unknown names
    return BUNDLED_AUDITS[name][1]
