"""Known OPTIMADE providers (short name -> database base URL) and provider-field names.

The base URLs are the ``child`` database links published in the Materials-Consortia
providers list (``src/index-metadbs/<id>/v1/links.json`` of github.com/Materials-Consortia/
providers, read on 2026-02-27). They are a static table so that naming a provider costs no
network round trip to the index meta-databases; any other base URL can be passed directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Provider", "PROVIDERS", "FIELD_MAP", "FieldSpec", "OPTIMADE_CITATION"]

OPTIMADE_CITATION = (
    "C. W. Andersen et al., OPTIMADE, an API for exchanging materials data, Sci. Data 8, 217 "
    "(2021), doi:10.1038/s41597-021-00974-z; M. L. Evans et al., Developments and applications "
    "of the OPTIMADE API for materials discovery, design, and data exchange, Digital Discovery "
    "3, 1509 (2024), doi:10.1039/D4DD00039K"
)


@dataclass(frozen=True)
class Provider:
    """One OPTIMADE database.

    Attributes:
        key: Short name (``"mp"``).
        base_url: Database base URL (``/v1/structures`` is appended).
        title: Human-readable name.
        citation: What the provider asks users to cite.
        license: Licence of the data where the provider states one (SPDX id or text);
            empty when unknown here. The provider's ``/info`` answer, when it gives one, is
            recorded too (``dataset.attrs["license"]``).
        default_properties: Provider fields requested when ``properties=`` is not given.
    """

    key: str
    base_url: str
    title: str
    citation: str = ""
    license: str = ""
    default_properties: tuple[str, ...] = ()


PROVIDERS: dict[str, Provider] = {
    p.key: p
    for p in [
        Provider(
            "mp",
            "https://optimade.materialsproject.org",
            "The Materials Project",
            "A. Jain et al., Commentary: The Materials Project: A materials genome approach to "
            "accelerating materials innovation, APL Mater. 1, 011002 (2013), "
            "doi:10.1063/1.4812323",
            "CC-BY-4.0",
            ("_mp_stability",),
        ),
        Provider(
            "oqmd",
            "https://oqmd.org/optimade",
            "The Open Quantum Materials Database (OQMD)",
            "J. E. Saal, S. Kirklin, M. Aykol, B. Meredig, C. Wolverton, JOM 65, 1501 (2013), "
            "doi:10.1007/s11837-013-0755-4; S. Kirklin et al., npj Comput. Mater. 1, 15010 "
            "(2015), doi:10.1038/npjcompumats.2015.10",
            "CC-BY-4.0",
            ("_oqmd_delta_e", "_oqmd_stability", "_oqmd_band_gap"),
        ),
        Provider(
            "aflow",
            "https://aflow.org/API/optimade",
            "AFLOW",
            "S. Curtarolo et al., AFLOW: An automatic framework for high-throughput materials "
            "discovery, Comput. Mater. Sci. 58, 218 (2012), "
            "doi:10.1016/j.commatsci.2012.02.005",
            "",
            ("_aflow_enthalpy_formation_atom", "_aflow_egap"),
        ),
        Provider(
            "alexandria",
            "https://alexandria.icams.rub.de/pbe",
            "Alexandria (PBE)",
            "J. Schmidt et al., Machine-Learning-Assisted Determination of the Global "
            "Zero-Temperature Phase Diagram of Materials, Adv. Mater. 35, 2210788 (2023), "
            "doi:10.1002/adma.202210788",
            "CC-BY-4.0",
            (
                "_alexandria_formation_energy_per_atom",
                "_alexandria_hull_distance",
                "_alexandria_band_gap",
            ),
        ),
        Provider(
            "alexandria_pbesol",
            "https://alexandria.icams.rub.de/pbesol",
            "Alexandria (PBEsol)",
            "J. Schmidt et al., Adv. Mater. 35, 2210788 (2023), doi:10.1002/adma.202210788",
            "CC-BY-4.0",
            ("_alexandria_formation_energy_per_atom", "_alexandria_hull_distance"),
        ),
        Provider(
            "cod",
            "https://www.crystallography.net/cod/optimade",
            "Crystallography Open Database",
            "S. Grazulis et al., Crystallography Open Database (COD): an open-access collection "
            "of crystal structures and platform for world-wide collaboration, Nucleic Acids "
            "Res. 40, D420 (2012), doi:10.1093/nar/gkr900",
            "CC0-1.0",
        ),
        Provider(
            "tcod",
            "https://www.crystallography.net/tcod/optimade",
            "Theoretical Crystallography Open Database",
            "A. Merkys et al., A posteriori metadata from automated provenance tracking: "
            "integration of AiiDA and TCOD, J. Cheminform. 9, 56 (2017), "
            "doi:10.1186/s13321-017-0242-y",
            "CC0-1.0",
        ),
        Provider(
            "jarvis",
            "https://jarvis.nist.gov/optimade/jarvisdft",
            "JARVIS-DFT",
            "K. Choudhary et al., The joint automated repository for various integrated "
            "simulations (JARVIS) for data-driven materials design, npj Comput. Mater. 6, 173 "
            "(2020), doi:10.1038/s41524-020-00440-1",
            "",
            ("_jarvis_formation_energy_peratom", "_jarvis_optb88vdw_bandgap", "_jarvis_ehull"),
        ),
        Provider(
            "nomad",
            "https://nomad-lab.eu/prod/v1/optimade",
            "NOMAD",
            "C. Draxl, M. Scheffler, The NOMAD laboratory: from data sharing to artificial "
            "intelligence, J. Phys. Mater. 2, 036001 (2019), doi:10.1088/2515-7639/ab13bb",
            "CC-BY-4.0",
        ),
        Provider(
            "cmr",
            "https://cmr-optimade.fysik.dtu.dk",
            "Computational Materials Repository (CMR)",
            "D. D. Landis et al., The Computational Materials Repository, Comput. Sci. Eng. "
            "14, 51 (2012), doi:10.1109/MCSE.2012.16",
        ),
        Provider(
            "twodmatpedia",
            "http://optimade.2dmatpedia.org",
            "2DMatpedia",
            "J. Zhou et al., 2DMatPedia, an open computational database of two-dimensional "
            "materials from top-down and bottom-up approaches, Sci. Data 6, 86 (2019), "
            "doi:10.1038/s41597-019-0097-3",
        ),
        Provider("mpdd", "http://mpddoptimade.phaseslab.org", "Material-Property-Descriptor DB"),
        Provider("mpds", "https://api.mpds.io", "Materials Platform for Data Science (MPDS)"),
        Provider(
            "mpod", "http://mpod_optimade.cimav.edu.mx", "Material Properties Open Database"
        ),
        Provider("matterverse", "https://optimade.matterverse.ai", "Matterverse"),
    ]
}

ALIASES: dict[str, str] = {"nmd": "nomad", "materialsproject": "mp", "2dmatpedia": "twodmatpedia"}


@dataclass(frozen=True)
class FieldSpec:
    """One clean column taken from a provider field.

    Attributes:
        column: Clean column name.
        units: Units of the values (empty when unitless or unknown).
        path: Keys into a nested value (``_mp_stability`` is a dict of dicts).
    """

    column: str
    units: str = ""
    path: tuple[str, ...] = field(default=())


_EV_ATOM = "eV/atom"

# Provider fields with known meaning: clean names and units from the providers' /info
# descriptions. Fields not listed here keep their name without the ``_<prefix>_`` part, with
# the units the server's /info/structures declares, if any.
FIELD_MAP: dict[str, tuple[FieldSpec, ...]] = {
    "_mp_stability": (
        FieldSpec("formation_energy", _EV_ATOM, ("gga_gga+u", "formation_energy_per_atom")),
        FieldSpec("e_above_hull", _EV_ATOM, ("gga_gga+u", "energy_above_hull")),
        FieldSpec(
            "formation_energy_r2scan", _EV_ATOM, ("gga_gga+u_r2scan", "formation_energy_per_atom")
        ),
        FieldSpec("e_above_hull_r2scan", _EV_ATOM, ("gga_gga+u_r2scan", "energy_above_hull")),
    ),
    "_mp_band_gap": (FieldSpec("band_gap", "eV"),),
    "_oqmd_delta_e": (FieldSpec("formation_energy", _EV_ATOM),),
    "_oqmd_stability": (FieldSpec("e_above_hull", _EV_ATOM),),
    "_oqmd_band_gap": (FieldSpec("band_gap", "eV"),),
    "_oqmd_volume": (FieldSpec("volume_per_atom", "Å^3/atom"),),
    "_oqmd_entry_id": (FieldSpec("oqmd_entry_id"),),
    "_oqmd_prototype": (FieldSpec("prototype"),),
    "_oqmd_spacegroup": (FieldSpec("spacegroup"),),
    "_aflow_enthalpy_formation_atom": (FieldSpec("formation_energy", _EV_ATOM),),
    "_aflow_energy_atom": (FieldSpec("energy_per_atom", _EV_ATOM),),
    "_aflow_egap": (FieldSpec("band_gap", "eV"),),
    "_aflow_ael_bulk_modulus_vrh": (FieldSpec("bulk_modulus", "GPa"),),
    "_aflow_ael_shear_modulus_vrh": (FieldSpec("shear_modulus", "GPa"),),
    "_aflow_agl_thermal_conductivity_300k": (FieldSpec("thermal_conductivity_300K", "W/(m K)"),),
    "_aflow_density": (FieldSpec("density", "g/cm^3"),),
    "_aflow_auid": (FieldSpec("aflow_auid"),),
    "_alexandria_formation_energy_per_atom": (FieldSpec("formation_energy", _EV_ATOM),),
    "_alexandria_hull_distance": (FieldSpec("e_above_hull", _EV_ATOM),),
    "_alexandria_e_above_hull": (FieldSpec("e_above_hull", _EV_ATOM),),
    "_alexandria_band_gap": (FieldSpec("band_gap", "eV"),),
    "_alexandria_energy_total": (FieldSpec("energy", "eV"),),
    "_jarvis_formation_energy_peratom": (FieldSpec("formation_energy", _EV_ATOM),),
    "_jarvis_ehull": (FieldSpec("e_above_hull", _EV_ATOM),),
    "_jarvis_optb88vdw_bandgap": (FieldSpec("band_gap", "eV"),),
}

# Standard OPTIMADE fields copied into the frame (besides the composition and the id).
STANDARD_COLUMNS: dict[str, tuple[str, str]] = {
    "nelements": ("nelements", ""),
    "nsites": ("nsites", ""),
    "chemical_formula_descriptive": ("formula_descriptive", ""),
    "space_group_symbol_hermann_mauguin": ("space_group", ""),
    "space_group_it_number": ("space_group_number", ""),
    "last_modified": ("last_modified", ""),
}

STRUCTURE_FIELDS = (
    "lattice_vectors",
    "cartesian_site_positions",
    "species_at_sites",
    "species",
    "dimension_types",
    "nperiodic_dimensions",
)
