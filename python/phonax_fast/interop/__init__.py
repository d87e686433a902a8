"""Files and other programs: structures in (ase.io, bundled examples), phonopy objects and files
both ways (Born charges and the non-analytic correction included), phonopy's finite displacements
as a reference. Built on the harmonic data types only."""

from .files import write_band_yaml, write_force_constants, write_phonopy_params, write_total_dos
from .finite_displacements import phonopy_finite_displacements
from .nac import born_lines, nac_from_phonopy, read_born, with_nac, write_born
from .phonopy_export import supercell_dimensions, to_phonopy
from .phonopy_import import force_constants_from_phonopy
from .structures import EXAMPLES, read_structure

__all__ = [
    "EXAMPLES",
    "born_lines",
    "force_constants_from_phonopy",
    "nac_from_phonopy",
    "phonopy_finite_displacements",
    "read_born",
    "read_structure",
    "supercell_dimensions",
    "to_phonopy",
    "with_nac",
    "write_born",
    "write_band_yaml",
    "write_force_constants",
    "write_phonopy_params",
    "write_total_dos",
]
