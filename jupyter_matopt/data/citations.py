"""Citation text for every dataset the loaders know (from ``shared/data/SOURCES.md``)."""

from __future__ import annotations

__all__ = ["CITATIONS"]

_DUNN = (
    "A. Dunn, Q. Wang, A. Ganose, D. Dopp, A. Jain, Benchmarking materials property "
    "prediction methods: the Matbench test set and Automatminer reference algorithm, "
    "npj Comput. Mater. 6, 138 (2020), doi:10.1038/s41524-020-00406-3"
)
_ZHUO = (
    "Y. Zhuo, A. Mansouri Tehrani, J. Brgoch, Predicting the band gaps of inorganic solids "
    "by machine learning, J. Phys. Chem. Lett. 9, 1668 (2018), doi:10.1021/acs.jpclett.8b00124"
)
_MATMINER = (
    "L. Ward et al., Matminer: An open source toolkit for materials data mining, "
    "Comput. Mater. Sci. 152, 60-69 (2018), doi:10.1016/j.commatsci.2018.05.018"
)
_PYMATGEN = (
    "S. P. Ong et al., Python Materials Genomics (pymatgen), Comput. Mater. Sci. 68, "
    "314-319 (2013), doi:10.1016/j.commatsci.2012.10.028"
)
_LIANG = (
    "Q. Liang, A. E. Gongora, Z. Ren et al., Benchmarking the performance of Bayesian "
    "optimization across multiple experimental materials science domains, "
    "npj Comput. Mater. 7, 188 (2021), doi:10.1038/s41524-021-00656-9"
)

CITATIONS: dict[str, str] = {
    "ricci_transport": (
        "F. Ricci, W. Chen, U. Aydemir, G. J. Snyder, G.-M. Rignanese, A. Jain, G. Hautier, "
        "An ab initio electronic transport database for inorganic materials, Sci. Data 4, "
        "170085 (2017), doi:10.1038/sdata.2017.85; data file distributed with matminer: "
        + _MATMINER
    ),
    "expt_formation_enthalpy": (
        "Experimental formation enthalpies compiled for the Materials Project MP2020 energy "
        "corrections: A. Wang, R. Kingsbury, M. McDermott, M. Horton, A. Jain, S. P. Ong, "
        "S. Dwaraknath, K. A. Persson, A framework for quantifying uncertainty in DFT energy "
        "corrections, Sci. Rep. 11, 15496 (2021), doi:10.1038/s41598-021-94550-5; data file "
        "distributed with pymatgen: " + _PYMATGEN
    ),
    "matbench_steels": (
        "Citrine Informatics dataset 153092 (citrination.com/datasets/153092); benchmark: " + _DUNN
    ),
    "matbench_expt_gap": _ZHUO + "; benchmark: " + _DUNN,
    "matbench_expt_is_metal": _ZHUO + "; benchmark: " + _DUNN,
    "matbench_glass": (
        "Y. Kawazoe, J.-Z. Yu, A.-P. Tsai, T. Masumoto (eds.), Nonequilibrium Phase Diagrams "
        "of Ternary Amorphous Alloys, Landolt-Boernstein III/37A (Springer, 1997); "
        "benchmark: " + _DUNN
    ),
    "thermoelectric_sysTEm": (
        "L. Z. Tang, L. Purdy, T. Mohanty, L. W. T. Ng, T. D. Sparks, Systematically Verified "
        "Experimental Thermoelectric Dataset For Data-driven Approaches, Integr. Mater. Manuf. "
        "Innov. (2026), doi:10.1007/s40192-026-00446-5; merged sources: M. W. Gaultois et al., "
        "Chem. Mater. (2013), doi:10.1021/cm400893e (updated MRL set doi:10.5281/zenodo.15365344) "
        "and G. S. Na, H. Chang, npj Comput. Mater. 8, 214 (2022), "
        "doi:10.1038/s41524-022-00897-2 (ESTM)"
    ),
    "mpea": (
        "C. K. H. Borg et al., Expanded dataset of mechanical properties and observed phases "
        "of multi-principal element alloys, Sci. Data 7, 430 (2020), "
        "doi:10.1038/s41597-020-00768-9"
    ),
    # Pools: the PV-Lab README asks for both the benchmark paper and each dataset's paper.
    "crossed_barrel": (
        "A. E. Gongora et al., Sci. Adv. 6, eaaz1708 (2020), doi:10.1126/sciadv.aaz1708; "
        "benchmark: " + _LIANG
    ),
    "agnp": (
        "F. Mekki-Berrada et al., npj Comput. Mater. 7 (2021), doi:10.1038/s41524-021-00520-w; "
        "benchmark: " + _LIANG
    ),
    "autoam": (
        "J. R. Deneault et al., MRS Bull. (2021), doi:10.1557/s43577-021-00051-1; "
        "benchmark: " + _LIANG
    ),
    "p3ht": (
        "D. Bash et al., Adv. Funct. Mater. 2021, 2102606, doi:10.1002/adfm.202102606; "
        "benchmark: " + _LIANG
    ),
    "perovskite": (
        "S. Sun et al., Matter 4, 1305-1322 (2021), "
        "https://www.sciencedirect.com/science/article/pii/S2590238521000084; "
        "benchmark: " + _LIANG
    ),
    "opv": (
        "S. Langner, F. Haese, J. D. Perea et al., Beyond Ternary OPV: High-Throughput "
        "Experimentation and Self-Driving Laboratories Optimize Multicomponent Systems, "
        "Adv. Mater. (2020) 1907801, doi:10.1002/adma.201907801"
    ),
}
